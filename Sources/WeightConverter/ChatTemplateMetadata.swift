import Foundation
import ModelFormats

/// The chat templates of a Hugging Face folder, read as gguf-py's `SpecialVocab` reads
/// them and written as its `GGUFWriter.add_chat_template` writes them: the default as
/// `tokenizer.chat_template`, each other named template (Hermes' `tool_use`, say) as
/// `tokenizer.chat_template.NAME` with their names in `tokenizer.chat_templates`.
struct ChatTemplateMetadata {
    /// The template written as `tokenizer.chat_template`.
    var defaultTemplate: String?
    /// The other named templates, in the file's order; a name's characters other than
    /// ASCII letters and digits become `_`.
    var named: [(name: String, template: String)] = []

    /// The templates of `folder`, when it has a `tokenizer_config.json` (gguf-py reads
    /// none without one): its `chat_template` (a text, or a list of `{"name",
    /// "template"}`); without that key, `chat_template.jinja` (with
    /// `additional_chat_templates/*.jinja` as named ones) or `chat_template.json`.
    static func read(folder: URL, tokenizerConfig: [String: Any]?) throws -> ChatTemplateMetadata? {
        guard let tokenizerConfig, !tokenizerConfig.isEmpty else { return nil }
        if let value = tokenizerConfig["chat_template"] { return ChatTemplateMetadata(value) }
        let jinja = folder.appendingPathComponent("chat_template.jinja")
        if FileManager.default.fileExists(atPath: jinja.path) {
            var metadata = ChatTemplateMetadata(defaultTemplate: try text(jinja))
            let extra = folder.appendingPathComponent("additional_chat_templates")
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: extra.path)) ?? []).filter { $0.hasSuffix(".jinja") }.sorted()
            for name in names {
                metadata.named.append((sanitized(String(name.dropLast(".jinja".count))), try text(extra.appendingPathComponent(name))))
            }
            return metadata
        }
        let json = folder.appendingPathComponent("chat_template.json")
        guard FileManager.default.fileExists(atPath: json.path) else { return nil }
        guard let object = try? JSONSerialization.jsonObject(with: FileBytes.readRegularFile(json)) as? [String: Any] else {
            throw ConversionError.invalidInput(file: json.path, problem: "is not a JSON object")
        }
        return object["chat_template"].flatMap(ChatTemplateMetadata.init)
    }

    init(defaultTemplate: String?) { self.defaultTemplate = defaultTemplate }

    /// A `chat_template` value: a text, or a list of `{"name", "template"}` (entries
    /// without both are skipped); `nil` for anything else, which gguf-py ignores.
    init?(_ value: Any) {
        if let text = value as? String {
            defaultTemplate = text
            return
        }
        guard let list = value as? [[String: Any]] else { return nil }
        for choice in list {
            let name = Self.sanitized(choice["name"] as? String ?? "")
            guard !name.isEmpty, let template = choice["template"] as? String else { continue }
            if name == "default" { defaultTemplate = template } else if !named.contains(where: { $0.name == name }) { named.append((name, template)) }
        }
    }

    static func sanitized(_ name: String) -> String {
        String(name.map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" })
    }

    static func text(_ url: URL) throws -> String {
        guard let text = String(data: try FileBytes.readRegularFile(url), encoding: .utf8) else {
            throw ConversionError.invalidInput(file: url.path, problem: "is not UTF-8 text")
        }
        return text
    }

    func write(to writer: inout GGUFWriter) {
        for (name, template) in named { writer.set("tokenizer.chat_template.\(name)", .string(template)) }
        if !named.isEmpty { writer.set("tokenizer.chat_templates", .array(.string(named.map(\.name)))) }
        if let defaultTemplate { writer.set("tokenizer.chat_template", .string(defaultTemplate)) }
    }
}
