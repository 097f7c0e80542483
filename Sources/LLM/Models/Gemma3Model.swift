import ModelFormats
import TensorCore
import Tokenizers

/// Gemma 3 (text), as Hugging Face transformers' `Gemma3ForCausalLM` and llama.cpp's
/// gemma3 graph compute it. It is built from the same layers as ``LlamaModel`` and
/// differs in these points (see `Documentation/Gemma3.md`):
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
/// already added, so every norm is the plain ``RMSNorm``. Only GGUF files
/// (`general.architecture` `gemma3`) are read.
public final class Gemma3Model: ModelArchitecture {
    public static let ggufName = "gemma3"
    /// Gemma's instruction-tuned models use the Gemma turn markup; a file that names no
    /// template gets it.
    public static let defaultChatTemplate: ChatTemplate? = .gemma

    /// What Gemma 3 adds to the ``ModelConfiguration`` every architecture has.
    public struct Configuration: Sendable, Equatable {
        /// The sizes and settings shared with the other architectures.
        public var shared: ModelConfiguration
        /// The window of sliding-window layers, in positions.
        public var slidingWindow: Int
        /// Every this many layers one is global; the others slide.
        public var slidingWindowPattern: Int
        /// The RoPE base of sliding-window layers (global layers use `shared.ropeBase`).
        public var localRopeBase: Float

        public init(shared: ModelConfiguration, slidingWindow: Int, slidingWindowPattern: Int, localRopeBase: Float) {
            self.shared = shared
            self.slidingWindow = slidingWindow
            self.slidingWindowPattern = slidingWindowPattern
            self.localRopeBase = localRopeBase
        }

        /// Checks the shared settings and Gemma 3's own.
        public func validate() throws {
            try shared.validate()
            guard slidingWindow > 0 else { throw ModelError.invalidConfiguration("the sliding window \(slidingWindow) must be positive") }
            guard slidingWindowPattern > 0 else {
                throw ModelError.invalidConfiguration("the sliding-window pattern \(slidingWindowPattern) must be positive")
            }
            guard localRopeBase > 1, localRopeBase.isFinite else {
                throw ModelError.invalidConfiguration("the local RoPE base \(localRopeBase) must exceed 1")
            }
        }

        /// Whether layer `i` attends through the sliding window.
        public func isSliding(layer i: Int) -> Bool { (i + 1) % slidingWindowPattern != 0 }
    }

    /// One decoder block.
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

    /// The names of one block's tensors.
    public struct LayerNames: Sendable {
        public var attentionNorm, postAttentionNorm, feedForwardNorm, postFeedForwardNorm: String
        public var attention: SelfAttention.WeightNames
        public var feedForward: GatedFeedForward.WeightNames

        /// llama.cpp's gemma3 names of layer `i` (`blk.i.post_ffw_norm.weight`, …).
        public static func gguf(layer i: Int) -> LayerNames {
            let p = "blk.\(i)."
            return LayerNames(
                attentionNorm: p + "attn_norm.weight", postAttentionNorm: p + "post_attention_norm.weight",
                feedForwardNorm: p + "ffn_norm.weight", postFeedForwardNorm: p + "post_ffw_norm.weight",
                attention: .gguf(layer: i, queryKeyNorms: true), feedForward: .gguf(layer: i))
        }
    }

    public var configuration: ModelConfiguration { gemma.shared }
    /// The full configuration, with Gemma 3's own settings.
    public let gemma: Configuration
    public let backend: any Backend
    public let embedding: TokenEmbedding
    /// The factor of the embeddings, √width.
    public let embeddingScale: Float
    public let blocks: [Block]
    public let outputNorm: RMSNorm
    public let output: Linear

    public convenience init(gguf file: GGUFFile, backend: any Backend) throws {
        try self.init(configuration: Self.configuration(gguf: file), weights: file, backend: backend)
    }

    /// The configuration of a `gemma3` GGUF file. llama.cpp does not store the
    /// sliding-window pattern or the local RoPE base in the file; like llama.cpp it uses
    /// Gemma 3's values: every 6th layer global, local base 10,000.
    public static func configuration(gguf file: GGUFFile) throws -> Configuration {
        let m = try GGUFModelMetadata(file.metadata)
        guard let width = m.embeddingLength, let layers = m.blockCount, let heads = m.headCount,
              let feedForward = m.feedForwardLength, let context = m.contextLength,
              let embedding = file.tensorInfo(named: "token_embd.weight")
        else {
            throw ModelError.unsupportedModel(file: file.path, reason: "is missing gemma3 hyperparameters or token_embd.weight")
        }
        // A head count of 0 is reported by `validate()`; it must not divide first.
        let head = m.keyLength ?? (heads > 0 ? width / heads : 0)
        let shared = ModelConfiguration(
            vocabularySize: embedding.shape[0], embeddingLength: width, layerCount: layers,
            headCount: heads, kvHeadCount: m.headCountKV ?? heads, headDimension: head, feedForwardLength: feedForward,
            rmsNormEpsilon: Float(m.rmsNormEpsilon ?? 1e-6), ropeBase: Float(m.ropeFrequencyBase ?? 1_000_000),
            ropeScale: try m.linearRopeScale(file: file.path), ropeDimensions: m.ropeDimensionCount ?? head, ropeLayout: .halfSplit,
            contextLength: context, tiedEmbeddings: file.tensorInfo(named: "output.weight") == nil,
            attentionScale: head > 0 ? 1 / Float(head).squareRoot() : nil)
        return Configuration(shared: shared, slidingWindow: m.slidingWindow ?? 512, slidingWindowPattern: 6, localRopeBase: 10_000)
    }

    /// Loads llama.cpp's gemma3 tensors from `source`, checking every shape.
    public init(configuration: Configuration, weights source: any WeightSource, backend: any Backend) throws {
        try configuration.validate()
        let c = configuration.shared
        let loader = WeightLoader(source: source, backend: backend)
        let table = try loader.load("token_embd.weight", shape: [c.vocabularySize, c.embeddingLength])
        embedding = TokenEmbedding(table: table)
        embeddingScale = Float(c.embeddingLength).squareRoot()
        blocks = try loader.layers(c.layerCount, probe: { LayerNames.gguf(layer: $0).attentionNorm }) { i in
            let n = LayerNames.gguf(layer: i)
            let isSliding = configuration.isSliding(layer: i)
            // Sliding layers rotate with the local base and are not position-scaled.
            let rope = RotaryEmbedding.Parameters(
                base: isSliding ? configuration.localRopeBase : c.ropeBase, layout: c.ropeLayout,
                dimensions: c.ropeDimensions, positionScale: isSliding ? 1 : c.ropeScale)
            return Block(
                attentionNorm: try loader.loadNorm(n.attentionNorm, configuration: c),
                attention: try SelfAttention(
                    loading: n.attention, with: loader, configuration: c, rope: rope,
                    window: isSliding ? configuration.slidingWindow : nil),
                postAttentionNorm: try loader.loadNorm(n.postAttentionNorm, configuration: c),
                feedForwardNorm: try loader.loadNorm(n.feedForwardNorm, configuration: c),
                feedForward: try GatedFeedForward(loading: n.feedForward, with: loader, configuration: c, activation: .gelu),
                postFeedForwardNorm: try loader.loadNorm(n.postFeedForwardNorm, configuration: c), isSliding: isSliding)
        }
        outputNorm = try loader.loadNorm("output_norm.weight", configuration: c)
        output = try loader.loadOutput("output.weight", embedding: table, configuration: c)
        gemma = configuration
        self.backend = backend
    }

    public func makeState(context: Int, batchCapacity: Int, cacheType: ElementType) throws -> InferenceState {
        try InferenceState(configuration: configuration, context: context, batchCapacity: batchCapacity, cacheType: cacheType)
    }

    public func forward(_ tokens: [Int], state: InferenceState, allLogits: Tensor?) throws {
        try forwardOneSequence(tokens, state: state, allLogits: allLogits)
    }

    public func forward(_ batch: ForwardBatch) throws {
        let n = batch.rowCount, scratch = batch.scratch
        let x = try scratch.stream.rows(0..<n), h = try scratch.normalized.rows(0..<n)
        let r = try scratch.layerOutput.rows(0..<n)
        try embedding(batch.tokens, into: x, backend: backend)
        try backend.scale(x, by: embeddingScale, into: x)
        for (index, block) in blocks.enumerated() {
            try block.attentionNorm(x, into: h, backend: backend)
            try block.attention(h, batch: batch, layer: index, into: r, backend: backend)
            try block.postAttentionNorm(r, into: r, backend: backend)
            try backend.add(x, r, into: x)
            try block.feedForwardNorm(x, into: h, backend: backend)
            try block.feedForward(h, scratch: scratch.feedForward, into: r, backend: backend)
            try block.postFeedForwardNorm(r, into: r, backend: backend)
            try backend.add(x, r, into: x)
        }
        batch.advanceCaches()
        try writeLogits(hidden: x, outputNorm: outputNorm, output: output, batch: batch)
    }
}
