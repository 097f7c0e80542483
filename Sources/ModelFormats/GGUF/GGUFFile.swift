import Foundation
import TensorCore

/// A GGUF file (versions 2 and 3), memory-mapped.
///
/// Opening a file reads only its header — metadata and tensor descriptions — and
/// checks it: every string is valid UTF-8, every count fits in the file, tensor
/// shapes do not overflow, tensor data is aligned, inside the file and does not
/// overlap. Tensors are then views of the mapping (``tensor(named:)``), so a
/// multi-gigabyte model costs no memory until its pages are read.
///
/// ```swift
/// let file = try GGUFFile(contentsOf: URL(fileURLWithPath: "model.gguf"))
/// let layers = try file.metadata.integer("llama.block_count")
/// let query = try file.tensor(named: "blk.0.attn_q.weight")   // [4096, 4096], Q4_0, no copy
/// ```
public final class GGUFFile: Sendable {
    /// The magic number at the start of every GGUF file: `GGUF` in ASCII.
    public static let magic: UInt32 = 0x4655_4747
    /// The default data alignment when `general.alignment` is absent.
    public static let defaultAlignment = 32
    /// Limits that keep a hostile header from describing absurd structures.
    public static let maximumDimensionCount = 4
    static let maximumNestingDepth = 8

    /// The file's bytes.
    public let bytes: FileBytes
    /// The format version (2 or 3).
    public let version: UInt32
    /// The metadata, in file order.
    public let metadata: GGUFMetadata
    /// The tensors, in file order.
    public let tensorInfos: [GGUFTensorInfo]
    /// The alignment of tensor data (`general.alignment`, default 32).
    public let alignment: Int
    /// Where the data section starts.
    public let dataOffset: Int
    private let tensorIndex: [String: Int]

    /// The path of the file.
    public var path: String { bytes.path }

    /// Maps and parses the file at `url`.
    public convenience init(contentsOf url: URL) throws {
        try self.init(bytes: FileBytes(mapping: url))
    }

    /// Parses a GGUF file held in `bytes`.
    public init(bytes: FileBytes) throws {
        self.bytes = bytes
        var reader = ByteReader(bytes)
        let magic = try reader.read(UInt32.self, "header.magic")
        guard magic == Self.magic else {
            throw reader.error(.invalidValue, "header.magic", String(format: "is 0x%08x, not GGUF (0x%08x)", magic, Self.magic))
        }
        version = try reader.read(UInt32.self, "header.version")
        guard version == 2 || version == 3 else {
            let problem = version == 1
                ? "is 1; GGUF version 1 (32-bit counts) is not supported, convert the file again with a current llama.cpp"
                : "is \(version); supported versions are 2 and 3"
            throw reader.error(.unsupported, "header.version", problem)
        }
        let tensorCount = try reader.read(UInt64.self, "header.tensor_count")
        let metadataCount = try reader.read(UInt64.self, "header.metadata_kv_count")
        // Each metadata entry needs at least 8 (key length) + 4 (type) + 1 bytes; each
        // tensor description at least 8 + 4 + 8 + 4 + 8.
        guard metadataCount <= UInt64(reader.remaining / 13) else {
            throw reader.error(.inconsistent, "header.metadata_kv_count", "\(metadataCount) entries cannot fit in the \(reader.remaining) bytes left")
        }
        guard tensorCount <= UInt64(reader.remaining / 32) else {
            throw reader.error(.inconsistent, "header.tensor_count", "\(tensorCount) tensors cannot fit in the \(reader.remaining) bytes left")
        }

        var entries: [(key: String, value: GGUFValue)] = []
        entries.reserveCapacity(Int(metadataCount))
        var seenKeys = Set<String>()
        for i in 0..<Int(metadataCount) {
            let key = try Self.readString(&reader, "metadata[\(i)].key")
            guard seenKeys.insert(key).inserted else {
                throw reader.error(.inconsistent, "metadata '\(key)'", "appears twice")
            }
            let rawType = try reader.read(UInt32.self, "metadata '\(key)'.type")
            guard let type = GGUFValueType(rawValue: rawType) else {
                throw reader.error(.invalidValue, "metadata '\(key)'.type", "\(rawType) is not a GGUF value type")
            }
            let value = try Self.readValue(&reader, type: type, field: "metadata '\(key)'", depth: 0)
            entries.append((key, value))
        }
        metadata = GGUFMetadata(entries: entries, file: bytes.path)

        var alignment = Self.defaultAlignment
        if let value = metadata["general.alignment"] {
            guard case let .uint32(a) = value, a > 0, a & (a - 1) == 0, a <= 1 << 20 else {
                throw reader.error(.invalidValue, "metadata 'general.alignment'", "is \(value), expected a u32 power of two")
            }
            alignment = Int(a)
        }
        self.alignment = alignment

        struct PendingTensor { let name: String; let dimensions: [Int]; let type: GGMLType; let offset: Int; let byteCount: Int }
        var pending: [PendingTensor] = []
        pending.reserveCapacity(Int(tensorCount))
        var names = Set<String>()
        for i in 0..<Int(tensorCount) {
            let name = try Self.readString(&reader, "tensor[\(i)].name")
            let field = "tensor '\(name)'"
            guard names.insert(name).inserted else { throw reader.error(.inconsistent, field, "appears twice") }
            let dimensionCount = try reader.read(UInt32.self, "\(field).n_dims")
            guard (1...UInt32(Self.maximumDimensionCount)).contains(dimensionCount) else {
                throw reader.error(.invalidValue, "\(field).n_dims", "is \(dimensionCount), expected 1 to \(Self.maximumDimensionCount)")
            }
            var dimensions: [Int] = []
            var elements = 1
            for d in 0..<Int(dimensionCount) {
                let raw = try reader.read(UInt64.self, "\(field).ne[\(d)]")
                guard raw >= 1, raw <= UInt64(Int32.max) * 64 else {
                    throw reader.error(.invalidValue, "\(field).ne[\(d)]", "is \(raw), expected a positive size")
                }
                let (product, overflow) = elements.multipliedReportingOverflow(by: Int(raw))
                guard !overflow, product <= Tensor.maximumByteCount else {
                    throw reader.error(.invalidValue, "\(field).ne", "the element count overflows")
                }
                elements = product
                dimensions.append(Int(raw))
            }
            let typeID = try reader.read(UInt32.self, "\(field).type")
            guard let type = GGMLType(id: typeID) else {
                throw reader.error(.unsupported, "\(field).type", "\(typeID) is not a GGML type this library knows")
            }
            guard dimensions[0] % type.blockLength == 0 else {
                throw reader.error(.inconsistent, "\(field).ne[0]", "\(dimensions[0]) is not a multiple of the \(type) block length \(type.blockLength)")
            }
            let relative = try reader.read(UInt64.self, "\(field).offset")
            guard relative % UInt64(alignment) == 0 else {
                throw reader.error(.invalidValue, "\(field).offset", "\(relative) is not a multiple of the alignment \(alignment)")
            }
            guard relative <= UInt64(bytes.count) else {
                throw reader.error(.inconsistent, "\(field).offset", "\(relative) lies beyond the end of the file (\(bytes.count) bytes)")
            }
            let byteCount = elements / type.blockLength * type.blockByteCount
            pending.append(PendingTensor(name: name, dimensions: dimensions, type: type, offset: Int(relative), byteCount: byteCount))
        }

        let headerEnd = reader.offset
        dataOffset = (headerEnd + alignment - 1) / alignment * alignment
        var infos: [GGUFTensorInfo] = []
        infos.reserveCapacity(pending.count)
        for tensor in pending {
            let start = dataOffset + tensor.offset
            guard start <= bytes.count, tensor.byteCount <= bytes.count - start else {
                throw ModelFormatError(
                    .truncated, file: bytes.path, field: "tensor '\(tensor.name)'",
                    problem: "its \(tensor.byteCount) bytes at offset \(start) run past the end of the file (\(bytes.count) bytes)")
            }
            infos.append(GGUFTensorInfo(
                name: tensor.name, dimensions: tensor.dimensions, type: tensor.type, relativeOffset: tensor.offset,
                offset: start, byteCount: tensor.byteCount))
        }
        let byOffset = infos.sorted { $0.offset < $1.offset }
        for (a, b) in zip(byOffset, byOffset.dropFirst()) where a.offset + a.byteCount > b.offset {
            throw ModelFormatError(
                .inconsistent, file: bytes.path, field: "tensor '\(b.name)'.offset",
                problem: "its data overlaps tensor '\(a.name)'")
        }
        tensorInfos = infos
        tensorIndex = Dictionary(uniqueKeysWithValues: infos.enumerated().map { ($1.name, $0) })
    }

    // MARK: Tensors

    /// The description of the tensor `name`, if the file has it.
    public func tensorInfo(named name: String) -> GGUFTensorInfo? {
        tensorIndex[name].map { tensorInfos[$0] }
    }

    /// The tensor `name` as a read-only view of the mapped file, in row-major shape
    /// (``GGUFTensorInfo/shape``). Throws when the file has no such tensor or its type
    /// is one this library cannot compute with.
    public func tensor(named name: String) throws -> Tensor {
        guard let info = tensorInfo(named: name) else {
            throw ModelFormatError(.invalidValue, file: path, field: "tensor '\(name)'", problem: "is not in the file")
        }
        return try tensor(info)
    }

    /// The tensor `info` describes, as a read-only view of the mapped file.
    public func tensor(_ info: GGUFTensorInfo) throws -> Tensor {
        guard let elementType = info.type.elementType else {
            throw ModelFormatError(
                .unsupported, file: path, field: "tensor '\(info.name)'.type",
                problem: "\(info.type) tensors cannot be used by this library")
        }
        return try Tensor(
            shape: info.shape, elementType: elementType, viewing: bytes.baseAddress + info.offset,
            byteCount: info.byteCount, owner: bytes)
    }

    // MARK: Parsing

    static func readString(_ reader: inout ByteReader, _ field: @autoclosure () -> String) throws -> String {
        let length = try reader.read(UInt64.self, "\(field()) length")
        guard length <= UInt64(reader.remaining) else {
            throw reader.error(.truncated, field(), "a string of \(length) bytes cannot fit in the \(reader.remaining) bytes left")
        }
        return try reader.readString(length: Int(length), field())
    }

    static func readValue(_ reader: inout ByteReader, type: GGUFValueType, field: String, depth: Int) throws -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try reader.read(UInt8.self, field))
        case .int8: return .int8(try reader.read(Int8.self, field))
        case .uint16: return .uint16(try reader.read(UInt16.self, field))
        case .int16: return .int16(try reader.read(Int16.self, field))
        case .uint32: return .uint32(try reader.read(UInt32.self, field))
        case .int32: return .int32(try reader.read(Int32.self, field))
        case .uint64: return .uint64(try reader.read(UInt64.self, field))
        case .int64: return .int64(try reader.read(Int64.self, field))
        case .float32: return .float32(try reader.readFloat(field))
        case .float64: return .float64(try reader.readDouble(field))
        case .bool: return .bool(try readBool(&reader, field))
        case .string: return .string(try readString(&reader, field))
        case .array: return .array(try readArray(&reader, field: field, depth: depth))
        }
    }

    static func readBool(_ reader: inout ByteReader, _ field: @autoclosure () -> String) throws -> Bool {
        let byte = try reader.read(UInt8.self, field())
        guard byte <= 1 else { throw reader.error(.invalidValue, field(), "a boolean must be 0 or 1, not \(byte)") }
        return byte == 1
    }

    static func readArray(_ reader: inout ByteReader, field: String, depth: Int) throws -> GGUFArray {
        guard depth < maximumNestingDepth else {
            throw reader.error(.invalidValue, field, "arrays are nested more than \(maximumNestingDepth) deep")
        }
        let rawType = try reader.read(UInt32.self, "\(field) element type")
        guard let type = GGUFValueType(rawValue: rawType) else {
            throw reader.error(.invalidValue, "\(field) element type", "\(rawType) is not a GGUF value type")
        }
        let rawCount = try reader.read(UInt64.self, "\(field) count")
        guard rawCount <= UInt64(reader.remaining / type.minimumSize) else {
            throw reader.error(.truncated, "\(field) count", "\(rawCount) elements of \(type) cannot fit in the \(reader.remaining) bytes left")
        }
        let count = Int(rawCount)
        func elements<T>(_ read: (inout ByteReader, Int) throws -> T) throws -> [T] {
            var result: [T] = []
            result.reserveCapacity(count)
            for i in 0..<count { result.append(try read(&reader, i)) }
            return result
        }
        let items = "\(field) elements"
        switch type {
        case .uint8: return .uint8(try reader.readArray(of: UInt8.self, count: count, items))
        case .int8: return .int8(try reader.readArray(of: Int8.self, count: count, items))
        case .uint16: return .uint16(try reader.readArray(of: UInt16.self, count: count, items))
        case .int16: return .int16(try reader.readArray(of: Int16.self, count: count, items))
        case .uint32: return .uint32(try reader.readArray(of: UInt32.self, count: count, items))
        case .int32: return .int32(try reader.readArray(of: Int32.self, count: count, items))
        case .uint64: return .uint64(try reader.readArray(of: UInt64.self, count: count, items))
        case .int64: return .int64(try reader.readArray(of: Int64.self, count: count, items))
        case .float32: return .float32(try reader.readArray(of: UInt32.self, count: count, items).map(Float.init(bitPattern:)))
        case .float64: return .float64(try reader.readArray(of: UInt64.self, count: count, items).map(Double.init(bitPattern:)))
        case .bool: return .bool(try elements { try readBool(&$0, "\(field)[\($1)]") })
        case .string: return .string(try elements { try readString(&$0, "\(field)[\($1)]") })
        case .array: return .array(try elements { try readArray(&$0, field: "\(field)[\($1)]", depth: depth + 1) })
        }
    }
}
