import TensorCore
import Tokenizers

/// A loaded model with its tokenizer: the object an application keeps.
///
/// It is immutable and `Sendable`: several tasks may generate with it at the same
/// time, each call working on a sequence state of its own. A ``ChatSession`` keeps a
/// conversation's state between turns.
///
/// ```swift
/// let model = try ModelLoader.load(from: url, backend: backend)
/// for try await event in model.generate(prompt: "The capital of France is") {
///     if case let .chunk(text) = event { print(text, terminator: "") }
/// }
/// ```
public final class LanguageModel: Sendable {
    public let model: any TransformerModel
    /// The tokenizer, or `nil` for a model without a vocabulary (give prompts as ids).
    public let tokenizer: (any Tokenizer)?
    /// The chat template the file names (a Jinja source), if any.
    public let chatTemplateSource: String?
    /// The file's template for conversations with tools, where it has one apart from
    /// ``chatTemplateSource`` (GGUF `tokenizer.chat_template.tool_use`; the template named
    /// `tool_use` of a Hugging Face folder), as Hermes 2 Pro and Hermes 3 have.
    public let toolUseChatTemplateSource: String?
    /// A name for messages and benchmark tables.
    public let name: String

    public init(
        model: any TransformerModel, tokenizer: (any Tokenizer)?, chatTemplateSource: String?, toolUseChatTemplateSource: String? = nil,
        name: String
    ) {
        self.model = model
        self.tokenizer = tokenizer
        self.chatTemplateSource = chatTemplateSource
        self.toolUseChatTemplateSource = toolUseChatTemplateSource
        self.name = name
    }

    public var configuration: ModelConfiguration { model.configuration }
    public var backend: any Backend { model.backend }

    /// The built-in template the file's chat template is recognised as; for a file
    /// that names none, its architecture's default (``ModelArchitecture/defaultChatTemplate``).
    public var chatTemplate: ChatTemplate? {
        if let recognised = chatTemplateSource.flatMap(ChatTemplate.init(recognizing:)) { return recognised }
        guard chatTemplateSource == nil, let architecture = type(of: model) as? any ModelArchitecture.Type else { return nil }
        return architecture.defaultChatTemplate
    }

    /// Whether the file carries a chat template of its own (`tokenizer.chat_template`,
    /// `chat_template` in `tokenizer_config.json`). Chat and instruction-tuned models
    /// ship one; a file without one is most likely a base model, which continues text
    /// rather than answering, even when an architecture's default template
    /// (``chatTemplate``) wraps the messages.
    public var hasOwnChatTemplate: Bool { chatTemplateSource != nil }

    /// The tokenizer, or an error saying the model has none.
    public func requireTokenizer() throws -> any Tokenizer {
        guard let tokenizer else {
            throw ModelError.unsupportedModel(file: name, reason: "has no tokenizer; give one, or give the prompt as token ids")
        }
        return tokenizer
    }

    /// The context to use: `requested`, or the trained context capped at 4,096; never
    /// more than the trained context unless RoPE scaling is set.
    public func resolveContext(_ requested: Int?) throws -> Int {
        let trained = configuration.contextLength
        guard let requested else { return min(trained, 4096) }
        guard requested > 0 else { throw ModelError.invalidParameter(name: "context", value: "\(requested)", reason: "must be positive")  }
        let limit = configuration.ropeScale > 1 ? Int(Float(trained) * configuration.ropeScale) : trained
        guard requested <= limit else { throw ModelError.contextTooLong(requested: requested, trained: limit) }
        return requested
    }
}
