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

    /// The tensor names of one layer's feed-forward weights in a checkpoint.
    public struct WeightNames: Sendable {
        public var gate, up, down: String

        public init(gate: String, up: String, down: String) {
            self.gate = gate
            self.up = up
            self.down = down
        }

        /// llama.cpp's GGUF names of layer `i` (`blk.i.ffn_gate.weight`, …).
        public static func gguf(layer i: Int) -> WeightNames {
            WeightNames(gate: "blk.\(i).ffn_gate.weight", up: "blk.\(i).ffn_up.weight", down: "blk.\(i).ffn_down.weight")
        }

        /// Hugging Face transformers' names of layer `i` (`model.layers.i.mlp.gate_proj.weight`, …).
        public static func huggingFace(layer i: Int) -> WeightNames {
            let p = "model.layers.\(i).mlp."
            return WeightNames(gate: p + "gate_proj.weight", up: p + "up_proj.weight", down: p + "down_proj.weight")
        }
    }

    /// Loads the three projections for configuration `c`, checking each shape.
    public init(loading names: WeightNames, with loader: WeightLoader, configuration c: ModelConfiguration, activation: Activation.Function)
        throws
    {
        let (d, ff) = (c.embeddingLength, c.feedForwardLength)
        self.init(
            gate: Linear(weight: try loader.load(names.gate, shape: [ff, d])),
            up: Linear(weight: try loader.load(names.up, shape: [ff, d])),
            down: Linear(weight: try loader.load(names.down, shape: [d, ff])), activation: activation)
    }

    /// The layer's scratch tensors, `batchCapacity` rows of the inner width each.
    public struct Scratch: Sendable {
        /// The gate projection, then the gated activation.
        public let gate: Tensor
        /// The up projection.
        public let up: Tensor

        public init(batchCapacity: Int, innerWidth: Int) throws {
            gate = try Tensor(zeros: [batchCapacity, innerWidth])
            up = try Tensor(zeros: [batchCapacity, innerWidth])
        }
    }

    public func callAsFunction(_ input: Tensor, scratch: Scratch, into result: Tensor, backend: any Backend) throws {
        let n = input.rowCount
        let g = try scratch.gate.rows(0..<n), u = try scratch.up.rows(0..<n)
        var projections = SharedInputMatrixMultiplication(input: input)  // one input, one operation
        try projections.append(weight: gate.weight, output: g)
        try projections.append(weight: up.weight, output: u)
        try backend.execute(projections)
        try backend.execute(GatedActivation(activation, gate: g, up: u, output: g))
        try down(g, into: result, backend: backend)
    }
}
