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

    @Option(name: .shortAndLong, help: "A model whose tokenizer to use (default: the cached Gemma 3 270M).")
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

    func run() async throws {
        try await reportingErrors {
            let source = URL(fileURLWithPath: tokenizer ?? model ?? DefaultModel.path)
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
}
