import TensorCore

/// Multi-head self-attention with grouped-query heads, rotary position embedding and
/// a KV cache:
///
/// ```
/// q = x·Wqᵀ, k = x·Wkᵀ, v = x·Wvᵀ            (heads × d, kvHeads × d, kvHeads × d)
/// [q, k, v += biases]                         (when the architecture has them)
/// [q, k = RMSNorm per head]                   (when the architecture has Q/K norms)
/// q, k = RoPE(q, k, positions)
/// cache[positions] = k, v
/// y = attention(q, cache[0 ..< last position]) · Woᵀ
/// ```
///
/// RoPE pairs values as the checkpoint's Q/K rows are ordered (`RotaryEmbedding.Layout` in TensorCore),
/// so weights are used exactly as stored: interleaved for GGUF `llama` files and
/// llama2.c, half-split for Hugging Face checkpoints and GGUF `gemma3` files.
public struct SelfAttention: Sendable {
    public let query: Linear
    public let key: Linear
    public let value: Linear
    public let output: Linear
    public let headCount: Int
    public let kvHeadCount: Int
    public let headDimension: Int
    public let rope: RotaryEmbedding.Parameters
    /// Scores are multiplied by this before the softmax.
    public let scale: Float
    /// A sliding window: each query sees only this many positions, its own included
    /// (`nil`: every earlier position).
    public let window: Int?
    /// Per-head RMSNorm of queries before RoPE, for architectures that have one.
    public let queryNorm: RMSNorm?
    /// Per-head RMSNorm of keys before RoPE, for architectures that have one.
    public let keyNorm: RMSNorm?

    public init(
        query: Linear, key: Linear, value: Linear, output: Linear, headCount: Int, kvHeadCount: Int,
        headDimension: Int, rope: RotaryEmbedding.Parameters, scale: Float, window: Int? = nil,
        queryNorm: RMSNorm? = nil, keyNorm: RMSNorm? = nil
    ) {
        self.query = query
        self.key = key
        self.value = value
        self.output = output
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount
        self.headDimension = headDimension
        self.rope = rope
        self.scale = scale
        self.window = window
        self.queryNorm = queryNorm
        self.keyNorm = keyNorm
    }

    /// The tensor names of one layer's attention weights in a checkpoint.
    public struct WeightNames: Sendable {
        public var query, key, value, output: String
        /// The per-head Q/K norms, for architectures that have them.
        public var queryNorm, keyNorm: String?
        /// The biases of the projections, for architectures that have them.
        public var queryBias, keyBias, valueBias, outputBias: String?

        public init(
            query: String, key: String, value: String, output: String, queryNorm: String? = nil, keyNorm: String? = nil,
            queryBias: String? = nil, keyBias: String? = nil, valueBias: String? = nil, outputBias: String? = nil
        ) {
            self.query = query
            self.key = key
            self.value = value
            self.output = output
            self.queryNorm = queryNorm
            self.keyNorm = keyNorm
            self.queryBias = queryBias
            self.keyBias = keyBias
            self.valueBias = valueBias
            self.outputBias = outputBias
        }

        /// llama.cpp's GGUF names of layer `i` (`blk.i.attn_q.weight`, …; with
        /// `queryKeyNorms`, `blk.i.attn_q_norm.weight` and `blk.i.attn_k_norm.weight`;
        /// with `biases`, `blk.i.attn_q.bias`, `blk.i.attn_k.bias` and `blk.i.attn_v.bias`;
        /// with `outputBias`, `blk.i.attn_output.bias`).
        public static func gguf(layer i: Int, queryKeyNorms: Bool = false, biases: Bool = false, outputBias: Bool = false)
            -> WeightNames
        {
            let p = "blk.\(i)."
            return WeightNames(
                query: p + "attn_q.weight", key: p + "attn_k.weight", value: p + "attn_v.weight",
                output: p + "attn_output.weight", queryNorm: queryKeyNorms ? p + "attn_q_norm.weight" : nil,
                keyNorm: queryKeyNorms ? p + "attn_k_norm.weight" : nil, queryBias: biases ? p + "attn_q.bias" : nil,
                keyBias: biases ? p + "attn_k.bias" : nil, valueBias: biases ? p + "attn_v.bias" : nil,
                outputBias: outputBias ? p + "attn_output.bias" : nil)
        }

        /// Hugging Face transformers' names of layer `i` (`model.layers.i.self_attn.q_proj.weight`,
        /// …; with `queryKeyNorms`, `….self_attn.q_norm.weight` and `….self_attn.k_norm.weight`;
        /// with `biases`, `….self_attn.q_proj.bias`, `k_proj.bias` and `v_proj.bias`; with
        /// `outputBias`, `….self_attn.o_proj.bias`).
        public static func huggingFace(layer i: Int, queryKeyNorms: Bool = false, biases: Bool = false, outputBias: Bool = false)
            -> WeightNames
        {
            let p = "model.layers.\(i).self_attn."
            return WeightNames(
                query: p + "q_proj.weight", key: p + "k_proj.weight", value: p + "v_proj.weight", output: p + "o_proj.weight",
                queryNorm: queryKeyNorms ? p + "q_norm.weight" : nil, keyNorm: queryKeyNorms ? p + "k_norm.weight" : nil,
                queryBias: biases ? p + "q_proj.bias" : nil, keyBias: biases ? p + "k_proj.bias" : nil,
                valueBias: biases ? p + "v_proj.bias" : nil, outputBias: outputBias ? p + "o_proj.bias" : nil)
        }
    }

    /// Loads the projections (and Q/K norms, when `names` has them) for configuration
    /// `c`, checking each shape (the norms use `c`'s ε); `rope` and `window` are the caller's.
    public init(
        loading names: WeightNames, with loader: WeightLoader, configuration c: ModelConfiguration,
        rope: RotaryEmbedding.Parameters, window: Int? = nil
    ) throws {
        let (d, hd) = (c.embeddingLength, c.headDimension)
        func norm(_ name: String?) throws -> RMSNorm? {
            try name.map { RMSNorm(weight: try loader.loadNorm($0, length: hd), epsilon: c.rmsNormEpsilon) }
        }
        func projection(_ name: String, bias: String?, rows: Int) throws -> Linear {
            Linear(weight: try loader.load(name, shape: [rows, d]), bias: try bias.map { try loader.loadVector($0, length: rows) })
        }
        self.init(
            query: try projection(names.query, bias: names.queryBias, rows: c.headCount * hd),
            key: try projection(names.key, bias: names.keyBias, rows: c.kvHeadCount * hd),
            value: try projection(names.value, bias: names.valueBias, rows: c.kvHeadCount * hd),
            output: Linear(
                weight: try loader.load(names.output, shape: [d, c.headCount * hd]),
                bias: try names.outputBias.map { try loader.loadVector($0, length: d) }),
            headCount: c.headCount, kvHeadCount: c.kvHeadCount, headDimension: hd, rope: rope, scale: c.attentionScale,
            window: window, queryNorm: try norm(names.queryNorm), keyNorm: try norm(names.keyNorm))
    }

    /// The layer's scratch tensors, `batchCapacity` rows each.
    public struct Scratch: Sendable {
        /// Queries `[batch, heads × headDimension]`.
        public let query: Tensor
        /// Keys `[batch, kvHeads × headDimension]`.
        public let key: Tensor
        /// Values `[batch, kvHeads × headDimension]`.
        public let value: Tensor
        /// The attention output before the output projection `[batch, heads × headDimension]`.
        public let attended: Tensor

        public init(batchCapacity: Int, headCount: Int, kvHeadCount: Int, headDimension: Int) throws {
            query = try Tensor(zeros: [batchCapacity, headCount * headDimension])
            key = try Tensor(zeros: [batchCapacity, kvHeadCount * headDimension])
            value = try Tensor(zeros: [batchCapacity, kvHeadCount * headDimension])
            attended = try Tensor(zeros: [batchCapacity, headCount * headDimension])
        }
    }

    /// Attends the rows of `input` (the rows of `batch`: each sequence's tokens at its
    /// positions) to themselves and their own sequence's cached positions of `layer`,
    /// stores their keys and values in that cache, and writes the projected result to
    /// `result`. The projections and RoPE run on all rows at once; the attention itself
    /// per sequence.
    public func callAsFunction(
        _ input: Tensor, batch: ForwardBatch, layer: Int, into result: Tensor, backend: any Backend
    ) throws {
        let n = input.rowCount
        let scratch = batch.scratch.attention
        let q = try scratch.query.rows(0..<n), k = try scratch.key.rows(0..<n), v = try scratch.value.rows(0..<n)
        // One operation for the three projections of the same input, so that a backend can
        // prepare the input once and split all their rows over its threads together.
        var projections = SharedInputMatrixMultiplication(input: input)
        try projections.append(weight: query.weight, output: q)
        try projections.append(weight: key.weight, output: k)
        try projections.append(weight: value.weight, output: v)
        try backend.execute(projections)
        try query.addBias(to: q, backend: backend)
        try key.addBias(to: k, backend: backend)
        try value.addBias(to: v, backend: backend)
        let queryHeads = try q.reshaped(TensorShape(n, headCount, headDimension))
        let keyHeads = try k.reshaped(TensorShape(n, kvHeadCount, headDimension))
        if let queryNorm { try queryNorm(queryHeads, into: queryHeads, backend: backend) }
        if let keyNorm { try keyNorm(keyHeads, into: keyHeads, backend: backend) }
        try backend.rope(queryHeads, positions: batch.positions, parameters: rope, into: queryHeads)
        try backend.rope(keyHeads, positions: batch.positions, parameters: rope, into: keyHeads)
        let attended = try scratch.attended.rows(0..<n)
        for sequence in batch.sequences {
            let rows = sequence.rows, position = sequence.position
            let cache = sequence.state.cache
            try cache.store(layer: layer, keys: k.rows(rows), values: v.rows(rows), at: position, backend: backend)
            let (keys, values) = try cache.entries(layer: layer, length: position + rows.count)
            try backend.attention(
                query: queryHeads.rows(rows), keys: keys, values: values,
                mask: .causal(firstQueryPosition: position, window: window), scale: scale,
                into: attended.rows(rows).reshaped(TensorShape(rows.count, headCount, headDimension)))
        }
        try output(attended, into: result, backend: backend)
    }
}
