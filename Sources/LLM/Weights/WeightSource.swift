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
/// backend prepare it. Every error names the tensor and the file.
public struct WeightLoader: Sendable {
    public let source: any WeightSource
    public let backend: any Backend

    public init(source: any WeightSource, backend: any Backend) {
        self.source = source
        self.backend = backend
    }

    /// Builds `count` layers with `body`, one after another. The layer count comes from
    /// the file's metadata, so before anything is built the source must hold the last
    /// layer's `probe` tensor: a count the weights do not back (2^31 blocks in a small
    /// file) is an error naming the missing tensor, not an allocation sized by it.
    public func layers<Layer>(_ count: Int, probe: (Int) -> String, _ body: (Int) throws -> Layer) throws -> [Layer] {
        guard count > 0 else { return [] }
        let last = probe(count - 1)
        guard source.contains(last) else {
            throw ModelError.invalidWeight(
                name: last, file: source.path, problem: "is missing, but the configuration says the model has \(count) layers")
        }
        var layers: [Layer] = []
        for index in 0..<count { layers.append(try body(index)) }
        return layers
    }

    /// A matrix or vector that must have `shape`.
    public func load(_ name: String, shape: TensorShape) throws -> Tensor {
        guard source.contains(name) else {
            throw ModelError.invalidWeight(name: name, file: source.path, problem: "is missing")
        }
        let tensor = try source.tensor(named: name)
        guard tensor.shape == shape else {
            throw ModelError.invalidWeight(name: name, file: source.path, problem: "has shape \(tensor.shape), expected \(shape)")
        }
        let prepared = try backend.prepare(weight: tensor)
        (backend as? any WeightNameObserver)?.didLoad(weight: prepared, named: name)
        return prepared
    }

    /// A norm weight, converted to `f32` once (norms are small and read every token).
    public func loadNorm(_ name: String, length: Int) throws -> Tensor {
        try loadVector(name, length: length)
    }

    /// A vector of `length` values (a norm weight, a bias, RoPE frequency factors),
    /// converted to `f32` once.
    public func loadVector(_ name: String, length: Int) throws -> Tensor {
        guard source.contains(name) else {
            throw ModelError.invalidWeight(name: name, file: source.path, problem: "is missing")
        }
        let tensor = try source.tensor(named: name)
        guard tensor.elementCount == length else {
            throw ModelError.invalidWeight(name: name, file: source.path, problem: "has shape \(tensor.shape), expected [\(length)]")
        }
        return try backend.prepare(weight: Tensor(converting: tensor.reshaped([length]), to: .f32))
    }

    /// An RMSNorm over the residual stream of configuration `c`.
    public func loadNorm(_ name: String, configuration c: ModelConfiguration) throws -> RMSNorm {
        RMSNorm(weight: try loadNorm(name, length: c.embeddingLength), epsilon: c.rmsNormEpsilon)
    }

    /// The output projection `name`, or the token embedding `embedding` when the
    /// configuration ties them or the source has no such tensor.
    public func loadOutput(_ name: String, embedding: Tensor, configuration c: ModelConfiguration) throws -> Linear {
        if c.tiedEmbeddings || !source.contains(name) { return Linear(weight: embedding) }
        return Linear(weight: try load(name, shape: [c.vocabularySize, c.embeddingLength]))
    }
}

/// A backend that wants to know the names of the weights its operations get (to record
/// statistics per weight, as ``ActivationRecorder`` does): ``WeightLoader`` tells it each
/// matrix's name as it is loaded, with the tensor the operations will receive.
public protocol WeightNameObserver: AnyObject {
    func didLoad(weight: Tensor, named name: String)
}
