import Foundation
import LLM
import ModelFormats
import TensorCore
import Tokenizers
import Testing
import TestSupport
import WeightConverter

/// Where a Hugging Face folder keeps its chat templates, and how the converter stores them
/// in GGUF: as llama.cpp's converter (gguf-py's SpecialVocab and GGUFWriter, 0c1e570) does
/// for the same folders (`Scripts/generate_chat_template_metadata.py`,
/// `Tests/Fixtures/chat-templates/gguf-py-chat-template-metadata.json`); and the template
/// for tools that a loaded model offers, from the GGUF and from the folder.
struct ChatTemplateMetadataTests {
    struct Variant: Decodable {
        let files: [String: String]
        let metadata: [String: Metadata]
        let config_chat_template: ConfigValue?
    }

    enum Metadata: Decodable, Equatable {
        case text(String), list([String])
        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self) { self = .text(text) } else { self = .list(try container.decode([String].self)) }
        }
    }

    /// `chat_template` in `tokenizer_config.json`: a text or a list of named templates.
    enum ConfigValue: Decodable {
        case text(String), list([[String: String]])
        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self) { self = .text(text) } else { self = .list(try container.decode([[String: String]].self)) }
        }
        var json: Any {
            switch self {
            case let .text(text): return text
            case let .list(list): return list
            }
        }
    }

    static let variants = (try? Fixtures.json([String: Variant].self, "chat-templates/gguf-py-chat-template-metadata.json")) ?? [:]

    /// The qwen2-bias fixture with the variant's templates.
    static func folder(_ variant: Variant) throws -> URL {
        let folder = try Fixtures.temporaryFolder().appendingPathComponent("model")
        try FileManager.default.copyItem(at: Fixtures.url("models/qwen2-bias"), to: folder)
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) where name.hasSuffix(".gguf") {
            try FileManager.default.removeItem(at: folder.appendingPathComponent(name))
        }
        let configURL = folder.appendingPathComponent("tokenizer_config.json")
        var config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as? [String: Any])
        config["chat_template"] = variant.config_chat_template?.json
        try JSONSerialization.data(withJSONObject: config).write(to: configURL)
        for (path, text) in variant.files {
            let url = folder.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
        }
        return folder
    }

    @Test func everyVariantIsThere() { #expect(Self.variants.count == 7) }

    @Test(arguments: variants.keys.sorted())
    func theConverterStoresTemplatesAsLlamaCpp(variant name: String) throws {
        let variant = try #require(Self.variants[name])
        let folder = try Self.folder(variant)
        defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }
        let output = folder.deletingLastPathComponent().appendingPathComponent("out.gguf")
        try WeightConverter.convertHuggingFace(folder: folder, to: output, options: ConversionOptions(outputType: .f32))
        let file = try GGUFFile(contentsOf: output)
        let keys = file.metadata.keys.filter { $0.hasPrefix("tokenizer.chat_template") }
        #expect(Set(keys) == Set(variant.metadata.keys), "\(name)")
        for (key, expected) in variant.metadata {
            switch expected {
            case let .text(text): #expect(try file.metadata.string(key) == text, "\(name) \(key)")
            // gguf-py writes the names from a Python set, in no fixed order.
            case let .list(names): #expect(Set(try file.metadata.strings(key) ?? []) == Set(names), "\(name) \(key)")
            }
        }

        // The template for tools a loaded model offers: the GGUF's tool_use template, and
        // the folder's, as transformers reads it (chat_template.jinja before tokenizer_config.json).
        let converted = try ModelLoader.load(from: output, backend: NaiveBackend())
        let direct = try ModelLoader.load(from: folder, backend: NaiveBackend())
        if case let .text(toolUse)? = variant.metadata["tokenizer.chat_template.tool_use"] {
            #expect(converted.toolUseChatTemplateSource == toolUse && direct.toolUseChatTemplateSource == toolUse, "\(name)")
            #expect(try converted.chatFormat(tools: true)?.render([.user("hi")], tools: [ToolDefinition(name: "f", description: "d")]).hasPrefix("[{") == true)
        } else {
            #expect(converted.toolUseChatTemplateSource == nil && direct.toolUseChatTemplateSource == nil, "\(name)")
        }
        if case let .text(template)? = variant.metadata["tokenizer.chat_template"] {
            #expect(converted.chatTemplateSource == template)
            #expect(direct.chatTemplateSource == (variant.files["chat_template.jinja"] ?? template), "\(name)")
        }
    }
}
