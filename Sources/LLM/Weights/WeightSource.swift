import ModelFormats
import TensorCore

/// Where a model's weights come from: a GGUF file, a Hugging Face safetensors
/// checkpoint, or a llama2.c checkpoint. Tensors are views of the memory-mapped files.
public protocol WeightSource: Sendable {
    /// The file or folder, for messages.
    var path: String { get }
    /// Whether the source has a tensor of this name.
    func contains(_ name: String) -> Bool
    /// The tensor `name` in row-major shape.
    func tensor(named name: String) throws -> Tensor
}

extension GGUFFile: WeightSource {
    public func contains(_ name: String) -> Bool { tensorInfo(named: name) != nil }
}

extension SafetensorsCheckpoint: WeightSource {
    public var path: String { directory.path }
    public func contains(_ name: String) -> Bool { tensorInfo(named: name) != nil }
}

extension Llama2cCheckpoint: WeightSource {
    public func contains(_ name: String) -> Bool { tensors[name] != nil }
}

/// Loads the weights of a model: looks each one up, checks its shape, and lets the
/// backend prepare it.
struct WeightLoader {
    let source: any WeightSource
    let backend: any Backend

    /// A matrix or vector that must have `shape`.
    func load(_ name: String, shape: TensorShape) throws -> Tensor {
        guard source.contains(name) else {
            throw ModelError.invalidWeight(name: name, file: source.path, problem: "is missing")
        }
        let tensor = try source.tensor(named: name)
        guard tensor.shape == shape else {
            throw ModelError.invalidWeight(name: name, file: source.path, problem: "has shape \(tensor.shape), expected \(shape)")
        }
        return try backend.prepare(weight: tensor)
    }

    /// A norm weight, converted to `f32` once (norms are small and read every token).
    func loadNorm(_ name: String, length: Int) throws -> Tensor {
        guard source.contains(name) else {
            throw ModelError.invalidWeight(name: name, file: source.path, problem: "is missing")
        }
        let tensor = try source.tensor(named: name)
        guard tensor.elementCount == length else {
            throw ModelError.invalidWeight(name: name, file: source.path, problem: "has shape \(tensor.shape), expected [\(length)]")
        }
        return try backend.prepare(weight: Tensor(converting: tensor.reshaped([length]), to: .f32))
    }
}
