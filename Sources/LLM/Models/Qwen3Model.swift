import ModelFormats
import TensorCore
import Tokenizers

/// Qwen 3 (dense): the ``LlamaModel`` decoder with a per-head RMSNorm of queries and
/// keys before RoPE and no attention biases (unless `attention_bias` is set), as
/// transformers' `Qwen3ForCausalLM` and llama.cpp's qwen3 graph compute it:
///
/// ```
/// q, k = rmsNorm per head (x·Wqᵀ, x·Wkᵀ)      (weights of headDimension values, the model's ε)
/// ```
///
/// The head width is set on its own (`head_dim`, `attention.key_length`; 128 in the
/// published models, whatever the hidden size). GGUF files (`general.architecture`
/// `qwen3`) keep the half-split Q/K row order.
public final class Qwen3Model: ModelArchitecture {
    public static let ggufName = "qwen3"
    public static let huggingFaceNames = ["Qwen3ForCausalLM"]
    /// Qwen's chat models use ChatML; a file that names no template gets it.
    public static let defaultChatTemplate: ChatTemplate? = .chatml

    /// The decoder, with Qwen 3's weight names and settings.
    public let decoder: LlamaModel
    public var configuration: ModelConfiguration { decoder.configuration }
    public var backend: any Backend { decoder.backend }

    public init(gguf file: GGUFFile, backend: any Backend) throws {
        let names = LlamaModel.WeightNames.gguf(
            biases: file.tensorInfo(named: "blk.0.attn_q.bias") != nil,
            outputBias: file.tensorInfo(named: "blk.0.attn_output.bias") != nil, queryKeyNorms: true)
        decoder = try LlamaModel(
            configuration: LlamaModel.configuration(gguf: file, ropeLayout: .halfSplit), weights: file, names: names,
            backend: backend)
    }

    public init(huggingFace config: HuggingFaceConfig, weights: any WeightSource, backend: any Backend) throws {
        let biases = config.attentionBias ?? false
        decoder = try LlamaModel(
            configuration: LlamaModel.configuration(huggingFace: config), weights: weights,
            names: .huggingFace(biases: biases, outputBias: biases, queryKeyNorms: true), backend: backend)
    }

    public func makeState(context: Int, batchCapacity: Int, cacheType: ElementType) throws -> InferenceState {
        try decoder.makeState(context: context, batchCapacity: batchCapacity, cacheType: cacheType)
    }

    public func forward(_ tokens: [Int], state: InferenceState, allLogits: Tensor?) throws {
        try decoder.forward(tokens, state: state, allLogits: allLogits)
    }

    public func forward(_ batch: ForwardBatch) throws {
        try decoder.forward(batch)
    }
}
