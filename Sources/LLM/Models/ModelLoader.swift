import Foundation
import ModelFormats
import TensorCore
import Tokenizers

/// Opens a model file of any supported kind and builds the model for its
/// architecture, with the tokenizer it comes with.
public enum ModelLoader {
    /// The kinds of model files.
    public enum Format: String, Sendable {
        case gguf, huggingFace, llama2c
    }

    /// Detects the kind of `url`: a folder with `config.json` (Hugging Face), a file
    /// starting with `GGUF`, or a llama2.c checkpoint.
    public static func format(of url: URL) throws -> Format {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder) else {
            throw ModelError.unsupportedModel(file: url.path, reason: "does not exist")
        }
        if isFolder.boolValue {
            guard FileManager.default.fileExists(atPath: url.appendingPathComponent("config.json").path) else {
                throw ModelError.unsupportedModel(file: url.path, reason: "is a folder without config.json")
            }
            return .huggingFace
        }
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        let magic = try handle.read(upToCount: 4) ?? Data()
        return magic == Data("GGUF".utf8) ? .gguf : .llama2c
    }

    /// Loads the model at `url` (a GGUF file, a Hugging Face folder, or a llama2.c
    /// checkpoint) onto `backend`. The tokenizer is the one the file carries (GGUF) or
    /// that lies beside it (Hugging Face), unless `tokenizerURL` names another; a
    /// llama2.c checkpoint has none unless one is given.
    public static func load(from url: URL, backend: any Backend, tokenizerURL: URL? = nil) throws -> LanguageModel {
        let tokenizer = try tokenizerURL.map { try TokenizerLoader.load(from: $0) }
        switch try format(of: url) {
        case .gguf:
            let file = try GGUFFile(contentsOf: url)
            let architecture = try file.metadata.require("general.architecture", GGUFMetadata.string)
            let model: any TransformerModel
            switch architecture {
            case "llama":
                model = try LlamaModel(
                    configuration: .llama(gguf: file), weights: file, names: .gguf, backend: backend)
            case "gemma3":
                model = try Gemma3Model(gguf: file, backend: backend)
            default:
                throw ModelError.unsupportedModel(
                    file: url.path, reason: "architecture '\(architecture)' is not supported (llama and gemma3 are)")
            }
            let own = try? SentencePieceTokenizer(model: SentencePieceModel(gguf: GGUFTokenizerMetadata(file.metadata), source: url.path))
            let template = try? file.metadata.string("tokenizer.chat_template")
            return LanguageModel(
                model: model, tokenizer: tokenizer ?? own, chatTemplateSource: template,
                name: (try? file.metadata.string("general.name")) ?? url.deletingPathExtension().lastPathComponent)
        case .huggingFace:
            let config = try HuggingFaceConfig.load(from: url.appendingPathComponent("config.json"))
            let checkpoint = try SafetensorsCheckpoint(directory: url)
            let model = try LlamaModel(configuration: .llama(huggingFace: config), weights: checkpoint, names: .huggingFace, backend: backend)
            let own = try? TokenizerLoader.load(from: url)
            return LanguageModel(
                model: model, tokenizer: tokenizer ?? own, chatTemplateSource: (own as? HuggingFaceTokenizer)?.chatTemplate,
                name: url.lastPathComponent)
        case .llama2c:
            let checkpoint = try Llama2cCheckpoint(contentsOf: url)
            let model = try LlamaModel(
                configuration: .llama(llama2c: checkpoint.header), weights: checkpoint, names: .meta, backend: backend)
            return LanguageModel(
                model: model, tokenizer: tokenizer, chatTemplateSource: nil, name: url.deletingPathExtension().lastPathComponent)
        }
    }
}
