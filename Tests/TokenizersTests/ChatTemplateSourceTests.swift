import Foundation
import Testing
import TestSupport
import Tokenizers

/// Where a Hugging Face folder keeps its chat template: `chat_template.jinja` (newer
/// transformers), else `tokenizer_config.json`'s `chat_template`, a text or a list of
/// named templates.
struct ChatTemplateSourceTests {
    static func folder(config: String, jinja: String?) throws -> URL {
        let folder = try Fixtures.temporaryFolder()
        try FileManager.default.copyItem(
            at: Fixtures.url("models/qwen2-bias/tokenizer.json"), to: folder.appendingPathComponent("tokenizer.json"))
        try Data(config.utf8).write(to: folder.appendingPathComponent("tokenizer_config.json"))
        if let jinja { try Data(jinja.utf8).write(to: folder.appendingPathComponent("chat_template.jinja")) }
        return folder.appendingPathComponent("tokenizer.json")
    }

    @Test func theTemplateIsFoundWhereTransformersSavesIt() throws {
        let text = try HuggingFaceTokenizer(contentsOf: Self.folder(config: #"{"chat_template": "A"}"#, jinja: nil))
        #expect(text.chatTemplate == "A")
        let named = try HuggingFaceTokenizer(contentsOf: Self.folder(
            config: #"{"chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}]}"#, jinja: nil))
        #expect(named.chatTemplate == "D")
        let file = try HuggingFaceTokenizer(contentsOf: Self.folder(config: #"{"chat_template": "A"}"#, jinja: "{{ messages }}\n"))
        #expect(file.chatTemplate == "{{ messages }}\n")
        let none = try HuggingFaceTokenizer(contentsOf: Self.folder(config: "{}", jinja: nil))
        #expect(none.chatTemplate == nil)
    }
}
