/// `output = f(gate) × up`, element by element: the gated linear units of
/// Llama's feed-forward (SwiGLU, f = SiLU) and Gemma's (GeGLU, f = tanh-GELU).
/// One call instead of two, because the gate is used once and never stored.
public struct GatedActivation: Sendable {
    /// The activation applied to the gate.
    public let function: Activation.Function
    public let gate: Tensor
    public let up: Tensor
    public let output: Tensor

    public init(_ function: Activation.Function, gate: Tensor, up: Tensor, output: Tensor) throws {
        let name = function == .silu ? "swiglu" : "geglu"
        try OperationChecks.requireF32(gate, "gate", in: name)
        try OperationChecks.requireF32(up, "up", in: name)
        try OperationChecks.requireF32(output, "output", in: name)
        try OperationChecks.requireWritable(output, in: name)
        try OperationChecks.requireSameShape(gate, "gate", up, "up", in: name)
        try OperationChecks.requireSameShape(gate, "gate", output, "output", in: name)
        self.function = function
        self.gate = gate
        self.up = up
        self.output = output
    }

    public func computeReference() {
        let g = gate.floatPointer, u = up.floatPointer, y = output.mutableFloatPointer
        for i in 0..<gate.elementCount { y[i] = function(g[i]) * u[i] }
    }
}
