import TensorCore

/// Root-mean-square normalisation with a learned scale: `x / √(mean(x²) + ε) · w`.
///
/// Hugging Face's Gemma computes `x̂ · (1 + w)`; GGUF files store `1 + w`, so with GGUF
/// weights this is the same layer.
public struct RMSNorm: Sendable {
    /// `f32`, the length of a row.
    public let weight: Tensor
    public let epsilon: Float

    public init(weight: Tensor, epsilon: Float) {
        self.weight = weight
        self.epsilon = epsilon
    }

    /// Normalises every row of `input` (rows of the weight's length).
    public func callAsFunction(_ input: Tensor, into output: Tensor, backend: any Backend) throws {
        try backend.rmsNorm(input, weight: weight, epsilon: epsilon, into: output)
    }
}
