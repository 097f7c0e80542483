/// Root-mean-square normalisation of each row, times a weight:
/// `output[r] = input[r] / √(mean(input[r]²) + ε) × weight`.
///
/// Rows are the last dimension, so a `[tokens, heads, headWidth]` tensor with a
/// weight of length `headWidth` normalises every head separately (Gemma's Q/K norm).
/// The output may be the input.
public struct RMSNormalization: Sendable {
    /// `f32`, any shape; rows of length `d`.
    public let input: Tensor
    /// Length `d`, any element type.
    public let weight: Tensor
    /// Added to the mean square before the square root.
    public let epsilon: Float
    /// `f32`, the shape of `input`.
    public let output: Tensor

    public init(_ input: Tensor, weight: Tensor, epsilon: Float, output: Tensor) throws {
        let name = "rmsNorm"
        try OperationChecks.requireF32(input, "input", in: name)
        try OperationChecks.requireF32(output, "output", in: name)
        try OperationChecks.requireWritable(output, in: name)
        try OperationChecks.requireSameShape(input, "input", output, "output", in: name)
        guard weight.elementCount == input.rowLength, weight.rowCount == 1 else {
            throw TensorError.shapeMismatch(
                operation: name, details: "weight \(weight.shape) does not fit rows of length \(input.rowLength) of input \(input.shape)")
        }
        guard epsilon >= 0, epsilon.isFinite else {
            throw TensorError.invalidArgument(operation: name, details: "epsilon \(epsilon) must be finite and not negative")
        }
        self.input = input
        self.weight = weight
        self.epsilon = epsilon
        self.output = output
    }

    /// The reference computation: the mean square accumulated in `Double`, the
    /// scale rounded to `Float`, then `x × scale × w` in `Float` (the order of
    /// Hugging Face's `LlamaRMSNorm` and of llama.cpp).
    public func computeReference() {
        let d = input.rowLength
        let w = weight.floats()
        for r in 0..<input.rowCount {
            let x = input.floatPointer + r * d
            let y = output.mutableFloatPointer + r * d
            var sum = 0.0
            for i in 0..<d { sum += Double(x[i]) * Double(x[i]) }
            let scale = Float(1 / (sum / Double(d) + Double(epsilon)).squareRoot())
            for i in 0..<d { y[i] = x[i] * scale * w[i] }
        }
    }
}
