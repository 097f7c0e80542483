/// `output = input × factor` on `f32` tensors of the same shape (Gemma scales its
/// embeddings by √width this way). The output may be the input.
public struct Scaling: Sendable {
    public let input: Tensor
    public let factor: Float
    public let output: Tensor

    public init(_ input: Tensor, by factor: Float, output: Tensor) throws {
        try OperationChecks.requireF32(input, "input", in: "scale")
        try OperationChecks.requireF32(output, "output", in: "scale")
        try OperationChecks.requireWritable(output, in: "scale")
        try OperationChecks.requireSameShape(input, "input", output, "output", in: "scale")
        self.input = input
        self.factor = factor
        self.output = output
    }

    public func computeReference() {
        let x = input.floatPointer, y = output.mutableFloatPointer
        for i in 0..<input.elementCount { y[i] = x[i] * factor }
    }
}
