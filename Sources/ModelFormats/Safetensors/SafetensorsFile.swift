import Foundation
import TensorCore

/// A `.safetensors` file, memory-mapped: an 8-byte little-endian header length, a
/// JSON header describing each tensor (`dtype`, `shape`, `data_offsets` relative to
/// the end of the header) and an optional `__metadata__` object of strings, then the
/// data.
///
/// The header is checked as the reference implementation checks it: valid JSON of
/// at most 100 MB, every tensor's byte range inside the data, ranges that neither
/// overlap nor leave gaps, and sizes that match shape × dtype.
public final class SafetensorsFile: Sendable {
    /// One tensor's entry in the header.
    public struct TensorInfo: Sendable, Equatable {
        public let name: String
        /// The dtype as the file names it (`F32`, `BF16`, `I64`, …).
        public let dtype: String
        /// Row-major shape, as PyTorch reports it.
        public let shape: [Int]
        /// The absolute byte range of the data in the file.
        public let byteRange: Range<Int>

        /// The element type for the dtypes this library uses (`F32`, `F16`, `BF16`).
        public var elementType: ElementType? {
            switch dtype {
            case "F32": .f32
            case "F16": .f16
            case "BF16": .bf16
            default: nil
            }
        }
    }

    /// The largest header accepted, as in the reference implementation.
    public static let maximumHeaderLength = 100_000_000

    public let bytes: FileBytes
    /// The `__metadata__` object.
    public let metadata: [String: String]
    /// The tensors, in the order of their data.
    public let tensorInfos: [TensorInfo]
    private let index: [String: Int]

    public var path: String { bytes.path }

    public convenience init(contentsOf url: URL) throws {
        try self.init(bytes: FileBytes(mapping: url))
    }

    public init(bytes: FileBytes) throws {
        self.bytes = bytes
        var reader = ByteReader(bytes)
        let headerLength = try reader.read(UInt64.self, "header length")
        guard headerLength <= UInt64(Self.maximumHeaderLength) else {
            throw reader.error(.invalidValue, "header length", "\(headerLength) exceeds the limit of \(Self.maximumHeaderLength) bytes")
        }
        let headerBytes = try reader.readBytes(Int(headerLength), "header")
        let dataStart = reader.offset
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(headerBytes), options: [])
        } catch {
            throw reader.error(.invalidValue, "header", "is not valid JSON (\(error.localizedDescription))")
        }
        guard let header = json as? [String: Any] else {
            throw reader.error(.invalidValue, "header", "is not a JSON object")
        }
        var metadata: [String: String] = [:]
        var infos: [TensorInfo] = []
        for (name, value) in header {
            if name == "__metadata__" {
                guard let object = value as? [String: Any] else {
                    throw reader.error(.invalidValue, "header.__metadata__", "is not an object")
                }
                for (key, entry) in object {
                    guard let string = entry as? String else {
                        throw reader.error(.invalidValue, "header.__metadata__.\(key)", "is not a string")
                    }
                    metadata[key] = string
                }
                continue
            }
            infos.append(try Self.tensorInfo(name: name, value: value, dataStart: dataStart, reader: reader))
        }
        infos.sort { ($0.byteRange.lowerBound, $0.byteRange.upperBound, $0.name) < ($1.byteRange.lowerBound, $1.byteRange.upperBound, $1.name) }
        var expectedStart = dataStart
        for info in infos {
            guard info.byteRange.lowerBound == expectedStart else {
                let problem = info.byteRange.lowerBound < expectedStart
                    ? "its data overlaps the tensor before it"
                    : "leaves a gap of \(info.byteRange.lowerBound - expectedStart) bytes before its data"
                throw reader.error(.inconsistent, "tensor '\(info.name)'.data_offsets", problem)
            }
            expectedStart = info.byteRange.upperBound
        }
        guard expectedStart == bytes.count else {
            throw reader.error(
                .inconsistent, "data",
                expectedStart < bytes.count
                    ? "\(bytes.count - expectedStart) bytes after the last tensor belong to no tensor"
                    : "the tensors need \(expectedStart) bytes but the file has \(bytes.count)")
        }
        self.metadata = metadata
        tensorInfos = infos
        index = Dictionary(uniqueKeysWithValues: infos.enumerated().map { ($1.name, $0) })
    }

    /// A number written as an integer in the JSON header (as the reference reader,
    /// which parses sizes and offsets as unsigned integers, requires): `5`, not `5.0`,
    /// `1e-400` (which would read as 0) or `true`; exact beyond 2^53.
    static func jsonInteger(_ value: Any) -> Int? {
        guard let number = value as? NSNumber else { return nil }
        switch String(cString: number.objCType) {
        case "s", "i", "l", "q": return Int(exactly: number.int64Value)
        case "S", "I", "L", "Q": return Int(exactly: number.uint64Value)
        default: return nil  // "d" and "f" for fractions and exponents, "c" for booleans
        }
    }

    private static func tensorInfo(name: String, value: Any, dataStart: Int, reader: ByteReader) throws -> TensorInfo {
        let field = "tensor '\(name)'"
        guard let entry = value as? [String: Any] else { throw reader.error(.invalidValue, field, "is not an object") }
        guard let dtype = entry["dtype"] as? String else {
            throw reader.error(.invalidValue, "\(field).dtype", "is missing or not a string")
        }
        guard let shapeValues = entry["shape"] as? [Any], shapeValues.count <= 16 else {
            throw reader.error(.invalidValue, "\(field).shape", "is missing or not a list of at most 16 sizes")
        }
        var shape: [Int] = []
        var elements = 1
        for dimension in shapeValues {
            guard let size = jsonInteger(dimension), size >= 0 else {
                throw reader.error(.invalidValue, "\(field).shape", "\(dimension) is not a size")
            }
            let (product, overflow) = elements.multipliedReportingOverflow(by: size)
            guard !overflow, product <= Tensor.maximumByteCount else {
                throw reader.error(.invalidValue, "\(field).shape", "the element count overflows")
            }
            elements = product
            shape.append(size)
        }
        guard let offsets = entry["data_offsets"] as? [Any], offsets.count == 2,
              let begin = jsonInteger(offsets[0]), let end = jsonInteger(offsets[1]),
              begin >= 0, end >= begin, end <= Tensor.maximumByteCount
        else {
            throw reader.error(.invalidValue, "\(field).data_offsets", "must be two increasing byte offsets")
        }
        if let size = dtypeSize(dtype) {
            guard end - begin == elements * size else {
                throw reader.error(
                    .inconsistent, "\(field).data_offsets",
                    "cover \(end - begin) bytes, but shape \(shape) of \(dtype) needs \(elements * size)")
            }
        }
        return TensorInfo(name: name, dtype: dtype, shape: shape, byteRange: (dataStart + begin)..<(dataStart + end))
    }

    /// Bytes per element of the safetensors dtypes.
    static func dtypeSize(_ dtype: String) -> Int? {
        switch dtype {
        case "F64", "I64", "U64": 8
        case "F32", "I32", "U32": 4
        case "F16", "BF16", "I16", "U16": 2
        case "I8", "U8", "BOOL", "F8_E4M3", "F8_E5M2": 1
        default: nil
        }
    }

    // MARK: Tensors

    /// The header entry of `name`, if present.
    public func tensorInfo(named name: String) -> TensorInfo? {
        index[name].map { tensorInfos[$0] }
    }

    /// The tensor `name`. It views the mapped file without copying, unless its data is
    /// not aligned to its element size (the format does not promise alignment), in
    /// which case it is copied once. Throws for a missing tensor or a dtype other than
    /// F32, F16 and BF16.
    public func tensor(named name: String) throws -> Tensor {
        guard let info = tensorInfo(named: name) else {
            throw ModelFormatError(.invalidValue, file: path, field: "tensor '\(name)'", problem: "is not in the file")
        }
        guard let elementType = info.elementType else {
            throw ModelFormatError(
                .unsupported, file: path, field: "tensor '\(name)'.dtype",
                problem: "\(info.dtype) is not supported (F32, F16 and BF16 are)")
        }
        let shape = info.shape.isEmpty ? [1] : info.shape
        let start = bytes.baseAddress + info.byteRange.lowerBound
        if Int(bitPattern: start) % (elementType == .f32 ? 4 : 2) == 0 {
            return try Tensor(shape: shape, elementType: elementType, viewing: start, byteCount: info.byteRange.count, owner: bytes)
        }
        let copy = try Tensor(zeros: shape, elementType: elementType)
        copy.mutableRawPointer.copyMemory(from: start, byteCount: info.byteRange.count)
        return copy
    }
}
