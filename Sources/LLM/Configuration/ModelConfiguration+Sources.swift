import ModelFormats
import TensorCore

extension ModelConfiguration {
    /// The configuration of a `llama`-architecture GGUF file (llama.cpp's keys). The
    /// vocabulary size comes from the token embedding's shape; Q/K rows in such files
    /// are in the interleaved RoPE order (llama.cpp permutes them when converting).
    public static func llama(gguf file: GGUFFile) throws -> ModelConfiguration {
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
        var scale: Float = 1
        if let type = m.ropeScalingType, type == "linear", let factor = m.ropeScalingFactor { scale = Float(factor) }
        return ModelConfiguration(
            architecture: .llama, vocabularySize: embedding.shape[0], embeddingLength: width,
            layerCount: try require(m.blockCount, "block_count"), headCount: heads, kvHeadCount: m.headCountKV ?? heads,
            headDimension: m.keyLength ?? width / max(heads, 1),
            feedForwardLength: try require(m.feedForwardLength, "feed_forward_length"),
            rmsNormEpsilon: Float(m.rmsNormEpsilon ?? 1e-5), ropeBase: Float(m.ropeFrequencyBase ?? 10_000),
            ropeScale: scale, ropeDimensions: m.ropeDimensionCount, ropeLayout: .interleaved,
            contextLength: try require(m.contextLength, "context_length"),
            tiedEmbeddings: file.tensorInfo(named: "output.weight") == nil)
    }

    /// The configuration of a Hugging Face checkpoint's `config.json`. Q/K rows in such
    /// checkpoints are in the half-split RoPE order.
    public static func llama(huggingFace config: HuggingFaceConfig) throws -> ModelConfiguration {
        var scale: Float = 1
        if let scaling = config.ropeScaling, scaling.type != "default" {
            guard scaling.type == "linear", let factor = scaling.factor else {
                throw ModelError.invalidConfiguration("RoPE scaling '\(scaling.type)' is not supported (linear is)")
            }
            scale = Float(factor)
        }
        if let activation = config.hiddenAct, activation != "silu" {
            throw ModelError.invalidConfiguration("activation '\(activation)' is not supported by the Llama model (silu is)")
        }
        return ModelConfiguration(
            architecture: .llama, vocabularySize: config.vocabSize, embeddingLength: config.hiddenSize,
            layerCount: config.numHiddenLayers, headCount: config.numAttentionHeads,
            kvHeadCount: config.numKeyValueHeads ?? config.numAttentionHeads, headDimension: config.headDim,
            feedForwardLength: config.intermediateSize, rmsNormEpsilon: Float(config.rmsNormEps),
            ropeBase: Float(config.ropeTheta ?? 10_000), ropeScale: scale, ropeLayout: .halfSplit,
            contextLength: config.maxPositionEmbeddings, tiedEmbeddings: config.tieWordEmbeddings ?? false)
    }

    /// The configuration of a llama2.c checkpoint: RMSNorm ε 1e-5 and RoPE base 10,000
    /// (the values `run.c` uses), Meta's interleaved RoPE order.
    public static func llama(llama2c header: Llama2cCheckpoint.Header) -> ModelConfiguration {
        ModelConfiguration(
            architecture: .llama, vocabularySize: header.vocabularySize, embeddingLength: header.dimension,
            layerCount: header.layerCount, headCount: header.headCount, kvHeadCount: header.kvHeadCount,
            feedForwardLength: header.hiddenDimension, rmsNormEpsilon: 1e-5, ropeBase: 10_000, ropeLayout: .interleaved,
            contextLength: header.sequenceLength, tiedEmbeddings: header.sharedClassifier)
    }
}
