/// A message of a chat.
public struct ChatMessage: Sendable, Equatable, Codable {
    public enum Role: String, Sendable, Codable, CaseIterable {
        case system, user, assistant
    }

    public var role: Role
    public var content: String

    public init(role: Role, content: String) {
        self.role = role
        self.content = content
    }

    public static func system(_ content: String) -> ChatMessage { ChatMessage(role: .system, content: content) }
    public static func user(_ content: String) -> ChatMessage { ChatMessage(role: .user, content: content) }
    public static func assistant(_ content: String) -> ChatMessage { ChatMessage(role: .assistant, content: content) }
}

/// The prompt formats chat models were trained on. A template renders messages into
/// text that contains the special tokens as text (`<s>`, `<|im_start|>`); encode it
/// with ``EncodingOptions/parseSpecialTokens`` on and without adding BOS (the
/// template writes it where the model expects it) — ``encode(_:with:)`` does both.
///
/// Rendering follows the models' published Jinja templates, which this library
/// recognises (``init(recognizing:)``) rather than evaluates.
public enum ChatTemplate: String, Sendable, CaseIterable {
    /// Llama 2 chat: `<s>[INST] <<SYS>>\n{system}\n<</SYS>>\n\n{user} [/INST] {assistant} </s>`.
    case llama2
    /// ChatML (Yi-chat, Qwen and many others): `<|im_start|>{role}\n{content}<|im_end|>\n`.
    case chatml
    /// Mistral instruct: `<s>[INST] {user} [/INST]{assistant}</s>`, the system message
    /// before the first user message.
    case mistral
    /// Gemma: `<bos><start_of_turn>user\n{content}<end_of_turn>\n<start_of_turn>model\n`,
    /// the system message before the first user message (Gemma has no system role).
    case gemma

    /// Recognises a Jinja chat template (GGUF `tokenizer.chat_template`,
    /// `tokenizer_config.json` `chat_template`) by the markers it writes. Returns `nil`
    /// for a template it does not recognise: ask the user to choose one by name.
    public init?(recognizing template: String) {
        if template.contains("<start_of_turn>") {
            self = .gemma
        } else if template.contains("<|im_start|>") {
            self = .chatml
        } else if template.contains("[INST]") && template.contains("<<SYS>>") {
            self = .llama2
        } else if template.contains("[INST]") {
            self = .mistral
        } else {
            return nil
        }
    }

    /// The template named `name` (`llama2`, `chatml`, `mistral`, `gemma`), or an error
    /// listing the names.
    public static func named(_ name: String) throws -> ChatTemplate {
        guard let template = ChatTemplate(rawValue: name.lowercased()) else {
            throw TokenizerError(
                .unknownTemplate, "unknown chat template '\(name)'; choose one of \(allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return template
    }

    /// The prompt for `messages`. With `addGenerationPrompt`, it ends where the
    /// assistant's reply begins.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool = true) -> String {
        var system: String? = nil
        var turns = messages
        if let first = turns.first, first.role == .system {
            system = first.content
            turns.removeFirst()
        }
        var text = ""
        switch self {
        case .llama2:
            var pendingSystem = system
            for message in turns {
                switch message.role {
                case .user:
                    var content = message.content
                    if let prefix = pendingSystem {
                        content = "<<SYS>>\n\(prefix)\n<</SYS>>\n\n" + content
                        pendingSystem = nil
                    }
                    text += "<s>[INST] \(content.trimmingWhitespace()) [/INST]"
                case .assistant:
                    text += " \(message.content.trimmingWhitespace()) </s>"
                case .system:
                    text += "<s>[INST] <<SYS>>\n\(message.content)\n<</SYS>>\n\n [/INST]"
                }
            }
        case .chatml:
            if let system { text += "<|im_start|>system\n\(system)<|im_end|>\n" }
            for message in turns { text += "<|im_start|>\(message.role.rawValue)\n\(message.content)<|im_end|>\n" }
            if addGenerationPrompt { text += "<|im_start|>assistant\n" }
        case .mistral:
            text += "<s>"
            var pendingSystem = system
            for message in turns {
                switch message.role {
                case .user, .system:
                    var content = message.content
                    if let prefix = pendingSystem {
                        content = prefix + "\n\n" + content
                        pendingSystem = nil
                    }
                    text += "[INST] \(content) [/INST]"
                case .assistant:
                    text += "\(message.content)</s>"
                }
            }
        case .gemma:
            text += "<bos>"
            var pendingSystem = system
            for message in turns {
                let role = message.role == .assistant ? "model" : "user"
                var content = message.content
                if let prefix = pendingSystem, message.role == .user {
                    content = prefix + "\n\n" + content
                    pendingSystem = nil
                }
                text += "<start_of_turn>\(role)\n\(content.trimmingWhitespace())<end_of_turn>\n"
            }
            if addGenerationPrompt { text += "<start_of_turn>model\n" }
        }
        return text
    }

    /// The ids of the prompt for `messages`: rendered, then encoded with special
    /// tokens recognised and no BOS added (the template writes it).
    public func encode(_ messages: [ChatMessage], with tokenizer: any Tokenizer, addGenerationPrompt: Bool = true) -> [Int] {
        var ids = tokenizer.encode(
            render(messages, addGenerationPrompt: addGenerationPrompt),
            options: EncodingOptions(addBOS: false, addEOS: false, parseSpecialTokens: true))
        // A template that writes no BOS text (ChatML) still needs the model's BOS.
        if rendersBOS == false, tokenizer.addsBOSByDefault, let bos = tokenizer.specialTokens.bos, ids.first != bos {
            ids.insert(bos, at: 0)
        }
        return ids
    }

    /// Whether the rendered text starts with the BOS token's text.
    var rendersBOS: Bool { self != .chatml }
}

extension String {
    /// The string without leading and trailing whitespace (the templates' `| trim`).
    func trimmingWhitespace() -> String {
        var scalars = Substring(self).unicodeScalars[...]
        while let first = scalars.first, first.properties.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.properties.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
