/// Several ``MatrixMultiplication``s of one input: `outputs[i] = input · weights[i]ᵀ`.
///
/// The query, key and value projections of attention read the same normalized hidden
/// state, and so do the gate and up projections of a gated feed-forward network. A
/// backend that sees them together can prepare the input once (for example quantize it
/// for integer dot products) and split all the weights' rows over its threads in one
/// parallel loop instead of one loop per weight; the default computes the parts one by
/// one with ``Backend/execute(_:)-(MatrixMultiplication)``.
public struct SharedInputMatrixMultiplication: Sendable {
    /// `f32`, `n` rows of length `k`.
    public let input: Tensor
    /// The products, in order: each with this ``input``, its own weight and output.
    public let parts: [MatrixMultiplication]

    /// The number of input rows `n`.
    public var rowCount: Int { input.rowCount }
    /// The shared inner length `k`.
    public var innerLength: Int { input.rowLength }

    /// Checks each product as ``MatrixMultiplication`` does; `weights` and `outputs` must
    /// have the same count, at least one.
    public init(input: Tensor, weights: [Tensor], outputs: [Tensor]) throws {
        guard !weights.isEmpty, weights.count == outputs.count else {
            throw TensorError.invalidArgument(
                operation: "shared-input matmul",
                details: "\(weights.count) weights and \(outputs.count) outputs; need the same number, at least one")
        }
        self.input = input
        parts = try zip(weights, outputs).map { try MatrixMultiplication(input: input, weight: $0, output: $1) }
    }

    /// The reference computation: each part's reference.
    public func computeReference() {
        for part in parts { part.computeReference() }
    }
}
