import Foundation
import Testing
import TestSupport
@testable import Tokenizers

/// llama.cpp's own tokenizer test vectors for the Llama 2 vocabulary
/// (`ggml-vocab-llama-spm.gguf.inp`/`.out`: add_special=false, parse_special=false).
struct LlamaCppVectorTests {
    /// The vectors of the fixture `vocabulary` (its `.inp` and `.out` files): each input
    /// text with its expected ids.
    static func vectors(of vocabulary: String = "shared/ggml-vocab-llama-spm.gguf") throws -> [(String, [Int])] {
        let input = try String(contentsOf: Fixtures.url(vocabulary + ".inp"), encoding: .utf8)
        let output = try String(contentsOf: Fixtures.url(vocabulary + ".out"), encoding: .utf8)
        var texts = input.components(separatedBy: "\n__ggml_vocab_test__\n")
        if texts.last == "" { texts.removeLast() }
        var expected = output.components(separatedBy: "\n")
        if expected.last == "" { expected.removeLast() }
        #expect(texts.count == expected.count)
        return zip(texts, expected).map { text, line in (text, line.split(separator: " ").map { Int($0)! }) }
    }

    @Test(arguments: ["shared/ggml-vocab-llama-spm.gguf", "shared/llama2-tokenizer.model"])
    func idsMatchLlamaCpp(file: String) throws {
        let tokenizer = try TokenizerLoader.load(from: Fixtures.url(file))
        for (text, ids) in try Self.vectors() {
            #expect(tokenizer.encode(text, options: .plain) == ids, "\(file): \(text.debugDescription)")
        }
    }
}
