import Foundation
import TensorCore

/// Writes a GGUF (version 3) file: metadata in the order given, tensor descriptions,
/// and tensor data aligned as the specification says (each tensor's offset a
/// multiple of the alignment, zero padding between and after them) — the layout
/// of the `gguf` Python package's `GGUFWriter`.
///
/// Tensor data is streamed: each tensor is produced by its closure only when its
/// turn comes and is released after it is written, so a file larger than memory can
/// be written from a memory-mapped source. The file is written to a temporary name
/// and renamed when complete (``AtomicFileWriter``).
///
/// ```swift
/// var writer = GGUFWriter()
/// writer.set("general.architecture", .string("llama"))
/// writer.addTensor(name: "token_embd.weight", shape: [32000, 4096], type: .q8_0) { try makeEmbedding() }
/// try writer.write(to: url)
/// ```
public struct GGUFWriter {
    /// A tensor to write: its description, and a closure that produces its data.
    public struct TensorEntry {
        public let name: String
        /// Row-major shape (last dimension = row), as `Tensor.shape`.
        public let shape: [Int]
        public let type: ElementType
        public let produce: () throws -> Tensor

        /// The number of data bytes.
        public var byteCount: Int { (try? Tensor.byteCount(shape: shape, elementType: type)) ?? 0 }
    }

    /// Progress of ``write(to:overwrite:progress:)``, reported after each tensor.
    public struct Progress: Sendable {
        /// The tensor just written.
        public let tensorName: String
        /// How many tensors are written, of how many.
        public let tensorsWritten: Int
        public let tensorCount: Int
        /// Data bytes written so far, of how many.
        public let bytesWritten: Int
        public let totalBytes: Int
    }

    /// The metadata, in the order it will be written.
    public private(set) var metadata: [(key: String, value: GGUFValue)] = []
    /// The tensors, in the order they will be written.
    public private(set) var tensors: [TensorEntry] = []
    /// The data alignment. A value other than 32 is also written as `general.alignment`.
    public var alignment = GGUFFile.defaultAlignment

    public init() {}

    /// Sets `key` to `value`, replacing an earlier value in place.
    public mutating func set(_ key: String, _ value: GGUFValue) {
        if let index = metadata.firstIndex(where: { $0.key == key }) {
            metadata[index].value = value
        } else {
            metadata.append((key, value))
        }
    }

    /// Removes `key`.
    public mutating func remove(_ key: String) {
        metadata.removeAll { $0.key == key }
    }

    /// Adds a tensor whose data `produce` returns when it is written. The tensor it
    /// returns must have exactly this shape and type.
    public mutating func addTensor(name: String, shape: [Int], type: ElementType, produce: @escaping () throws -> Tensor) {
        tensors.append(TensorEntry(name: name, shape: shape, type: type, produce: produce))
    }

    /// Adds a tensor that already exists.
    public mutating func addTensor(name: String, _ tensor: Tensor) {
        addTensor(name: name, shape: Array(tensor.shape), type: tensor.elementType) { tensor }
    }

    /// Writes the file. Throws (leaving no file at `url`) when a tensor's data does not
    /// match its description, when `url` exists and `overwrite` is false, or when
    /// writing fails.
    public func write(to url: URL, overwrite: Bool = false, progress: ((Progress) -> Void)? = nil) throws {
        try validate(file: url.path)
        let output = try AtomicFileWriter(destination: url, overwrite: overwrite)
        var entries = metadata
        if alignment != GGUFFile.defaultAlignment, !entries.contains(where: { $0.key == "general.alignment" }) {
            entries.append(("general.alignment", .uint32(UInt32(alignment))))
        }
        try output.write(GGUFFile.magic)
        try output.write(UInt32(3))
        try output.write(UInt64(tensors.count))
        try output.write(UInt64(entries.count))
        for (key, value) in entries {
            try Self.writeString(key, to: output)
            try output.write(value.typeID.rawValue)
            try Self.writeValue(value, to: output)
        }
        var offset = 0
        for tensor in tensors {
            try Self.writeString(tensor.name, to: output)
            try output.write(UInt32(tensor.shape.count))
            for dimension in tensor.shape.reversed() { try output.write(UInt64(dimension)) }
            try output.write(GGMLType(tensor.type).id)
            try output.write(UInt64(offset))
            offset += Self.padded(tensor.byteCount, to: alignment)
        }
        try output.pad(toMultipleOf: alignment)
        let totalBytes = tensors.reduce(0) { $0 + $1.byteCount }
        var written = 0
        for (index, entry) in tensors.enumerated() {
            let tensor = try entry.produce()
            guard tensor.shape.elementsEqual(entry.shape), tensor.elementType == entry.type else {
                throw ModelFormatError(
                    .inconsistent, file: url.path, field: "tensor '\(entry.name)'",
                    problem: "was described as \(entry.shape) \(entry.type) but produced \(tensor.shape) \(tensor.elementType)")
            }
            try output.write(UnsafeRawBufferPointer(start: tensor.rawPointer, count: tensor.byteCount))
            // A tensor copied from a mapped file leaves resident memory once written.
            tensor.releaseResidentPages()
            try output.pad(toMultipleOf: alignment)
            written += tensor.byteCount
            progress?(Progress(
                tensorName: entry.name, tensorsWritten: index + 1, tensorCount: tensors.count, bytesWritten: written,
                totalBytes: totalBytes))
        }
        try output.commit()
    }

    private func validate(file: String) throws {
        guard alignment > 0, alignment & (alignment - 1) == 0 else {
            throw ModelFormatError(.invalidValue, file: file, field: "alignment", problem: "\(alignment) is not a power of two")
        }
        var names = Set<String>()
        for tensor in tensors {
            guard names.insert(tensor.name).inserted else {
                throw ModelFormatError(.inconsistent, file: file, field: "tensor '\(tensor.name)'", problem: "is added twice")
            }
            guard (1...GGUFFile.maximumDimensionCount).contains(tensor.shape.count) else {
                throw ModelFormatError(
                    .invalidValue, file: file, field: "tensor '\(tensor.name)'",
                    problem: "has \(tensor.shape.count) dimensions; GGUF allows 1 to \(GGUFFile.maximumDimensionCount)")
            }
            do {
                _ = try Tensor.byteCount(shape: tensor.shape, elementType: tensor.type)
            } catch {
                throw ModelFormatError(.invalidValue, file: file, field: "tensor '\(tensor.name)'", problem: "\(error)")
            }
        }
        for (key, value) in metadata {
            if case let .array(array) = value, array.count == 0 {
                throw ModelFormatError(
                    .invalidValue, file: file, field: "metadata '\(key)'", problem: "is an empty array, which GGUF readers reject")
            }
        }
    }

    static func padded(_ count: Int, to alignment: Int) -> Int {
        (count + alignment - 1) / alignment * alignment
    }

    static func writeString(_ string: String, to output: AtomicFileWriter) throws {
        let bytes = Array(string.utf8)
        try output.write(UInt64(bytes.count))
        try output.write(bytes)
    }

    static func writeValue(_ value: GGUFValue, to output: AtomicFileWriter) throws {
        switch value {
        case let .uint8(v): try output.write(v)
        case let .int8(v): try output.write(v)
        case let .uint16(v): try output.write(v)
        case let .int16(v): try output.write(v)
        case let .uint32(v): try output.write(v)
        case let .int32(v): try output.write(v)
        case let .uint64(v): try output.write(v)
        case let .int64(v): try output.write(v)
        case let .float32(v): try output.write(v.bitPattern)
        case let .float64(v): try output.write(v.bitPattern)
        case let .bool(v): try output.write(UInt8(v ? 1 : 0))
        case let .string(v): try writeString(v, to: output)
        case let .array(v): try writeArray(v, to: output)
        }
    }

    static func writeArray(_ array: GGUFArray, to output: AtomicFileWriter) throws {
        try output.write(array.elementType.rawValue)
        try output.write(UInt64(array.count))
        switch array {
        case let .uint8(v): try output.write(v)
        case let .int8(v): for x in v { try output.write(x) }
        case let .uint16(v): for x in v { try output.write(x) }
        case let .int16(v): for x in v { try output.write(x) }
        case let .uint32(v): for x in v { try output.write(x) }
        case let .int32(v): for x in v { try output.write(x) }
        case let .uint64(v): for x in v { try output.write(x) }
        case let .int64(v): for x in v { try output.write(x) }
        case let .float32(v): for x in v { try output.write(x.bitPattern) }
        case let .float64(v): for x in v { try output.write(x.bitPattern) }
        case let .bool(v): for x in v { try output.write(UInt8(x ? 1 : 0)) }
        case let .string(v): for x in v { try writeString(x, to: output) }
        case let .array(v): for x in v { try writeArray(x, to: output) }
        }
    }
}
