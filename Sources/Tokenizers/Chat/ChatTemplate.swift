import Foundation

/// A message of a chat, in the shape of OpenAI's chat API (and of the `messages`
/// that chat templates read): a role, text, and for an assistant's reply the tools it
/// called, for a tool's answer the call it answers.
///
/// Its `Codable` form is OpenAI's: `{"role", "content", "tool_calls": [{"id",
/// "type": "function", "function": {"name", "arguments"}}], "tool_call_id", "name"}`,
/// with `arguments` a JSON text.
public struct ChatMessage: Sendable, Equatable, Codable {
    public enum Role: String, Sendable, Codable, CaseIterable {
        case system, user, assistant
        /// The answer of a tool the assistant called.
        case tool
    }

    public var role: Role
    public var content: String
    /// The tools an assistant's message calls, in order.
    public var toolCalls: [ToolCall]
    /// For a tool's answer, the ``ToolCall/id`` of the call it answers.
    public var toolCallID: String?
    /// For a tool's answer, the tool's name (some templates print it).
    public var name: String?

    public init(role: Role, content: String, toolCalls: [ToolCall] = [], toolCallID: String? = nil, name: String? = nil) {
        self.role = role
        self.content = content
        self.toolCalls = toolCalls
        self.toolCallID = toolCallID
        self.name = name
    }

    public static func system(_ content: String) -> ChatMessage { ChatMessage(role: .system, content: content) }
    public static func user(_ content: String) -> ChatMessage { ChatMessage(role: .user, content: content) }
    public static func assistant(_ content: String, toolCalls: [ToolCall] = []) -> ChatMessage {
        ChatMessage(role: .assistant, content: content, toolCalls: toolCalls)
    }
    /// A tool's answer to the call `id` (OpenAI's `tool` message).
    public static func tool(_ content: String, callID: String? = nil, name: String? = nil) -> ChatMessage {
        ChatMessage(role: .tool, content: content, toolCallID: callID, name: name)
    }

    /// One part of a content given as a list.
    private struct ContentPart: Decodable {
        var type: String
        var text: String?
    }

    private enum CodingKeys: String, CodingKey {
        case role, content, name
        case toolCalls = "tool_calls"
        case toolCallID = "tool_call_id"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        role = try container.decode(Role.self, forKey: .role)
        // OpenAI's content is a string or a list of parts; text parts are joined.
        if let parts = try? container.decodeIfPresent([ContentPart].self, forKey: .content) {
            content = try parts.map { part in
                guard part.type == "text", let text = part.text else {
                    throw DecodingError.dataCorruptedError(
                        forKey: .content, in: container, debugDescription: "a content part of type '\(part.type)'; only 'text' is supported")
                }
                return text
            }.joined()
        } else {
            content = try container.decodeIfPresent(String.self, forKey: .content) ?? ""
        }
        toolCalls = try container.decodeIfPresent([ToolCall].self, forKey: .toolCalls) ?? []
        toolCallID = try container.decodeIfPresent(String.self, forKey: .toolCallID)
        name = try container.decodeIfPresent(String.self, forKey: .name)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(role, forKey: .role)
        try container.encode(content, forKey: .content)
        if !toolCalls.isEmpty { try container.encode(toolCalls, forKey: .toolCalls) }
        try container.encodeIfPresent(toolCallID, forKey: .toolCallID)
        try container.encodeIfPresent(name, forKey: .name)
    }
}

/// A call of a tool in an assistant's message: the function's name and its arguments
/// as a JSON text (an object), as OpenAI's chat API carries them.
public struct ToolCall: Sendable, Equatable, Codable {
    /// The call's identifier, which the tool's answer names (``ChatMessage/toolCallID``).
    public var id: String?
    public var name: String
    /// The arguments, a JSON object as text (`{"city": "Paris"}`).
    public var arguments: String

    public init(id: String? = nil, name: String, arguments: String) {
        self.id = id
        self.name = name
        self.arguments = arguments
    }

    /// The arguments decoded as `type` (a `Decodable` struct of the tool's parameters).
    public func decodeArguments<T: Decodable>(as type: T.Type = T.self) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(arguments.utf8))
    }

    private enum CodingKeys: String, CodingKey { case id, type, function }
    private enum FunctionKeys: String, CodingKey { case name, arguments }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decodeIfPresent(String.self, forKey: .id)
        if let type = try container.decodeIfPresent(String.self, forKey: .type), type != "function" {
            throw DecodingError.dataCorruptedError(forKey: .type, in: container, debugDescription: "a tool call of type '\(type)'; only 'function' is known")
        }
        let function = try container.nestedContainer(keyedBy: FunctionKeys.self, forKey: .function)
        name = try function.decode(String.self, forKey: .name)
        arguments = try function.decodeIfPresent(String.self, forKey: .arguments) ?? "{}"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(id, forKey: .id)
        try container.encode("function", forKey: .type)
        var function = container.nestedContainer(keyedBy: FunctionKeys.self, forKey: .function)
        try function.encode(name, forKey: .name)
        try function.encode(arguments, forKey: .arguments)
    }
}

/// The prompt formats chat models were trained on. A template renders messages into
/// text that contains the special tokens as text (`<s>`, `<|im_start|>`); encode it
/// with ``EncodingOptions/parseSpecialTokens`` on and without adding BOS (the
/// template writes it where the model expects it) — ``encode(_:with:addGenerationPrompt:)`` does both.
///
/// Rendering follows the models' published Jinja templates. These are the fallback for
/// model files without a template of their own (the LLM library's `ChatFormat` evaluates a
/// file's template with the Jinja library). They write no tool definitions or calls; a
/// tool's answer is written as a user turn (ChatML: a `tool` turn).
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
        segments(messages, addGenerationPrompt: addGenerationPrompt).map(\.text).joined()
    }

    /// The prompt for `messages` as the template's markup (which may spell special
    /// tokens) and the messages' text (which never becomes special tokens), in order;
    /// their concatenation is ``render(_:addGenerationPrompt:)``.
    public func segments(_ messages: [ChatMessage], addGenerationPrompt: Bool = true) -> [TextSegment] {
        var system: String? = nil
        var turns = messages
        if let first = turns.first, first.role == .system {
            system = first.content
            turns.removeFirst()
        }
        var out: [TextSegment] = []
        func markup(_ text: String) { out.append(TextSegment(text, parsesSpecialTokens: true)) }
        func content(_ text: String) { out.append(TextSegment(text, parsesSpecialTokens: false)) }
        func trimmed(_ parts: [TextSegment]) { out += TextSegment.trimmingWhitespace(parts) }
        let text = { (message: String) in TextSegment(message, parsesSpecialTokens: false) }
        let tag = { (markup: String) in TextSegment(markup, parsesSpecialTokens: true) }
        switch self {
        case .llama2:
            var pendingSystem = system
            for message in turns {
                switch message.role {
                case .user, .tool:
                    var parts = [text(message.content)]
                    if let prefix = pendingSystem {
                        parts = [tag("<<SYS>>\n"), text(prefix), tag("\n<</SYS>>\n\n")] + parts
                        pendingSystem = nil
                    }
                    markup("<s>[INST] ")
                    trimmed(parts)
                    markup(" [/INST]")
                case .assistant:
                    markup(" ")
                    trimmed([text(message.content)])
                    markup(" </s>")
                case .system:
                    markup("<s>[INST] <<SYS>>\n")
                    content(message.content)
                    markup("\n<</SYS>>\n\n [/INST]")
                }
            }
        case .chatml:
            if let system {
                markup("<|im_start|>system\n")
                content(system)
                markup("<|im_end|>\n")
            }
            for message in turns {
                markup("<|im_start|>\(message.role.rawValue)\n")
                content(message.content)
                markup("<|im_end|>\n")
            }
            if addGenerationPrompt { markup("<|im_start|>assistant\n") }
        case .mistral:
            markup("<s>")
            var pendingSystem = system
            for message in turns {
                switch message.role {
                case .user, .system, .tool:
                    markup("[INST] ")
                    if let prefix = pendingSystem {
                        content(prefix)
                        markup("\n\n")
                        pendingSystem = nil
                    }
                    content(message.content)
                    markup(" [/INST]")
                case .assistant:
                    content(message.content)
                    markup("</s>")
                }
            }
        case .gemma:
            markup("<bos>")
            var pendingSystem = system
            for message in turns {
                let role = message.role == .assistant ? "model" : "user"
                var parts = [text(message.content)]
                if let prefix = pendingSystem, message.role != .assistant {
                    parts = [text(prefix), tag("\n\n")] + parts
                    pendingSystem = nil
                }
                markup("<start_of_turn>\(role)\n")
                trimmed(parts)
                markup("<end_of_turn>\n")
            }
            if addGenerationPrompt { markup("<start_of_turn>model\n") }
        }
        return out.filter { !$0.text.isEmpty }
    }

    /// The ids of the prompt for `messages`: the template's markup with special tokens
    /// recognised, the messages' text as plain text (a message that spells
    /// `<end_of_turn>` cannot end its turn), and no BOS added (the template writes it).
    public func encode(_ messages: [ChatMessage], with tokenizer: any Tokenizer, addGenerationPrompt: Bool = true) -> [Int] {
        var ids = tokenizer.encode(
            segments(messages, addGenerationPrompt: addGenerationPrompt), options: EncodingOptions(addBOS: false, addEOS: false))
        // A template that writes no BOS text (ChatML) still needs the model's BOS.
        if rendersBOS == false, tokenizer.addsBOSByDefault, let bos = tokenizer.specialTokens.bos, ids.first != bos {
            ids.insert(bos, at: 0)
        }
        return ids
    }

    /// Whether the rendered text starts with the BOS token's text.
    var rendersBOS: Bool { self != .chatml }
}

extension TextSegment {
    /// `parts` without leading whitespace at the start of the first and trailing
    /// whitespace at the end of the last, across segment boundaries: the `| trim` of
    /// the templates applied to their concatenation.
    static func trimmingWhitespace(_ parts: [TextSegment]) -> [TextSegment] {
        var parts = parts
        var index = 0
        while index < parts.count {
            var scalars = Substring(parts[index].text).unicodeScalars[...]
            while let first = scalars.first, first.properties.isWhitespace { scalars.removeFirst() }
            parts[index].text = String(scalars)
            if !scalars.isEmpty { break }
            index += 1
        }
        index = parts.count - 1
        while index >= 0 {
            var scalars = Substring(parts[index].text).unicodeScalars[...]
            while let last = scalars.last, last.properties.isWhitespace { scalars.removeLast() }
            parts[index].text = String(scalars)
            if !scalars.isEmpty { break }
            index -= 1
        }
        return parts
    }
}
