/// A bounds-checked little-endian cursor over ``FileBytes``. Every read checks that
/// the bytes exist and throws a ``ModelFormatError`` naming the field otherwise, so
/// a truncated or lying file can never make a read go past the end.
struct ByteReader {
    let bytes: FileBytes
    private(set) var offset: Int

    init(_ bytes: FileBytes, offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    var remaining: Int { bytes.count - offset }
    var path: String { bytes.path }

    func error(_ kind: ModelFormatError.Kind, _ field: String, _ problem: String) -> ModelFormatError {
        ModelFormatError(kind, file: bytes.path, field: field, problem: problem)
    }

    /// Checks that `count` bytes remain for `field`.
    func require(_ count: Int, for field: @autoclosure () -> String) throws {
        guard count >= 0, count <= remaining else {
            throw error(.truncated, field(), "needs \(count) bytes at offset \(offset), but the file has \(max(0, remaining)) left")
        }
    }

    mutating func read<T: FixedWidthInteger>(_ type: T.Type, _ field: @autoclosure () -> String) throws -> T {
        try require(MemoryLayout<T>.size, for: field())
        let value = T(littleEndian: bytes.baseAddress.loadUnaligned(fromByteOffset: offset, as: T.self))
        offset += MemoryLayout<T>.size
        return value
    }

    mutating func readFloat(_ field: @autoclosure () -> String) throws -> Float {
        Float(bitPattern: try read(UInt32.self, field()))
    }

    mutating func readDouble(_ field: @autoclosure () -> String) throws -> Double {
        Double(bitPattern: try read(UInt64.self, field()))
    }

    /// `count` little-endian values of a fixed-width type, read in one pass.
    mutating func readArray<T: FixedWidthInteger>(of type: T.Type, count: Int, _ field: @autoclosure () -> String) throws -> [T] {
        let raw = try readBytes(count * MemoryLayout<T>.size, field())
        return (0..<count).map { T(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self)) }
    }

    /// `count` raw bytes.
    mutating func readBytes(_ count: Int, _ field: @autoclosure () -> String) throws -> UnsafeRawBufferPointer {
        try require(count, for: field())
        let slice = bytes.slice(offset..<offset + count)
        offset += count
        return slice
    }

    /// A UTF-8 string of `length` bytes; invalid UTF-8 is an error.
    mutating func readString(length: Int, _ field: @autoclosure () -> String) throws -> String {
        let raw = try readBytes(length, field())
        guard let string = UTF8Validation.string(from: raw) else {
            throw error(.invalidValue, field(), "is not valid UTF-8")
        }
        return string
    }

    mutating func skip(_ count: Int, _ field: @autoclosure () -> String) throws {
        try require(count, for: field())
        offset += count
    }

    mutating func seek(to newOffset: Int, _ field: String) throws {
        guard newOffset >= 0, newOffset <= bytes.count else {
            throw error(.truncated, field, "offset \(newOffset) lies beyond the end of the file (\(bytes.count) bytes)")
        }
        offset = newOffset
    }
}

/// UTF-8 validation without Foundation's slower paths and without platform
/// availability limits.
enum UTF8Validation {
    /// The string the bytes spell, or `nil` when they are not valid UTF-8
    /// (overlong forms, surrogates and code points above U+10FFFF are invalid).
    static func string(from bytes: UnsafeRawBufferPointer) -> String? {
        guard isValid(bytes) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        let n = bytes.count
        while i < n {
            let b0 = bytes[i]
            if b0 < 0x80 { i += 1; continue }
            let length: Int
            let minimum: UInt32
            var scalar: UInt32
            switch b0 {
            case 0xC2...0xDF: length = 2; minimum = 0x80; scalar = UInt32(b0 & 0x1F)
            case 0xE0...0xEF: length = 3; minimum = 0x800; scalar = UInt32(b0 & 0x0F)
            case 0xF0...0xF4: length = 4; minimum = 0x10000; scalar = UInt32(b0 & 0x07)
            default: return false
            }
            guard i + length <= n else { return false }
            for j in 1..<length {
                let b = bytes[i + j]
                guard b & 0xC0 == 0x80 else { return false }
                scalar = scalar << 6 | UInt32(b & 0x3F)
            }
            guard scalar >= minimum, scalar <= 0x10FFFF, !(0xD800...0xDFFF).contains(scalar) else { return false }
            i += length
        }
        return true
    }
}
