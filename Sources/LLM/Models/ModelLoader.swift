#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Logging
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
    /// starting with `GGUF`, or a llama2.c checkpoint (the `ak42` magic, or a legacy
    /// header whose sizes match the file's length).
    ///
    /// Only folders and regular files are opened (a FIFO would block the read). A file
    /// of none of the kinds is an ``ModelError/unsupportedModel(file:reason:)`` that
    /// says what each kind expected and what the file holds instead.
    public static func format(of url: URL) throws -> Format {
        let path = url.path
        var status = stat()
        guard stat(path, &status) == 0 else {
            throw ModelError.unsupportedModel(file: path, reason: errno == ENOENT ? "does not exist" : String(cString: strerror(errno)))
        }
        if (status.st_mode & S_IFMT) == S_IFDIR {
            guard FileManager.default.fileExists(atPath: url.appendingPathComponent("config.json").path) else {
                throw ModelError.unsupportedModel(file: path, reason: "is a folder without config.json")
            }
            return .huggingFace
        }
        do {
            try FileBytes.requireRegularFile(atPath: path)
        } catch let error as ModelFormatError {
            throw ModelError.unsupportedModel(file: path, reason: error.problem)
        }
        let bytes: FileBytes
        do { bytes = try FileBytes(mapping: url) } catch let error as ModelFormatError {
            throw ModelError.unsupportedModel(file: path, reason: error.problem)
        }
        let head = Array(bytes.slice(0..<min(bytes.count, 9)))
        if head.starts(with: Array("GGUF".utf8)) { return .gguf }
        if head.count >= 4, UInt32(head[0]) | UInt32(head[1]) << 8 | UInt32(head[2]) << 16 | UInt32(head[3]) << 24 == Llama2cCheckpoint.magic {
            return .llama2c
        }
        // A legacy llama2.c checkpoint has no magic: it is one if its header describes
        // exactly this file (opening it only maps the file and views the weights).
        let llama2cProblem: String
        do {
            _ = try Llama2cCheckpoint(bytes: bytes)
            return .llama2c
        } catch let error as ModelFormatError {
            llama2cProblem = "\(error.field): \(error.problem)"
        }
        if bytes.count == 0 {
            throw ModelError.unsupportedModel(file: path, reason: "is empty, not a model file")
        }
        var reasons = ["not GGUF: it starts with \(describe(head.prefix(4))), not \"GGUF\""]
        if head.count == 9, head[8] == UInt8(ascii: "{") {
            reasons.append("it looks like a safetensors file: pass the folder that holds it with config.json")
        } else {
            reasons.append("not a Hugging Face model: that is a folder with config.json")
        }
        reasons.append("not a llama2.c checkpoint: \(llama2cProblem)")
        throw ModelError.unsupportedModel(
            file: path, reason: "is not a model file this library reads (GGUF, a Hugging Face folder, llama2.c): " + reasons.joined(separator: "; "))
    }

    /// Bytes as hex and, where they are printable ASCII, as text: `6e 6f 74 65 ("note")`.
    private static func describe(_ bytes: ArraySlice<UInt8>) -> String {
        let hex = bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined(separator: " ")
        guard !bytes.isEmpty, bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else { return hex.isEmpty ? "nothing" : hex }
        return "\(hex) (\"\(String(decoding: bytes, as: UTF8.self))\")"
    }

    /// The logger of model loading when the caller gives none.
    public static let defaultLogger = Logger(label: "SwiftLlama.ModelLoader")

    /// Loads the model at `url` (a GGUF file, a Hugging Face folder, or a llama2.c
    /// checkpoint) onto `backend`. The tokenizer is the one the file carries (GGUF) or
    /// that lies beside it (Hugging Face), unless `tokenizerURL` names another; a
    /// llama2.c checkpoint has none unless one is given.
    ///
    /// The architecture is looked up in `architectures` by the file's
    /// `general.architecture` (GGUF) or `architectures[0]` (`config.json`; a file that
    /// names none is read as Llama). Pass a list with architectures of your own to load
    /// models this library does not know. What was loaded and chosen is logged to
    /// `logger` at `.debug`.
    public static func load(
        from url: URL, backend: any Backend, tokenizerURL: URL? = nil,
        architectures: [any ModelArchitecture.Type] = ModelArchitectures.builtIn, logger: Logger = defaultLogger
    ) throws -> LanguageModel {
        let tokenizer = try tokenizerURL.map { try TokenizerLoader.load(from: $0) }
        let format = try format(of: url)
        let language: LanguageModel
        switch format {
        case .gguf:
            let file = try GGUFFile(contentsOf: url)
            let name = try file.metadata.require("general.architecture", GGUFMetadata.string)
            guard let architecture = ModelArchitectures.gguf(name, in: architectures) else {
                throw ModelError.unsupportedModel(
                    file: url.path,
                    reason: "architecture '\(name)' is not supported (\(architectures.map { $0.ggufName }.joined(separator: ", ")) are)")
            }
            let model = try architecture.model(gguf: file, backend: backend)
            let own = try? TokenizerLoader.load(gguf: file.metadata, source: url.path)
            let template = try? file.metadata.string("tokenizer.chat_template")
            let toolUse = try? file.metadata.string("tokenizer.chat_template.tool_use")
            language = LanguageModel(
                model: model, tokenizer: tokenizer ?? own, chatTemplateSource: template, toolUseChatTemplateSource: toolUse,
                name: (try? file.metadata.string("general.name")) ?? url.deletingPathExtension().lastPathComponent)
        case .huggingFace:
            let config = try HuggingFaceConfig.load(from: url.appendingPathComponent("config.json"))
            let architecture: any ModelArchitecture.Type
            if let name = config.architectures?.first {
                guard let found = ModelArchitectures.huggingFace(name, in: architectures) else {
                    let known = architectures.flatMap { $0.huggingFaceNames }.joined(separator: ", ")
                    throw ModelError.unsupportedModel(
                        file: url.path, reason: "config.json: architecture '\(name)' is not supported (\(known) are)")
                }
                architecture = found
            } else {
                architecture = LlamaModel.self
            }
            let checkpoint = try SafetensorsCheckpoint(directory: url)
            let model = try architecture.model(huggingFace: config, weights: checkpoint, backend: backend)
            let own = try? TokenizerLoader.load(from: url)
            language = LanguageModel(
                model: model, tokenizer: tokenizer ?? own, chatTemplateSource: (own as? HuggingFaceTokenizer)?.chatTemplate,
                toolUseChatTemplateSource: (own as? HuggingFaceTokenizer)?.toolUseChatTemplate,
                name: url.lastPathComponent)
        case .llama2c:
            // llama2.c checkpoints hold Llama models only.
            let checkpoint = try Llama2cCheckpoint(contentsOf: url)
            let model = try LlamaModel(
                configuration: LlamaModel.configuration(llama2c: checkpoint.header), weights: checkpoint, names: .meta,
                backend: backend)
            language = LanguageModel(
                model: model, tokenizer: tokenizer, chatTemplateSource: nil, name: url.deletingPathExtension().lastPathComponent)
        }
        let c = language.configuration
        logger.debug(
            "loaded model",
            metadata: [
                "file": "\(url.path)", "format": "\(format.rawValue)", "architecture": "\(type(of: language.model))",
                "layers": "\(c.layerCount)", "width": "\(c.embeddingLength)", "heads": "\(c.headCount)/\(c.kvHeadCount)",
                "vocabulary": "\(c.vocabularySize)", "context": "\(c.contextLength)",
                "tokenizer": "\(language.tokenizer.map { "\(type(of: $0))" } ?? "none")",
            ])
        return language
    }
}
