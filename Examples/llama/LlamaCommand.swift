import ArgumentParser
import Foundation

/// `llama`: run, convert, inspect and benchmark Llama-family models.
@main
struct LlamaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "llama",
        abstract: "Run, convert, inspect and benchmark Llama-family language models on the CPU.",
        discussion: """
            Models: GGUF files (llama, gemma3, qwen2, qwen3), Hugging Face folders (config.json + safetensors) \
            and llama2.c checkpoints. Without --model, the default model (SmolLM2-135M-Instruct, a small chat \
            model) is used from the cache folder; `Scripts/fetch-default-model.sh` downloads it.
            """,
        subcommands: [
            GenerateCommand.self, ChatCommand.self, ConvertCommand.self, QuantizeCommand.self, ImportanceMatrixCommand.self,
            TokenizeCommand.self,
            PerplexityCommand.self, BenchCommand.self, BenchMatvecCommand.self, InfoCommand.self, RandomModelCommand.self,
            TemplateCommand.self, ServeCommand.self,
        ],
        defaultSubcommand: GenerateCommand.self)
}

/// Runs `body`, turning any error into one line on standard error and exit status 1.
func reportingErrors(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as ExitCode {
        throw error
    } catch let error as CleanExit {
        throw error
    } catch is CancellationError {
        throw ExitCode(130)
    } catch {
        FileHandle.standardError.write(Data("llama: error: \(error)\n".utf8))
        throw ExitCode.failure
    }
}

/// Writes `text` to standard output at once (unbuffered, for streaming).
func writeOutput(_ text: String) {
    FileHandle.standardOutput.write(Data(text.utf8))
}

/// Writes `text` to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Prints `object` as one JSON document on standard output.
func printJSON(_ object: Any) throws {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    print(String(decoding: data, as: UTF8.self))
}

/// Whether standard error is a terminal (progress is shown only then).
var standardErrorIsTerminal: Bool { isatty(2) != 0 }
