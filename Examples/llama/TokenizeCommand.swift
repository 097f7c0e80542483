import ArgumentParser
import Foundation
import LLM
import Tokenizers

struct TokenizeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Show the token ids and pieces of a text.",
        discussion: """
            The tokenizer comes from --tokenizer (tokenizer.model, tokenizer.json or a GGUF file), or from the model.

            Examples:
              llama tokenize --tokenizer tokenizer.model "Hello world"
              llama tokenize -m model.gguf --json --parse-special "<start_of_turn>user"
            """)

    @Option(name: .shortAndLong, help: "A model whose tokenizer to use (default: the cached SmolLM2-135M-Instruct).")
    var model: String?

    @Option(help: "A tokenizer file: tokenizer.model, tokenizer.json or GGUF.")
    var tokenizer: String?

    @Argument(help: "The text (default: standard input).")
    var text: String?

    @Flag(name: .customLong("no-bos"), help: "Do not add BOS.")
    var noBOS = false

    @Flag(help: "Recognise special tokens written in the text.")
    var parseSpecial = false

    @Flag(help: "Print JSON: ids and pieces.")
    var json = false

    @Option(help: "Instead of tokenizing TEXT, time loading the tokenizer and encoding this file (whole and line by line; medians of 5 runs).")
    var benchmarkFile: String?

    func run() async throws {
        try await reportingErrors {
            let source = URL(fileURLWithPath: tokenizer ?? model ?? DefaultModel.path)
            if let benchmarkFile { return try benchmark(source: source, file: benchmarkFile) }
            let loaded = try TokenizerLoader.load(from: source)
            let input = try text ?? readStandardInput()
            let ids = loaded.encode(input, options: EncodingOptions(addBOS: noBOS ? false : nil, parseSpecialTokens: parseSpecial ? true : nil))
            let pieces = ids.map { loaded.piece(for: $0) ?? "" }
            if json {
                try printJSON(["ids": ids, "pieces": pieces, "count": ids.count] as [String: Any])
            } else {
                for (id, piece) in zip(ids, pieces) { print("\(String(id).padding(toLength: 8, withPad: " ", startingAt: 0)) \(piece.debugDescription)") }
                printError("\(ids.count) tokens")
            }
        }
    }

    func benchmark(source: URL, file: String) throws {
        func time(_ body: () throws -> Void) rethrows -> Double {
            let start = ContinuousClock.now
            try body()
            return (ContinuousClock.now - start).seconds
        }
        var loaded: (any Tokenizer)?
        let loadTime = median(try (0..<5).map { _ in try time { loaded = try TokenizerLoader.load(from: source) } })
        let tokenizer = loaded!
        let text = try String(contentsOfFile: file, encoding: .utf8)
        let megabytes = Double(text.utf8.count) / 1e6
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var count = 0
        let whole = median((0..<5).map { _ in time { count = tokenizer.encode(text, options: .plain).count } })
        let byLine = median((0..<5).map { _ in time { for line in lines { _ = tokenizer.encode(line, options: .plain) } } })
        let result: [String: Any] = [
            "tokenizer": source.path, "load_ms": loadTime * 1000, "megabytes": megabytes, "tokens": count,
            "whole_mb_per_s": megabytes / whole, "lines_mb_per_s": megabytes / byLine,
        ]
        if json {
            try printJSON(result)
        } else {
            print(String(format: "load %.1f ms; %.2f MB, %d tokens; whole text %.2f MB/s; line by line %.2f MB/s",
                         loadTime * 1000, megabytes, count, megabytes / whole, megabytes / byLine))
        }
    }
}
