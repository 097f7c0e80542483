import ModelFormats
import TensorCore

/// Gemma 3 (text), as Hugging Face transformers' `Gemma3ForCausalLM` and llama.cpp's
/// gemma3 graph compute it. It reuses the Llama layers and differs from ``LlamaModel``
/// in these points (see `Documentation/Gemma3.md`):
///
/// ```
/// x = embedding(tokens) × √width
/// for each block (every `slidingWindowPattern`-th one global, the others sliding):
///     h = rmsNorm(x)
///     q, k = rmsNorm per head (q, k), RoPE with the local or global base (half-split pairs)
///     x = x + rmsNorm(attention(h))                 (window on sliding layers)
///     x = x + rmsNorm(down(gelu(gate(h')) × up(h'))),  h' = rmsNorm(x)
/// logits = embeddingᵀ(rmsNorm(x))                   (tied)
/// ```
///
/// GGUF stores Gemma's norm weights with the `+1` of Hugging Face's `x̂ · (1 + w)`
/// already added, so every norm is the plain ``RMSNorm``.
public final class Gemma3Model: TransformerModel {
    public struct Block: Sendable {
        public let attentionNorm: RMSNorm
        public let attention: SelfAttention
        public let postAttentionNorm: RMSNorm
        public let feedForwardNorm: RMSNorm
        public let feedForward: GatedFeedForward
        public let postFeedForwardNorm: RMSNorm
        /// Whether the layer attends through a sliding window.
        public let isSliding: Bool
    }

    public let configuration: ModelConfiguration
    public let backend: any Backend
    public let embedding: TokenEmbedding
    public let embeddingScale: Float
    public let blocks: [Block]
    public let outputNorm: RMSNorm
    public let output: Linear

    /// The configuration of a `gemma3` GGUF file. llama.cpp does not store the
    /// sliding-window pattern or the local RoPE base in the file; like llama.cpp it uses
    /// Gemma 3's values: every 6th layer global, local base 10,000.
    public static func configuration(gguf file: GGUFFile) throws -> ModelConfiguration {
        let m = try GGUFModelMetadata(file.metadata)
        guard let width = m.embeddingLength, let layers = m.blockCount, let heads = m.headCount,
              let feedForward = m.feedForwardLength, let context = m.contextLength,
              let embedding = file.tensorInfo(named: "token_embd.weight")
        else {
            throw ModelError.unsupportedModel(file: file.path, reason: "is missing gemma3 hyperparameters or token_embd.weight")
        }
        // A head count of 0 is reported by `validate()`; it must not divide first.
        let head = m.keyLength ?? (heads > 0 ? width / heads : 0)
        var scale: Float = 1
        if m.ropeScalingType == "linear", let factor = m.ropeScalingFactor { scale = Float(factor) }
        return ModelConfiguration(
            architecture: .gemma3, vocabularySize: embedding.shape[0], embeddingLength: width, layerCount: layers,
            headCount: heads, kvHeadCount: m.headCountKV ?? heads, headDimension: head, feedForwardLength: feedForward,
            rmsNormEpsilon: Float(m.rmsNormEpsilon ?? 1e-6), ropeBase: Float(m.ropeFrequencyBase ?? 1_000_000),
            ropeScale: scale, ropeDimensions: m.ropeDimensionCount ?? head, ropeLayout: .halfSplit,
            contextLength: context, tiedEmbeddings: file.tensorInfo(named: "output.weight") == nil,
            slidingWindow: m.slidingWindow ?? 512, slidingWindowPattern: 6, localRopeBase: 10_000,
            attentionScale: head > 0 ? 1 / Float(head).squareRoot() : nil)
    }

    public convenience init(gguf file: GGUFFile, backend: any Backend) throws {
        try self.init(configuration: Self.configuration(gguf: file), weights: file, backend: backend)
    }

    /// Loads llama.cpp's gemma3 tensor names from `source`.
    public init(configuration: ModelConfiguration, weights source: any WeightSource, backend: any Backend) throws {
        try configuration.validate()
        let c = configuration
        let loader = WeightLoader(source: source, backend: backend)
        let (d, hd, ff, e) = (c.embeddingLength, c.headDimension, c.feedForwardLength, c.rmsNormEpsilon)
        let table = try loader.load("token_embd.weight", shape: [c.vocabularySize, d])
        embedding = TokenEmbedding(table: table)
        embeddingScale = Float(d).squareRoot()
        let pattern = c.slidingWindowPattern ?? 1
        blocks = try loader.layers(c.layerCount, probe: { "blk.\($0).attn_norm.weight" }) { i in
            let p = "blk.\(i)."
            let isSliding = (i + 1) % pattern != 0
            let rope = RotaryEmbedding.Parameters(
                base: isSliding ? (c.localRopeBase ?? c.ropeBase) : c.ropeBase, layout: c.ropeLayout,
                dimensions: c.ropeDimensions, positionScale: isSliding ? 1 : c.ropeScale)
            func norm(_ name: String, _ length: Int) throws -> RMSNorm {
                RMSNorm(weight: try loader.loadNorm(p + name, length: length), epsilon: e)
            }
            let attention = SelfAttention(
                query: Linear(weight: try loader.load(p + "attn_q.weight", shape: [c.headCount * hd, d])),
                key: Linear(weight: try loader.load(p + "attn_k.weight", shape: [c.kvHeadCount * hd, d])),
                value: Linear(weight: try loader.load(p + "attn_v.weight", shape: [c.kvHeadCount * hd, d])),
                output: Linear(weight: try loader.load(p + "attn_output.weight", shape: [d, c.headCount * hd])),
                headCount: c.headCount, kvHeadCount: c.kvHeadCount, headDimension: hd, rope: rope,
                scale: c.attentionScale, window: isSliding ? c.slidingWindow : nil,
                queryNorm: try norm("attn_q_norm.weight", hd), keyNorm: try norm("attn_k_norm.weight", hd))
            let feedForward = GatedFeedForward(
                gate: Linear(weight: try loader.load(p + "ffn_gate.weight", shape: [ff, d])),
                up: Linear(weight: try loader.load(p + "ffn_up.weight", shape: [ff, d])),
                down: Linear(weight: try loader.load(p + "ffn_down.weight", shape: [d, ff])), activation: .gelu)
            return Block(
                attentionNorm: try norm("attn_norm.weight", d), attention: attention,
                postAttentionNorm: try norm("post_attention_norm.weight", d),
                feedForwardNorm: try norm("ffn_norm.weight", d), feedForward: feedForward,
                postFeedForwardNorm: try norm("post_ffw_norm.weight", d), isSliding: isSliding)
        }
        outputNorm = RMSNorm(weight: try loader.loadNorm("output_norm.weight", length: d), epsilon: e)
        output = c.tiedEmbeddings
            ? Linear(weight: table) : Linear(weight: try loader.load("output.weight", shape: [c.vocabularySize, d]))
        self.configuration = configuration
        self.backend = backend
    }

    public func makeState(context: Int, batchCapacity: Int, cacheType: ElementType) throws -> InferenceState {
        try InferenceState(configuration: configuration, context: context, batchCapacity: batchCapacity, cacheType: cacheType)
    }

    public func forward(_ tokens: [Int], state: InferenceState, allLogits: Tensor?) throws {
        try checkForward(tokens, state: state, allLogits: allLogits)
        let n = tokens.count, position = state.position
        let x = try state.buffer("x", rows: n), h = try state.buffer("h", rows: n), r = try state.buffer("residual", rows: n)
        try embedding(tokens, into: x, backend: backend)
        try backend.scale(x, by: embeddingScale, into: x)
        for (index, block) in blocks.enumerated() {
            try block.attentionNorm(x, into: h, backend: backend)
            try block.attention(h, position: position, layer: index, state: state, into: r, backend: backend)
            try block.postAttentionNorm(r, into: r, backend: backend)
            try backend.add(x, r, into: x)
            try block.feedForwardNorm(x, into: h, backend: backend)
            try block.feedForward(h, state: state, into: r, backend: backend)
            try block.postFeedForwardNorm(r, into: r, backend: backend)
            try backend.add(x, r, into: x)
        }
        state.cache.advance(to: position + n)
        try writeLogits(hidden: x, outputNorm: outputNorm, output: output, state: state, allLogits: allLogits)
    }
}
