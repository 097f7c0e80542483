import Foundation
import Jinja
import Tokenizers

extension LanguageModel {
    /// The file's own chat template (`tokenizer.chat_template`, `chat_template`), parsed,
    /// or `nil` when the file carries none. A template that does not parse is an error
    /// naming its line.
    public func jinjaChatTemplate() throws -> JinjaTemplate? {
        guard let chatTemplateSource else { return nil }
        return try JinjaTemplate(chatTemplateSource)
    }

    /// The prompt tokens of a conversation rendered by the file's own Jinja chat
    /// template, as transformers' `apply_chat_template` renders it (`messages`,
    /// `add_generation_prompt`, `bos_token` and `eos_token` from the vocabulary) and
    /// tokenizes it (no BOS added beyond what the template writes), or `nil` when the file
    /// carries no template.
    ///
    /// Message text is data: the markup the template writes may hold special tokens
    /// (`<|im_start|>`), the messages' contents never become them. Each content is found
    /// verbatim in the rendering, after the previous one, and tokenized without special
    /// tokens; a template that changes a content (trims it, splits it) so that it cannot
    /// be found is refused when that content spells a special token, since it could not
    /// be kept as text.
    public func chatPromptTokens(_ messages: [ChatMessage], addGenerationPrompt: Bool = true, now: Date = Date()) throws -> [Int]? {
        guard let template = try jinjaChatTemplate() else { return nil }
        let tokenizer = try requireTokenizer()
        func text(_ id: Int?) -> Value { .string(id.flatMap { tokenizer.piece(for: $0) } ?? "") }
        let list = Value.list(messages.map { .dict(Value.Dictionary([("role", .string($0.role.rawValue)), ("content", .string($0.content))])) })
        let rendered = try template.render(
            [
                "messages": list, "add_generation_prompt": .bool(addGenerationPrompt),
                "bos_token": text(tokenizer.specialTokens.bos), "eos_token": text(tokenizer.specialTokens.eos),
            ], now: now)
        var segments: [TextSegment] = []
        var rest = rendered[...]
        for message in messages where !message.content.isEmpty {
            guard let range = rest.range(of: message.content) else {
                let spelled = tokenizer.encode(message.content, options: EncodingOptions(addBOS: false, addEOS: false, parseSpecialTokens: true))
                if spelled.contains(where: tokenizer.isControl) {
                    throw ModelError.unsupportedModel(
                        file: name,
                        reason: "the chat template changes a message that spells a special token, so the message cannot be kept as text")
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
}
