import ArgumentParser
import Foundation
import LLM

struct PerplexityCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perplexity",
        abstract: "Measure a model's perplexity on a text file.",
        discussion: """
            As llama.cpp's perplexity tool: the text is cut into windows of --window tokens, each starting with \
            BOS, and the second half of each window is scored. --whole scores every token of the text in one window.

            Examples:
              llama perplexity -m model.gguf --file wiki.test.raw --window 512
              llama perplexity -m model.gguf --file short.txt --whole --json
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .shortAndLong, help: "The text file.")
    var file: String

    @Option(help: "Tokens per window.")
    var window: Int = 512

    @Flag(help: "Score the whole text as one window.")
    var whole = false

    @Flag(help: "Print JSON.")
    var json = false

    func run() async throws {
        try await reportingErrors {
            let model = try modelOptions.load()
            let text: String
            do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
                throw ValidationError("cannot read \(file): \(error.localizedDescription)")
            }
            let start = ContinuousClock.now
            let result = try model.perplexity(of: text, method: whole ? .wholeSequence : .llamaCpp(window: window))
            let seconds = (ContinuousClock.now - start).seconds
            if json {
                try printJSON([
                    "perplexity": result.perplexity, "mean_nll": result.meanNegativeLogLikelihood,
                    "tokens": result.tokenCount, "scored_tokens": result.scoredTokenCount, "windows": result.windowCount,
                    "seconds": seconds,
                ] as [String: Any])
            } else {
                print(String(format: "perplexity %.4f  (%d tokens, %d windows, %d scored, %.1f s)",
                             result.perplexity, result.tokenCount, result.windowCount, result.scoredTokenCount, seconds))
            }
        }
    }
}
