import ArgumentParser
import Foundation
import LLM
import Tokenizers

struct GenerateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Continue a prompt, streaming the text.",
        discussion: """
            The prompt is the argument, or standard input when there is none. Timings go to standard error.

            Examples:
              llama generate "The capital of France is"
              llama generate -m model.gguf --temperature 0 -n 64 "Once upon a time"
              echo "Write a haiku about Swift" | llama generate --chat
              llama generate -m stories260K.bin --prompt-ids 1 --temperature 0 --json
            """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var sampling: SamplingOptions

    @Argument(help: "The prompt (default: standard input).")
    var prompt: String?

    @Option(name: .customLong("prompt-ids"), help: "The prompt as comma-separated token ids (for models without a vocabulary).")
    var promptIDs: String?

    @Flag(help: "Wrap the prompt in the model's chat template as a user message (the file's Jinja template; for a file without one, the built-in format of its architecture).")
    var chat = false

    @Option(help: "The chat template to use with --chat instead of the model's: a built-in format (llama2, chatml, mistral, gemma) or a file with a Jinja template (.jinja, GGUF, tokenizer_config.json).")
    var template: String?

    @Flag(help: "Print one JSON document (prompt ids, generated ids, text, timings) instead of streaming.")
    var json = false

    @Flag(name: .customLong("no-bos"), help: "Do not add the BOS token to a text prompt.")
    var noBOS = false

    func run() async throws {
        try await reportingErrors {
            let loadStart = ContinuousClock.now
            let model = try modelOptions.load()
            let loadTime = (ContinuousClock.now - loadStart).seconds
            let parameters = try sampling.parameters(model: modelOptions)
            let ids = try promptTokens(model)
            var info: GenerationInfo? = nil
            for try await event in model.generate(promptTokens: ids, parameters: parameters) {
                if let text = event.chunk, !json { writeOutput(text) }
                if let summary = event.info { info = summary }
            }
            guard let info else { return }
            if json {
                try printJSON([
                    "prompt_ids": info.promptTokens, "generated_ids": info.generatedTokens, "text": info.text,
                    "stop_reason": info.stopReason.rawValue,
                    "timings": [
                        "load_seconds": loadTime, "prompt_tokens": info.processedPromptTokenCount,
                        "prompt_seconds": info.promptTime.seconds, "prompt_tokens_per_second": info.promptTokensPerSecond,
                        "generated_tokens": info.generatedTokens.count, "generation_seconds": info.generationTime.seconds,
                        "generation_tokens_per_second": info.generationTokensPerSecond,
                        "time_to_first_token_seconds": info.timeToFirstToken.seconds,
                    ] as [String: Any],
                ] as [String: Any])
            } else {
                writeOutput("\n")
                printError(String(
                    format: "load %.2f s | prompt %d tokens, %.1f tokens/s | generated %d tokens, %.1f tokens/s | first token after %.3f s | stop: %@",
                    loadTime, info.processedPromptTokenCount, info.promptTokensPerSecond, info.generatedTokens.count,
                    info.generationTokensPerSecond, info.timeToFirstToken.seconds, info.stopReason.rawValue))
            }
        }
    }

    func promptTokens(_ model: LanguageModel) throws -> [Int] {
        if let promptIDs {
            let ids = promptIDs.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let parsed = ids.compactMap { Int($0) }
            guard parsed.count == ids.count, !parsed.isEmpty else {
                throw ValidationError("--prompt-ids must be comma-separated integers, like 1,2,3")
            }
            if let bad = parsed.first(where: { $0 < 0 || $0 >= model.configuration.vocabularySize }) {
                throw ValidationError("--prompt-ids: id \(bad) is outside the vocabulary of \(model.configuration.vocabularySize)")
            }
            return parsed
        }
        let text = try prompt ?? readStandardInput()
        let tokenizer = try model.requireTokenizer()
        if chat {
            // The file's own Jinja template, unless --template names another.
            guard let format = try template.map(ChatCommand.format) ?? model.chatFormat() else {
                throw ValidationError("the model has no chat template; pass --template llama2|chatml|mistral|gemma or a template file")
            }
            modelOptions.noteIfBaseModel(model)
            return try format.promptTokens(for: [.user(text)], tokenizer: tokenizer)
        }
        return tokenizer.encode(text, options: EncodingOptions(addBOS: noBOS ? false : nil))
    }
}

/// All of standard input, or an error when it is a terminal (nothing was piped).
func readStandardInput() throws -> String {
    guard isatty(0) == 0 else {
        throw ValidationError("give a prompt as an argument or on standard input")
    }
    let data = FileHandle.standardInput.readDataToEndOfFile()
    return String(decoding: data, as: UTF8.self)
}
