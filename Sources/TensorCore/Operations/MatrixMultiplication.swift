/// `output = input · weightᵀ`: each of the `n` rows of `input` (length `k`) is
/// multiplied by each of the `m` rows of `weight` (length `k`), giving `n` rows of
/// length `m`. This is every linear layer of a transformer: the weight is stored as
/// rows, as in GGUF and PyTorch, in any ``ElementType``.
///
/// With `n = 1` (decoding one token) this is a matrix-vector product, bound by the
/// speed of reading the weight; with large `n` (a prompt) it is matrix-matrix work.
public struct MatrixMultiplication: Sendable {
    /// `f32`, `n` rows of length `k` (any leading shape).
    public let input: Tensor
    /// Any element type, shape `[m, k]`.
    public let weight: Tensor
    /// `f32`, `n` rows of length `m`.
    public let output: Tensor

    /// The number of input rows `n`.
    public var rowCount: Int { input.rowCount }
    /// The shared inner length `k`.
    public var innerLength: Int { input.rowLength }
    /// The number of weight rows `m`.
    public var outputLength: Int { weight.shape[0] }

    public init(input: Tensor, weight: Tensor, output: Tensor) throws {
        let name = "matmul"
        try OperationChecks.requireF32(input, "input", in: name)
        try OperationChecks.requireF32(output, "output", in: name)
        try OperationChecks.requireWritable(output, in: name)
        try OperationChecks.requireRank(weight, 2, "weight", in: name)
        guard input.rowLength == weight.rowLength else {
            throw TensorError.shapeMismatch(
                operation: name,
                details: "input \(input.shape) has rows of length \(input.rowLength), weight \(weight.shape) has rows of length \(weight.rowLength)")
        }
        guard output.rowCount == input.rowCount, output.rowLength == weight.shape[0] else {
            throw TensorError.shapeMismatch(
                operation: name,
                details: "input \(input.shape) times weight \(weight.shape)ᵀ gives [\(input.rowCount), \(weight.shape[0])], but output is \(output.shape)")
        }
        self.input = input
        self.weight = weight
        self.output = output
    }

    /// The reference computation: each weight row decoded to `f32`, dot products
    /// accumulated in `Double`.
    public func computeReference() {
        let n = rowCount, k = innerLength, m = outputLength
        let x = input.floatPointer
        let y = output.mutableFloatPointer
        withUnsafeTemporaryAllocation(of: Float.self, capacity: max(k, 1)) { row in
            let w = row.baseAddress!
            for j in 0..<m {
                RowCodec.decode(weight.elementType, from: weight.rowPointer(j), count: k, into: w)
                for i in 0..<n {
                    var sum = 0.0
                    for l in 0..<k { sum += Double(x[i * k + l]) * Double(w[l]) }
                    y[i * m + j] = Float(sum)
                }
            }
        }
    }
}
