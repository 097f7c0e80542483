import Foundation

/// An activation function applied element by element to an `f32` tensor. The
/// output may be the input.
public struct Activation: Sendable {
    /// The functions Llama-family feed-forward layers use.
    public enum Function: String, Sendable, CaseIterable {
        /// SiLU (swish): x · σ(x) = x / (1 + e^−x). Llama's.
        case silu
        /// GELU with the tanh approximation:
        /// ½x(1 + tanh(√(2/π)(x + 0.044715x³))). Gemma's (`gelu_pytorch_tanh`).
        case gelu

        /// The function at `x`, computed in `Double` and rounded once.
        @inlinable
        public func callAsFunction(_ x: Float) -> Float {
            let v = Double(x)
            switch self {
            case .silu:
                return Float(v / (1 + exp(-v)))
            case .gelu:
                return Float(0.5 * v * (1 + tanh((2 / Double.pi).squareRoot() * (v + 0.044715 * v * v * v))))
            }
        }
    }

    public let function: Function
    public let input: Tensor
    public let output: Tensor

    public init(_ function: Function, _ input: Tensor, output: Tensor) throws {
        let name = function.rawValue
        try OperationChecks.requireF32(input, "input", in: name)
        try OperationChecks.requireF32(output, "output", in: name)
        try OperationChecks.requireWritable(output, in: name)
        try OperationChecks.requireSameShape(input, "input", output, "output", in: name)
        self.function = function
        self.input = input
        self.output = output
    }

    public func computeReference() {
        let x = input.floatPointer, y = output.mutableFloatPointer
        for i in 0..<input.elementCount { y[i] = function(x[i]) }
    }
}
