import TensorCore

/// Multi-head self-attention with grouped-query heads, rotary position embedding and
/// a KV cache:
///
/// ```
/// q = x·Wqᵀ, k = x·Wkᵀ, v = x·Wvᵀ            (heads × d, kvHeads × d, kvHeads × d)
/// [q, k = norm per head, Gemma only]
/// q, k = RoPE(q, k, positions)
/// cache[positions] = k, v
/// y = attention(q, cache[0 ..< last position]) · Woᵀ
/// ```
///
/// RoPE pairs values as the checkpoint's Q/K rows are ordered (``RotaryEmbedding/Layout``),
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
    /// A sliding window: each query sees only this many positions, its own included.
    public let window: Int?
    /// Per-head RMSNorm of queries and keys before RoPE (Gemma 3).
    public let queryNorm: RMSNorm?
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

    /// The scratch rows this layer needs, by buffer name.
    static func buffers(headCount: Int, kvHeadCount: Int, headDimension: Int) -> [String: [Int]] {
        ["q": [headCount * headDimension], "k": [kvHeadCount * headDimension], "v": [kvHeadCount * headDimension],
         "attention": [headCount * headDimension]]
    }

    /// Attends the `n` rows of `input` (the tokens at positions `position ..< position + n`)
    /// to themselves and the cached positions of `layer`, stores their keys and values,
    /// and writes the projected result to `result`.
    func callAsFunction(
        _ input: Tensor, position: Int, layer: Int, state: InferenceState, into result: Tensor, backend: any Backend
    ) throws {
        let n = input.rowCount
        let q = try state.buffer("q", rows: n), k = try state.buffer("k", rows: n), v = try state.buffer("v", rows: n)
        // One operation for the three projections of the same input, so that a backend can
        // prepare the input once and split all their rows over its threads together.
        var projections = SharedInputMatrixMultiplication(input: input)
        try projections.append(weight: query.weight, output: q)
        try projections.append(weight: key.weight, output: k)
        try projections.append(weight: value.weight, output: v)
        try backend.execute(projections)
        let queryHeads = try q.reshaped(TensorShape(n, headCount, headDimension))
        let keyHeads = try k.reshaped(TensorShape(n, kvHeadCount, headDimension))
        if let queryNorm { try queryNorm(queryHeads, into: queryHeads, backend: backend) }
        if let keyNorm { try keyNorm(keyHeads, into: keyHeads, backend: backend) }
        let positions = state.positions(position..<position + n)
        try backend.rope(queryHeads, positions: positions, parameters: rope, into: queryHeads)
        try backend.rope(keyHeads, positions: positions, parameters: rope, into: keyHeads)
        try state.cache.store(layer: layer, keys: k, values: v, at: position, backend: backend)
        let (keys, values) = try state.cache.entries(layer: layer, length: position + n)
        let attended = try state.buffer("attention", rows: n)
        try backend.attention(
            query: queryHeads, keys: keys, values: values, mask: .causal(firstQueryPosition: position, window: window),
            scale: scale, into: attended.reshaped(TensorShape(n, headCount, headDimension)))
        try output(attended, into: result, backend: backend)
    }
}
