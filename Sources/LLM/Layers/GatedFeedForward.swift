import TensorCore

/// The gated feed-forward network of Llama-family blocks:
/// `down(f(gate(x)) × up(x))`, with f = SiLU (SwiGLU, Llama) or tanh-GELU (GeGLU, Gemma).
public struct GatedFeedForward: Sendable {
    public let gate: Linear
    public let up: Linear
    public let down: Linear
    public let activation: Activation.Function

    public init(gate: Linear, up: Linear, down: Linear, activation: Activation.Function) {
        self.gate = gate
        self.up = up
        self.down = down
        self.activation = activation
    }

    static func buffers(feedForwardLength: Int) -> [String: [Int]] {
        ["gate": [feedForwardLength], "up": [feedForwardLength]]
    }

    func callAsFunction(_ input: Tensor, state: InferenceState, into result: Tensor, backend: any Backend) throws {
        let n = input.rowCount
        let g = try state.buffer("gate", rows: n), u = try state.buffer("up", rows: n)
        var projections = SharedInputMatrixMultiplication(input: input)  // one input, one operation
        try projections.append(weight: gate.weight, output: g)
        try projections.append(weight: up.weight, output: u)
        try backend.execute(projections)
        try backend.execute(GatedActivation(activation, gate: g, up: u, output: g))
        try down(g, into: result, backend: backend)
    }
}
