import Foundation
import TensorCore

/// Writes a `.safetensors` file with F32, F16 or BF16 tensors: the header lists the
/// tensors in the order added, padded with spaces to a multiple of 8 bytes (as the
/// reference implementation pads it), then the data. Written to a temporary name and
/// renamed when complete.
public struct SafetensorsWriter {
    private var entries: [(name: String, tensor: Tensor)] = []
    /// The `__metadata__` strings.
    public var metadata: [String: String] = [:]

    public init() {}

    /// Adds a tensor; its element type must be `f32`, `f16` or `bf16`.
    public mutating func add(name: String, _ tensor: Tensor) {
        entries.append((name, tensor))
    }

    public func write(to url: URL, overwrite: Bool = false) throws {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        var names = Set<String>()
        for (name, tensor) in entries {
            guard names.insert(name).inserted, name != "__metadata__" else {
                throw ModelFormatError(.inconsistent, file: url.path, field: "tensor '\(name)'", problem: "is added twice or reserved")
            }
            let dtype: String
            switch tensor.elementType {
            case .f32: dtype = "F32"
            case .f16: dtype = "F16"
            case .bf16: dtype = "BF16"
            default:
                throw ModelFormatError(
                    .unsupported, file: url.path, field: "tensor '\(name)'",
                    problem: "safetensors cannot hold \(tensor.elementType) data")
            }
            header[name] = ["dtype": dtype, "shape": Array(tensor.shape), "data_offsets": [offset, offset + tensor.byteCount]] as [String: Any]
            offset += tensor.byteCount
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while (8 + json.count) % 8 != 0 { json.append(0x20) }
        let output = try AtomicFileWriter(destination: url, overwrite: overwrite)
        try output.write(UInt64(json.count))
        try output.write(Array(json))
        for (_, tensor) in entries {
            try output.write(UnsafeRawBufferPointer(start: tensor.rawPointer, count: tensor.byteCount))
        }
        try output.commit()
    }
}
