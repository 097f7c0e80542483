import Foundation
import Jinja
import Tokenizers

/// How a conversation becomes the prompt's tokens: the model file's own Jinja chat
/// template, or, for a file without one, a built-in format.
///
/// ```swift
/// let format = try model.chatFormat()
/// let ids = try format.promptTokens(for: [.user("Hi!")], tokenizer: model.requireTokenizer())
/// ```
public struct ChatFormat: Sendable, CustomStringConvertible {
    enum Kind: Sendable {
        case template(JinjaTemplate, source: String)
        case builtIn(ChatTemplate)
    }

    let kind: Kind
    /// How tool calls are written in the model's replies, recognised from the template.
    public let toolCallFormat: ToolCallFormat

    /// A Jinja chat template (`tokenizer.chat_template`, `chat_template`, a
    /// `.jinja` file); one that does not parse is an error naming its line.
    public init(templateSource: String) throws {
        kind = .template(try JinjaTemplate(templateSource), source: templateSource)
        toolCallFormat = ToolCallFormat(recognizing: templateSource)
    }

    /// One of the built-in formats, which write no tool definitions or calls.
    public init(builtIn template: ChatTemplate) {
        kind = .builtIn(template)
        toolCallFormat = .generic
    }

    /// The built-in format, or `nil` for a Jinja template.
    public var builtIn: ChatTemplate? {
        if case let .builtIn(template) = kind { return template }
        return nil
    }

    /// "the file's Jinja template" or "the built-in chatml format".
    public var description: String {
        switch kind {
        case .template: return "the Jinja chat template"
        case let .builtIn(template): return "the built-in \(template.rawValue) format"
        }
    }

    /// The prompt as text, as transformers' `apply_chat_template(…, tokenize=False)`
    /// renders it: `messages` in OpenAI's form (a tool call's arguments as an object, and
    /// the content of a message that only calls tools `""`, as llama.cpp's server passes
    /// them), `tools` when there are any,
    /// `add_generation_prompt`, and `bos_token` / `eos_token`.
    public func render(
        _ messages: [ChatMessage], tools: [ToolDefinition] = [], addGenerationPrompt: Bool = true,
        bosToken: String = "", eosToken: String = "", now: Date = Date()
    ) throws -> String {
        switch kind {
        case let .builtIn(template):
            return template.render(messages, addGenerationPrompt: addGenerationPrompt)
        case let .template(template, _):
            var variables: [String: Value] = [
                "messages": .list(try messages.map(Self.value)), "add_generation_prompt": .bool(addGenerationPrompt),
                "bos_token": .string(bosToken), "eos_token": .string(eosToken),
            ]
            if !tools.isEmpty { variables["tools"] = .list(try tools.map { try $0.value() }) }
            return try template.render(variables, now: now)
        }
    }

    /// The prompt's ids. The markup the format writes may hold special tokens
    /// (`<|im_start|>`); the messages' text never becomes them.
    ///
    /// A Jinja template renders as ``render(_:tools:addGenerationPrompt:bosToken:eosToken:now:)``
    /// with the vocabulary's BOS and EOS text, and is tokenized without adding BOS (the
    /// template writes it where the model wants it). Each message's content is found
    /// verbatim in the rendering, after the previous one, and tokenized without special
    /// tokens; a template that changes a content (trims or splits it) so that it cannot
    /// be found is refused when that content spells a special token, since it could not
    /// be kept as text.
    public func promptTokens(
        for messages: [ChatMessage], tools: [ToolDefinition] = [], addGenerationPrompt: Bool = true,
        tokenizer: any Tokenizer, now: Date = Date()
    ) throws -> [Int] {
        if case let .builtIn(template) = kind {
            return template.encode(messages, with: tokenizer, addGenerationPrompt: addGenerationPrompt)
        }
        func text(_ id: Int?) -> String { id.flatMap { tokenizer.piece(for: $0) } ?? "" }
        let rendered = try render(
            messages, tools: tools, addGenerationPrompt: addGenerationPrompt,
            bosToken: text(tokenizer.specialTokens.bos), eosToken: text(tokenizer.specialTokens.eos), now: now)
        var segments: [TextSegment] = []
        var rest = rendered[...]
        for message in messages where !message.content.isEmpty {
            guard let range = rest.range(of: message.content) else {
                let spelled = tokenizer.encode(message.content, options: EncodingOptions(addBOS: false, addEOS: false, parseSpecialTokens: true))
                if spelled.contains(where: tokenizer.isControl) {
                    throw ChatFormatError(
                        "the chat template changes a \(message.role.rawValue) message that spells a special token, so the message cannot be kept as text")
                }
                continue
            }
            segments.append(TextSegment(String(rest[..<range.lowerBound]), parsesSpecialTokens: true))
            segments.append(TextSegment(String(rest[range]), parsesSpecialTokens: false))
            rest = rest[range.upperBound...]
        }
        segments.append(TextSegment(String(rest), parsesSpecialTokens: true))
        return tokenizer.encode(segments, options: EncodingOptions(addBOS: false, addEOS: false))
    }

    /// A message as the templates read it: OpenAI's chat-message object.
    static func value(_ message: ChatMessage) throws -> Value {
        var pairs: [(String, Value)] = [("role", .string(message.role.rawValue))]
        pairs.append(("content", .string(message.content)))
        if !message.toolCalls.isEmpty {
            pairs.append(("tool_calls", .list(message.toolCalls.map { call in
                var entry: [(String, Value)] = []
                if let id = call.id { entry.append(("id", .string(id))) }
                entry.append(("type", .string("function")))
                // Templates print the arguments with `tojson` or iterate over them: an
                // object, as llama.cpp's server passes them; text that is not JSON stays text.
                let arguments = (try? Value(json: Data(call.arguments.utf8))) ?? .string(call.arguments)
                entry.append(("function", .dict(Value.Dictionary([("name", .string(call.name)), ("arguments", arguments)]))))
                return .dict(Value.Dictionary(entry))
            })))
        }
        if let id = message.toolCallID { pairs.append(("tool_call_id", .string(id))) }
        if let name = message.name { pairs.append(("name", .string(name))) }
        return .dict(Value.Dictionary(pairs))
    }
}

/// A conversation the chat format cannot turn into a prompt.
public struct ChatFormatError: Error, CustomStringConvertible, Equatable {
    public let description: String
    init(_ description: String) { self.description = description }
}

extension LanguageModel {
    /// The file's own chat template (`tokenizer.chat_template`, `chat_template`), parsed,
    /// or `nil` when the file carries none. A template that does not parse is an error
    /// naming the file and the template's line.
    public func jinjaChatTemplate() throws -> JinjaTemplate? {
        guard let chatTemplateSource else { return nil }
        return try JinjaTemplate(chatTemplateSource)
    }

    /// How this model's conversations are written: the file's own Jinja template (with
    /// `tools`, its template for tools where it has one apart,
    /// ``toolUseChatTemplateSource``); for a file without one, the built-in format of its
    /// architecture; `nil` when there is neither.
    public func chatFormat(tools: Bool = false) throws -> ChatFormat? {
        if tools, let toolUse = try toolUseChatFormat() { return toolUse }
        if let own = try chatFormatFromFile() { return own }
        return chatTemplate.map(ChatFormat.init(builtIn:))
    }

    private func chatFormatFromFile() throws -> ChatFormat? {
        try parse(chatTemplateSource, "chat template")
    }

    /// The file's template for tools, when it has one apart (``toolUseChatTemplateSource``).
    func toolUseChatFormat() throws -> ChatFormat? {
        try parse(toolUseChatTemplateSource, "tool_use chat template")
    }

    private func parse(_ source: String?, _ what: String) throws -> ChatFormat? {
        guard let source else { return nil }
        do {
            return try ChatFormat(templateSource: source)
        } catch let error as JinjaError {
            throw ModelError.unsupportedModel(file: name, reason: "its \(what) does not parse: \(error)")
        }
    }

    /// The prompt tokens of a conversation rendered by the file's own Jinja chat
    /// template (see ``ChatFormat/promptTokens(for:tools:addGenerationPrompt:tokenizer:now:)``),
    /// or `nil` when the file carries no template.
    public func chatPromptTokens(
        _ messages: [ChatMessage], tools: [ToolDefinition] = [], addGenerationPrompt: Bool = true, now: Date = Date()
    ) throws -> [Int]? {
        guard let format = try chatFormatFromFile() else { return nil }
        return try format.promptTokens(
            for: messages, tools: tools, addGenerationPrompt: addGenerationPrompt, tokenizer: requireTokenizer(), now: now)
    }
}
