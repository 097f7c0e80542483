import ModelFormats
import TensorCore
import Tokenizers

/// Qwen 2 and Qwen 2.5: the ``LlamaModel`` decoder with biases on the Q, K and V
/// projections (none on the output projection), as transformers' `Qwen2ForCausalLM`
/// and llama.cpp's qwen2 graph compute it:
///
/// ```
/// q = x·Wqᵀ + bq, k = x·Wkᵀ + bk, v = x·Wvᵀ + bv
/// ```
///
/// GGUF files (`general.architecture` `qwen2`) keep Hugging Face's half-split Q/K row
/// order (llama.cpp runs them with NEOX RoPE), so RoPE pairs `(i, i + d/2)` for both
/// kinds of file. The small models tie the output projection to the embedding.
public final class Qwen2Model: ModelArchitecture {
    public static let ggufName = "qwen2"
    public static let huggingFaceNames = ["Qwen2ForCausalLM"]
    /// Qwen's chat models use ChatML; a file that names no template gets it.
    public static let defaultChatTemplate: ChatTemplate? = .chatml

    /// The decoder, with Qwen 2's weight names and settings.
    public let decoder: LlamaModel
    public var configuration: ModelConfiguration { decoder.configuration }
    public var backend: any Backend { decoder.backend }

    public init(gguf file: GGUFFile, backend: any Backend) throws {
        decoder = try LlamaModel(
            configuration: LlamaModel.configuration(gguf: file, ropeLayout: .halfSplit), weights: file,
            names: .gguf(biases: true), backend: backend)
    }

    public init(huggingFace config: HuggingFaceConfig, weights: any WeightSource, backend: any Backend) throws {
        struct Keys: Decodable {
            var useSlidingWindow: Bool?
            enum CodingKeys: String, CodingKey { case useSlidingWindow = "use_sliding_window" }
        }
        // Published Qwen 2/2.5 checkpoints turn it off; with it on, transformers gives
        // the upper layers a sliding window this model does not apply.
        if try config.decode(Keys.self).useSlidingWindow == true {
            throw ModelError.unsupportedModel(file: config.file, reason: "use_sliding_window = true is not supported for Qwen 2")
        }
        decoder = try LlamaModel(
            configuration: LlamaModel.configuration(huggingFace: config), weights: weights,
            names: .huggingFace(biases: true), backend: backend)
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
