import ArgumentParser
import Foundation
import Jinja
import ModelFormats

struct TemplateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "template",
        abstract: "Render a chat template for a conversation, exactly (for scripts).",
        discussion: """
            TEMPLATE is a Jinja template file, a GGUF file (its tokenizer.chat_template) or a tokenizer_config.json \
            (its chat_template). The rendering goes to standard output as it is, without a newline added; an error \
            of the template goes to standard error, naming its line, with exit status 1. BOS and EOS default to the \
            file's (GGUF, tokenizer_config.json), else empty.

            Examples:
              llama template model.gguf --messages conversation.json
              llama template chat_template.jinja --messages m.json --tools tools.json --bos-token "<s>"
            """)

    @Argument(help: "A template file, a GGUF file or a tokenizer_config.json.")
    var template: String

    @Option(help: "A JSON file with the messages: a list of {\"role\", \"content\", …} (or an object with \"messages\").")
    var messages: String

    @Option(help: "A JSON file with tool definitions (OpenAI's form): a list (or an object with \"tools\").")
    var tools: String?

    @Flag(name: .customLong("no-generation-prompt"), help: "Render without the assistant turn's opening (add_generation_prompt = false).")
    var noGenerationPrompt = false

    @Option(name: .customLong("bos-token"), help: "The bos_token variable.")
    var bosToken: String?

    @Option(name: .customLong("eos-token"), help: "The eos_token variable.")
    var eosToken: String?

    func run() async throws {
        try await reportingErrors {
            let (source, fileBOS, fileEOS) = try Self.load(template, forTools: tools != nil)
            let parsed: JinjaTemplate
            do { parsed = try JinjaTemplate(source) } catch let error as JinjaError { throw ValidationError("\(template): \(error)") }
            var variables: [String: Value] = [
                "messages": try Self.list(messages, key: "messages"),
                "add_generation_prompt": .bool(!noGenerationPrompt),
                "bos_token": .string(bosToken ?? fileBOS ?? ""),
                "eos_token": .string(eosToken ?? fileEOS ?? ""),
            ]
            if let tools { variables["tools"] = try Self.list(tools, key: "tools") }
            let rendered: String
            do { rendered = try parsed.render(variables) } catch let error as JinjaError { throw ValidationError("\(template): \(error)") }
            FileHandle.standardOutput.write(Data(rendered.utf8))
        }
    }

    /// A JSON file holding a list, or an object holding the list under `key`.
    static func list(_ path: String, key: String) throws -> Value {
        let data = try FileBytes.readRegularFile(URL(fileURLWithPath: path))
        let value: Value
        do { value = try Value(json: data) } catch let error as JinjaError { throw ValidationError("\(path): \(error.message)") }
        switch value {
        case .list: return value
        case let .dict(d):
            guard let inner = d[key], case .list = inner else { throw ValidationError("\(path): expected a list, or an object with \"\(key)\"") }
            return inner
        default: throw ValidationError("\(path): expected a list, or an object with \"\(key)\"")
        }
    }

    /// The template source and the file's BOS and EOS texts, if it names them. With
    /// `forTools`, the file's template for tools where it has one apart (GGUF
    /// `tokenizer.chat_template.tool_use`, the template named `tool_use`), as transformers
    /// chooses it when tools are given.
    static func load(_ path: String, forTools: Bool = false) throws -> (String, String?, String?) {
        let url = URL(fileURLWithPath: path)
        let data = try FileBytes.readRegularFile(url)
        if data.starts(with: Array("GGUF".utf8)) {
            let file = try GGUFFile(contentsOf: url)
            let toolUse = forTools ? try? file.metadata.string("tokenizer.chat_template.tool_use") : nil
            guard let source = toolUse ?? (try? file.metadata.string("tokenizer.chat_template")) else {
                throw ValidationError("\(path): the GGUF file has no tokenizer.chat_template")
            }
            let tokenizer = try? GGUFTokenizerMetadata(file.metadata)
            func token(_ id: Int?) -> String? {
                guard let id, let tokens = tokenizer?.tokens, tokens.indices.contains(id) else { return nil }
                return tokens[id]
            }
            return (source, token(tokenizer?.bosTokenID), token(tokenizer?.eosTokenID))
        }
        if url.pathExtension == "json" {
            guard case let .dict(config) = (try? Value(json: data)) ?? .none else { throw ValidationError("\(path): not a JSON object") }
            func special(_ key: String) -> String? {
                switch config[key] {
                case let .string(s)?: return s
                case let .dict(d)?: return d["content"]?.text
                default: return nil
                }
            }
            switch config["chat_template"] {
            case let .string(s)?: return (s, special("bos_token"), special("eos_token"))
            case let .list(named)?:
                // A list of {"name", "template"}: the one named "default" (with tools, "tool_use" if there is one).
                for wanted in forTools ? ["tool_use", "default"] : ["default"] {
                    for case let .dict(entry) in named where entry["name"]?.text == wanted {
                        return (entry["template"]?.text ?? "", special("bos_token"), special("eos_token"))
                    }
                }
                throw ValidationError("\(path): chat_template has no template named \"default\"")
            default: throw ValidationError("\(path): there is no chat_template")
            }
        }
        return (String(decoding: data, as: UTF8.self), nil, nil)
    }
}
