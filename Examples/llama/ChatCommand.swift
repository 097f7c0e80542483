import ArgumentParser
import Foundation
import LLM
import Tokenizers

struct ChatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Talk with a chat model; the conversation stays in the KV cache between turns.",
        discussion: """
            Type a message and press return. Commands: /reset (forget the conversation), /system TEXT (start \
            over with a system prompt), /exit. Standard input may be piped: each line is a message.

            Examples:
              llama chat
              llama chat -m yi-6b-chat.Q4_0.gguf --system "You are a concise assistant."
              printf 'Hi!\\nWhat did I just say?\\n' | llama chat --temperature 0
            """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var sampling: SamplingOptions

    @Option(help: "A system prompt.")
    var system: String?

    @Option(help: "The chat template: llama2, chatml, mistral or gemma (default: the model's).")
    var template: String?

    func run() async throws {
        try await reportingErrors {
            let model = try modelOptions.load()
            var parameters = try sampling.parameters(model: modelOptions)
            parameters.maxTokens = sampling.maxTokens
            let session = try ChatSession(
                model: model, template: template.map(ChatTemplate.named), systemPrompt: system, parameters: parameters)
            modelOptions.noteIfBaseModel(model)
            let interactive = isatty(0) != 0
            if interactive { printError("Chatting with \(model.name) (\(await session.template.rawValue) template). /reset, /system TEXT, /exit.") }
            while true {
                if interactive {
                    writeOutput("> ")
                }
                guard let line = readLine(strippingNewline: true) else { break }
                let message = line.trimmingCharacters(in: .whitespaces)
                if message.isEmpty { continue }
                if message == "/exit" || message == "/quit" { break }
                if message == "/reset" {
                    await session.reset(systemPrompt: system)
                    printError("(conversation reset)")
                    continue
                }
                if message.hasPrefix("/system ") {
                    await session.reset(systemPrompt: String(message.dropFirst(8)))
                    printError("(new system prompt; conversation reset)")
                    continue
                }
                var info: GenerationInfo? = nil
                for try await event in await session.streamResponse(to: message) {
                    if let text = event.chunk { writeOutput(text) }
                    if let summary = event.info { info = summary }
                }
                writeOutput("\n")
                if let info, interactive {
                    printError(String(
                        format: "(%d new prompt tokens, %.1f tokens/s; %d generated, %.1f tokens/s)",
                        info.processedPromptTokenCount, info.promptTokensPerSecond, info.generatedTokens.count,
                        info.generationTokensPerSecond))
                }
            }
        }
    }
}
