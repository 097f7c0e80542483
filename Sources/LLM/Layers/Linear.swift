import TensorCore

/// A linear projection `y = x · Wᵀ (+ b)`, the weight stored as rows (one per output)
/// in any element type, and an optional `f32` bias (Qwen 2's Q, K and V projections
/// have one).
public struct Linear: Sendable {
    public let weight: Tensor
    /// One value per output, added to every row; `nil` for none.
    public let bias: Tensor?
    public var inputLength: Int { weight.shape[1] }
    public var outputLength: Int { weight.shape[0] }

    public init(weight: Tensor, bias: Tensor? = nil) {
        self.weight = weight
        self.bias = bias
    }

    /// `output = input · Wᵀ (+ b)` for every row of `input`.
    public func callAsFunction(_ input: Tensor, into output: Tensor, backend: any Backend) throws {
        try backend.matmul(input, weight: weight, into: output)
        try addBias(to: output, backend: backend)
    }

    /// Adds the bias, if there is one, to every row of `output` (the projection itself
    /// computed elsewhere, as for Q, K and V together).
    public func addBias(to output: Tensor, backend: any Backend) throws {
        if let bias { try backend.add(output, bias, into: output) }
    }
}
