import ModelFormats
import TensorCore

/// The Llama architecture (Llama 2, Yi, Mistral-style models, llama2.c models):
///
/// ```
/// x = embedding(tokens)
/// for each block:
///     x = x + attention(rmsNorm(x))          (grouped-query, RoPE, KV cache)
///     x = x + down(silu(gate(h)) × up(h)),  h = rmsNorm(x)
/// logits = output(rmsNorm(x))                 (output = embedding when tied)
/// ```
public final class LlamaModel: TransformerModel {
    /// One decoder block.
    public struct Block: Sendable {
        public let attentionNorm: RMSNorm
        public let attention: SelfAttention
        public let feedForwardNorm: RMSNorm
        public let feedForward: GatedFeedForward
    }

    public let configuration: ModelConfiguration
    public let backend: any Backend
    public let embedding: TokenEmbedding
    public let blocks: [Block]
    public let outputNorm: RMSNorm
    public let output: Linear

    /// Loads the weights named by `names` from `source`, checking every shape.
    public init(configuration: ModelConfiguration, weights source: any WeightSource, names: LlamaWeightNames, backend: any Backend) throws {
        try configuration.validate()
        let c = configuration
        let loader = WeightLoader(source: source, backend: backend)
        let (d, hd, ff) = (c.embeddingLength, c.headDimension, c.feedForwardLength)
        let embeddingTable = try loader.load(names.embedding, shape: [c.vocabularySize, d])
        embedding = TokenEmbedding(table: embeddingTable)
        let rope = RotaryEmbedding.Parameters(
            base: c.ropeBase, layout: c.ropeLayout, dimensions: c.ropeDimensions, positionScale: c.ropeScale)
        blocks = try loader.layers(c.layerCount, probe: { names.layer($0).attentionNorm }) { i in
            let n = names.layer(i)
            let attention = SelfAttention(
                query: Linear(weight: try loader.load(n.query, shape: [c.headCount * hd, d])),
                key: Linear(weight: try loader.load(n.key, shape: [c.kvHeadCount * hd, d])),
                value: Linear(weight: try loader.load(n.value, shape: [c.kvHeadCount * hd, d])),
                output: Linear(weight: try loader.load(n.attentionOutput, shape: [d, c.headCount * hd])),
                headCount: c.headCount, kvHeadCount: c.kvHeadCount, headDimension: hd, rope: rope, scale: c.attentionScale)
            let feedForward = GatedFeedForward(
                gate: Linear(weight: try loader.load(n.gate, shape: [ff, d])),
                up: Linear(weight: try loader.load(n.up, shape: [ff, d])),
                down: Linear(weight: try loader.load(n.down, shape: [d, ff])), activation: .silu)
            return Block(
                attentionNorm: RMSNorm(weight: try loader.loadNorm(n.attentionNorm, length: d), epsilon: c.rmsNormEpsilon),
                attention: attention,
                feedForwardNorm: RMSNorm(weight: try loader.loadNorm(n.feedForwardNorm, length: d), epsilon: c.rmsNormEpsilon),
                feedForward: feedForward)
        }
        outputNorm = RMSNorm(weight: try loader.loadNorm(names.outputNorm, length: d), epsilon: c.rmsNormEpsilon)
        if c.tiedEmbeddings || !source.contains(names.output) {
            output = Linear(weight: embeddingTable)
        } else {
            output = Linear(weight: try loader.load(names.output, shape: [c.vocabularySize, d]))
        }
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
        for (index, block) in blocks.enumerated() {
            try block.attentionNorm(x, into: h, backend: backend)
            try block.attention(h, position: position, layer: index, state: state, into: r, backend: backend)
            try backend.add(x, r, into: x)
            try block.feedForwardNorm(x, into: h, backend: backend)
            try block.feedForward(h, state: state, into: r, backend: backend)
            try backend.add(x, r, into: x)
        }
        state.cache.advance(to: position + n)
        try writeLogits(hidden: x, outputNorm: outputNorm, output: output, state: state, allLogits: allLogits)
    }
}
