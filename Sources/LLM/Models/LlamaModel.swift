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
///
/// It reads GGUF files (`general.architecture` `llama`), Hugging Face checkpoints
/// (`LlamaForCausalLM`, `MistralForCausalLM`, `YiForCausalLM`) and llama2.c checkpoints.
/// Llama 3's RoPE scaling (`rope_scaling` of type `llama3`, `rope_freqs.weight`) and
/// Q/K/V biases (`attention_bias`, `blk.N.attn_q.bias`) are read when a file has them.
/// ``Qwen2Model`` and ``Qwen3Model`` are this decoder with other names and settings.
public final class LlamaModel: ModelArchitecture {
    public static let ggufName = "llama"
    public static let huggingFaceNames = ["LlamaForCausalLM", "MistralForCausalLM", "YiForCausalLM"]

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

    public convenience init(gguf file: GGUFFile, backend: any Backend) throws {
        // llama.cpp's llama graph adds the attention biases when the file has them.
        let names = WeightNames.gguf(
            biases: file.tensorInfo(named: "blk.0.attn_q.bias") != nil,
            outputBias: file.tensorInfo(named: "blk.0.attn_output.bias") != nil)
        try self.init(configuration: Self.configuration(gguf: file), weights: file, names: names, backend: backend)
    }

    public convenience init(huggingFace config: HuggingFaceConfig, weights: any WeightSource, backend: any Backend) throws {
        // transformers' `attention_bias` gives all four attention projections a bias.
        let biases = config.attentionBias ?? false
        try self.init(
            configuration: Self.configuration(huggingFace: config), weights: weights,
            names: .huggingFace(biases: biases, outputBias: biases), backend: backend)
    }

    /// Loads the weights named by `names` from `source`, checking every shape.
    public init(configuration: ModelConfiguration, weights source: any WeightSource, names: WeightNames, backend: any Backend) throws {
        try configuration.validate()
        let c = configuration
        let loader = WeightLoader(source: source, backend: backend)
        let d = c.embeddingLength
        let embeddingTable = try loader.load(names.embedding, shape: [c.vocabularySize, d])
        embedding = TokenEmbedding(table: embeddingTable)
        let rope = RotaryEmbedding.Parameters(
            base: c.ropeBase, layout: c.ropeLayout, dimensions: c.ropeDimensions, positionScale: c.ropeScale,
            frequencyFactors: c.ropeFrequencyFactors)
        blocks = try loader.layers(c.layerCount, probe: { names.layer($0).attentionNorm }) { i in
            let n = names.layer(i)
            return Block(
                attentionNorm: try loader.loadNorm(n.attentionNorm, configuration: c),
                attention: try SelfAttention(loading: n.attention, with: loader, configuration: c, rope: rope),
                feedForwardNorm: try loader.loadNorm(n.feedForwardNorm, configuration: c),
                feedForward: try GatedFeedForward(loading: n.feedForward, with: loader, configuration: c, activation: .silu))
        }
        outputNorm = try loader.loadNorm(names.outputNorm, configuration: c)
        output = try loader.loadOutput(names.output, embedding: embeddingTable, configuration: c)
        self.configuration = configuration
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
        for (index, block) in blocks.enumerated() {
            try block.attentionNorm(x, into: h, backend: backend)
            try block.attention(h, batch: batch, layer: index, into: r, backend: backend)
            try backend.add(x, r, into: x)
            try block.feedForwardNorm(x, into: h, backend: backend)
            try block.feedForward(h, scratch: scratch.feedForward, into: r, backend: backend)
            try backend.add(x, r, into: x)
        }
        batch.advanceCaches()
        try writeLogits(hidden: x, outputNorm: outputNorm, output: output, batch: batch)
    }
}

// MARK: - Configuration

extension LlamaModel {
    /// The configuration of a GGUF file of this decoder (llama.cpp's keys, under the
    /// file's `general.architecture`). The vocabulary size comes from the token
    /// embedding's shape, Llama 3's frequency factors from `rope_freqs.weight`. Q/K rows
    /// of `llama` files are in the interleaved RoPE order (llama.cpp permutes them when
    /// converting), those of `qwen2` and `qwen3` files in the half-split order.
    public static func configuration(
        gguf file: GGUFFile, ropeLayout: RotaryEmbedding.Layout = .interleaved
    ) throws -> ModelConfiguration {
        let m = try GGUFModelMetadata(file.metadata)
        func require(_ value: Int?, _ key: String) throws -> Int {
            guard let value else {
                throw ModelError.invalidWeight(name: "\(m.architecture).\(key)", file: file.path, problem: "metadata is missing")
            }
            return value
        }
        guard let embedding = file.tensorInfo(named: "token_embd.weight") else {
            throw ModelError.invalidWeight(name: "token_embd.weight", file: file.path, problem: "is missing")
        }
        let width = try require(m.embeddingLength, "embedding_length")
        let heads = try require(m.headCount, "attention.head_count")
        let head = m.keyLength ?? width / max(heads, 1)
        return ModelConfiguration(
            vocabularySize: embedding.shape[0], embeddingLength: width,
            layerCount: try require(m.blockCount, "block_count"), headCount: heads, kvHeadCount: m.headCountKV ?? heads,
            headDimension: head, feedForwardLength: try require(m.feedForwardLength, "feed_forward_length"),
            rmsNormEpsilon: Float(m.rmsNormEpsilon ?? 1e-5), ropeBase: Float(m.ropeFrequencyBase ?? 10_000),
            ropeScale: try m.linearRopeScale(file: file.path), ropeDimensions: m.ropeDimensionCount, ropeLayout: ropeLayout,
            ropeFrequencyFactors: try file.ropeFrequencyFactors(dimensions: m.ropeDimensionCount ?? head),
            contextLength: try require(m.contextLength, "context_length"),
            tiedEmbeddings: file.tensorInfo(named: "output.weight") == nil)
    }

    /// The configuration of a Hugging Face checkpoint's `config.json`. Q/K rows in such
    /// checkpoints are in the half-split RoPE order.
    public static func configuration(huggingFace config: HuggingFaceConfig) throws -> ModelConfiguration {
        if let activation = config.hiddenAct, activation != "silu" {
            throw ModelError.invalidConfiguration("activation '\(activation)' is not supported by the Llama model (silu is)")
        }
        if config.mlpBias == true {
            throw ModelError.invalidConfiguration("\(config.file): mlp_bias is true; feed-forward biases are not supported")
        }
        let base = Float(config.ropeTheta ?? 10_000)
        // A configuration not read by `HuggingFaceConfig.load` may hold any numbers; a head
        // count of 0 is reported by `validate()` and must not divide first.
        let head = config.headDim ?? (config.numAttentionHeads > 0 ? config.hiddenSize / config.numAttentionHeads : 0)
        return ModelConfiguration(
            vocabularySize: config.vocabSize, embeddingLength: config.hiddenSize,
            layerCount: config.numHiddenLayers, headCount: config.numAttentionHeads,
            kvHeadCount: config.numKeyValueHeads ?? config.numAttentionHeads, headDimension: head,
            feedForwardLength: config.intermediateSize, rmsNormEpsilon: Float(config.rmsNormEps),
            ropeBase: base, ropeScale: try config.linearRopeScale(), ropeLayout: .halfSplit,
            ropeFrequencyFactors: try config.ropeFrequencyFactors(dimensions: head, base: base),
            contextLength: config.maxPositionEmbeddings, tiedEmbeddings: config.tieWordEmbeddings ?? false)
    }

    /// The configuration of a llama2.c checkpoint: RMSNorm ε 1e-5 and RoPE base 10,000
    /// (the values `run.c` uses), Meta's interleaved RoPE order.
    public static func configuration(llama2c header: Llama2cCheckpoint.Header) -> ModelConfiguration {
        ModelConfiguration(
            vocabularySize: header.vocabularySize, embeddingLength: header.dimension,
            layerCount: header.layerCount, headCount: header.headCount, kvHeadCount: header.kvHeadCount,
            feedForwardLength: header.hiddenDimension, rmsNormEpsilon: 1e-5, ropeBase: 10_000, ropeLayout: .interleaved,
            contextLength: header.sequenceLength, tiedEmbeddings: header.sharedClassifier)
    }
}

// MARK: - Weight names

extension LlamaModel {
    /// The names of a Llama model's tensors in one kind of checkpoint.
    public struct WeightNames: Sendable {
        public var embedding: String
        public var outputNorm: String
        public var output: String
        /// The names of block `i`'s tensors.
        public var layer: @Sendable (Int) -> Layer

        /// The names of one block's tensors.
        public struct Layer: Sendable {
            public var attentionNorm: String
            public var attention: SelfAttention.WeightNames
            public var feedForwardNorm: String
            public var feedForward: GatedFeedForward.WeightNames

            public init(
                attentionNorm: String, attention: SelfAttention.WeightNames, feedForwardNorm: String,
                feedForward: GatedFeedForward.WeightNames
            ) {
                self.attentionNorm = attentionNorm
                self.attention = attention
                self.feedForwardNorm = feedForwardNorm
                self.feedForward = feedForward
            }
        }

        public init(embedding: String, outputNorm: String, output: String, layer: @escaping @Sendable (Int) -> Layer) {
            self.embedding = embedding
            self.outputNorm = outputNorm
            self.output = output
            self.layer = layer
        }

        /// llama.cpp's GGUF names (`blk.N.attn_q.weight`, …).
        public static let gguf = gguf()

        /// llama.cpp's GGUF names, with the Q/K/V biases (`blk.N.attn_q.bias`, …), the
        /// output projection's bias and the per-head Q/K norms (`blk.N.attn_q_norm.weight`,
        /// …) when asked for.
        public static func gguf(biases: Bool = false, outputBias: Bool = false, queryKeyNorms: Bool = false) -> WeightNames {
            WeightNames(embedding: "token_embd.weight", outputNorm: "output_norm.weight", output: "output.weight") { i in
                Layer(
                    attentionNorm: "blk.\(i).attn_norm.weight",
                    attention: .gguf(layer: i, queryKeyNorms: queryKeyNorms, biases: biases, outputBias: outputBias),
                    feedForwardNorm: "blk.\(i).ffn_norm.weight", feedForward: .gguf(layer: i))
            }
        }

        /// Hugging Face transformers' names (`model.layers.N.self_attn.q_proj.weight`, …).
        public static let huggingFace = huggingFace()

        /// Hugging Face transformers' names, with the Q/K/V biases (`….q_proj.bias`, …),
        /// the output projection's bias and the per-head Q/K norms
        /// (`….self_attn.q_norm.weight`, …) when asked for.
        public static func huggingFace(biases: Bool = false, outputBias: Bool = false, queryKeyNorms: Bool = false)
            -> WeightNames
        {
            WeightNames(embedding: "model.embed_tokens.weight", outputNorm: "model.norm.weight", output: "lm_head.weight") { i in
                Layer(
                    attentionNorm: "model.layers.\(i).input_layernorm.weight",
                    attention: .huggingFace(layer: i, queryKeyNorms: queryKeyNorms, biases: biases, outputBias: outputBias),
                    feedForwardNorm: "model.layers.\(i).post_attention_layernorm.weight", feedForward: .huggingFace(layer: i))
            }
        }

        /// Meta's names, as llama2.c uses them (`layers.N.attention.wq.weight`; w1 = gate,
        /// w2 = down, w3 = up).
        public static let meta = WeightNames(
            embedding: "tok_embeddings.weight", outputNorm: "norm.weight", output: "output.weight"
        ) { i in
            let p = "layers.\(i)."
            return Layer(
                attentionNorm: p + "attention_norm.weight",
                attention: SelfAttention.WeightNames(
                    query: p + "attention.wq.weight", key: p + "attention.wk.weight", value: p + "attention.wv.weight",
                    output: p + "attention.wo.weight"),
                feedForwardNorm: p + "ffn_norm.weight",
                feedForward: GatedFeedForward.WeightNames(
                    gate: p + "feed_forward.w1.weight", up: p + "feed_forward.w3.weight", down: p + "feed_forward.w2.weight"))
        }
    }
}
