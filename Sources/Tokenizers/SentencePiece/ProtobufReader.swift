import Foundation

/// A minimal reader of the protobuf wire format, enough for SentencePiece's
/// `ModelProto`: varints, 32-bit and 64-bit fixed fields, and length-delimited
/// fields. Every read is bounds-checked and throws a ``TokenizerError`` naming the
/// file and the byte offset.
struct ProtobufReader {
    enum WireType: UInt64 { case varint = 0, fixed64 = 1, lengthDelimited = 2, fixed32 = 5 }

    let bytes: [UInt8]
    let range: Range<Int>
    let file: String
    private(set) var position: Int

    init(bytes: [UInt8], range: Range<Int>? = nil, file: String) {
        self.bytes = bytes
        self.range = range ?? bytes.indices
        self.file = file
        position = self.range.lowerBound
    }

    var isAtEnd: Bool { position >= range.upperBound }

    func error(_ message: String) -> TokenizerError {
        TokenizerError(.invalidFile, file: file, "protobuf at byte \(position): \(message)")
    }

    mutating func readVarint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < range.upperBound else { throw error("a varint runs past the end of its message") }
            let byte = bytes[position]
            position += 1
            guard shift < 64 else { throw error("a varint is longer than 10 bytes") }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
    }

    /// The next field's number and wire type, or `nil` at the end of the message.
    mutating func nextField() throws -> (number: Int, type: WireType)? {
        guard !isAtEnd else { return nil }
        let key = try readVarint()
        guard let type = WireType(rawValue: key & 7) else { throw error("unsupported wire type \(key & 7)") }
        guard key >> 3 > 0, key >> 3 < 1 << 29 else { throw error("invalid field number \(key >> 3)") }
        return (Int(key >> 3), type)
    }

    mutating func readFixed32() throws -> UInt32 {
        guard range.upperBound - position >= 4 else { throw error("a 32-bit field runs past the end") }
        var value: UInt32 = 0
        for i in 0..<4 { value |= UInt32(bytes[position + i]) << (8 * UInt32(i)) }
        position += 4
        return value
    }

    /// The byte range of a length-delimited field.
    mutating func readLengthDelimited() throws -> Range<Int> {
        let length = try readVarint()
        guard length <= UInt64(range.upperBound - position) else {
            throw error("a field of \(length) bytes runs past the end of its message")
        }
        let start = position
        position += Int(length)
        return start..<position
    }

    mutating func readString() throws -> String {
        let field = try readLengthDelimited()
        // Not Foundation's String(bytes:encoding:), which drops a leading U+FEFF (the
        // vocabulary has a piece that is exactly that character).
        let string = String(decoding: bytes[field], as: UTF8.self)
        guard string.utf8.elementsEqual(bytes[field]) else { throw error("a string is not valid UTF-8") }
        return string
    }

    mutating func skip(_ type: WireType) throws {
        switch type {
        case .varint: _ = try readVarint()
        case .fixed64:
            guard range.upperBound - position >= 8 else { throw error("a 64-bit field runs past the end") }
            position += 8
        case .fixed32: _ = try readFixed32()
        case .lengthDelimited: _ = try readLengthDelimited()
        }
    }

    /// A reader of the embedded message in `field`.
    func message(_ field: Range<Int>) -> ProtobufReader {
        ProtobufReader(bytes: bytes, range: field, file: file)
    }
}
