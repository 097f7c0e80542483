import TensorCore

/// A linear projection without bias: `y = x · Wᵀ`, the weight stored as rows (one per
/// output), in any element type.
public struct Linear: Sendable {
    public let weight: Tensor
    public var inputLength: Int { weight.shape[1] }
    public var outputLength: Int { weight.shape[0] }

    public init(weight: Tensor) { self.weight = weight }

    /// `output = input · Wᵀ` for every row of `input`.
    public func callAsFunction(_ input: Tensor, into output: Tensor, backend: any Backend) throws {
        try backend.matmul(input, weight: weight, into: output)
    }
}
