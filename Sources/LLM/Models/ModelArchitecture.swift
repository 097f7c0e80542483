import ModelFormats
import TensorCore
import Tokenizers

/// A model architecture: how its configuration is read from a GGUF file and a Hugging
/// Face `config.json`, which tensors it needs, and its forward pass.
///
/// Each architecture is one type in one file (``LlamaModel``, ``Gemma3Model``) and one
/// line in ``ModelArchitectures/builtIn``; ``ModelLoader`` picks it by the file's
/// `general.architecture` (GGUF) or `architectures[0]` (`config.json`). The article
/// "Adding a model architecture" in the LLM documentation walks through a new one.
public protocol ModelArchitecture: TransformerModel {
    /// The `general.architecture` value of the GGUF files of this architecture (`llama`).
    static var ggufName: String { get }
    /// The `architectures` values of `config.json` files of this architecture
    /// (`LlamaForCausalLM`, …); empty when Hugging Face checkpoints are not read.
    static var huggingFaceNames: [String] { get }
    /// The chat template to use when the file names none (Gemma's turn markup for
    /// Gemma 3), or `nil`.
    static var defaultChatTemplate: ChatTemplate? { get }

    /// Builds the model from a GGUF file: its configuration from the metadata, its
    /// weights from the tensors, each checked against the configuration.
    init(gguf file: GGUFFile, backend: any Backend) throws

    /// Builds the model from a Hugging Face checkpoint: its configuration from
    /// `config.json`, its weights from the safetensors files.
    init(huggingFace config: HuggingFaceConfig, weights: any WeightSource, backend: any Backend) throws
}

extension ModelArchitecture {
    public static var huggingFaceNames: [String] { [] }
    public static var defaultChatTemplate: ChatTemplate? { nil }

    public init(huggingFace config: HuggingFaceConfig, weights: any WeightSource, backend: any Backend) throws {
        throw ModelError.unsupportedModel(
            file: weights.path, reason: "\(Self.ggufName) models are read from GGUF files only, not Hugging Face checkpoints")
    }

    /// Builds the model from a GGUF file, for a caller that holds the architecture as
    /// `any ModelArchitecture.Type` (``ModelArchitectures/gguf(_:in:)``).
    public static func model(gguf file: GGUFFile, backend: any Backend) throws -> any TransformerModel {
        try Self(gguf: file, backend: backend)
    }

    /// Builds the model from a Hugging Face checkpoint, for a caller that holds the
    /// architecture as `any ModelArchitecture.Type`.
    public static func model(huggingFace config: HuggingFaceConfig, weights: any WeightSource, backend: any Backend) throws
        -> any TransformerModel
    {
        try Self(huggingFace: config, weights: weights, backend: backend)
    }
}

/// The architectures ``ModelLoader`` knows, looked up by the names files give them.
public enum ModelArchitectures {
    /// The architectures of this library, one line each.
    public static let builtIn: [any ModelArchitecture.Type] = [
        LlamaModel.self,
        Gemma3Model.self,
        Qwen2Model.self,
        Qwen3Model.self,
    ]

    /// The architecture of GGUF files whose `general.architecture` is `name`, among
    /// `architectures`.
    public static func gguf(_ name: String, in architectures: [any ModelArchitecture.Type] = builtIn)
        -> (any ModelArchitecture.Type)?
    {
        architectures.first { $0.ggufName == name }
    }

    /// The architecture of a `config.json` whose `architectures[0]` is `name`, among
    /// `architectures`.
    public static func huggingFace(_ name: String, in architectures: [any ModelArchitecture.Type] = builtIn)
        -> (any ModelArchitecture.Type)?
    {
        architectures.first { $0.huggingFaceNames.contains(name) }
    }
}
