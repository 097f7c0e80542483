import Foundation
import Testing
import TestSupport
@testable import Tokenizers

/// Byte-level BPE `tokenizer.json` files against the `tokenizers` library
/// (`Scripts/generate_byte_level_fixtures.py`): three small tokenizers trained like
/// Llama 3's, Qwen 2's and GPT-2's, on the 641-string corpus; and the Split
/// pre-tokenizer patterns of the model families on the same corpus.
struct ByteLevelTokenizerJSONTests {
    struct DecodeCase: Decodable {
        let label: String
        let ids: [Int]
        let text: String
        let skipping_special: String
    }

    struct Decodes: Decodable { let decode_cases: [DecodeCase] }

    @Test(arguments: ["llama3-like", "qwen2-like", "gpt2-like"])
    func idsAndTextMatchTokenizers(name: String) throws {
        let tokenizer = try HuggingFaceTokenizer(contentsOf: Fixtures.url("byte-level/\(name)/tokenizer.json"))
        let fixture = try Fixtures.json(ConformanceTests.Fixture.self, "byte-level/\(name).json")
        #expect(fixture.cases.count == 641)
        try ConformanceTests.check(tokenizer, against: fixture) { try tokenizer.decode($0, skipSpecialTokens: false) }
        for item in fixture.with_special_tokens ?? [] {
            #expect(tokenizer.encode(item.text, options: .init()) == item.ids, "with special tokens: \(item.text.debugDescription)")
        }
        for item in try Fixtures.json(Decodes.self, "byte-level/\(name).json").decode_cases {
            #expect(try tokenizer.decode(item.ids, skipSpecialTokens: true) == item.skipping_special, "decode case '\(item.label)' skipping special tokens")
        }
    }

    /// Streaming decoding gives the same text as decoding all the ids at once, one id at a
    /// time, and holds the bytes of an unfinished character back.
    @Test func streamingDecodingEqualsWholeDecoding() throws {
        let tokenizer = try HuggingFaceTokenizer(contentsOf: Fixtures.url("byte-level/llama3-like/tokenizer.json"))
        let fixture = try Fixtures.json(ConformanceTests.Fixture.self, "byte-level/llama3-like.json")
        for item in fixture.cases {
            let decoder = tokenizer.makeStreamingDecoder()
            var text = ""
            for id in item.ids {
                let part = try decoder.append(id)
                #expect(!part.unicodeScalars.contains("\u{FFFD}") || item.text.unicodeScalars.contains("\u{FFFD}"))
                text += part
            }
            text += decoder.finish()
            #expect(text == (try tokenizer.decode(item.ids)), "\(ConformanceTests.describe(item.text))")
        }
        // The four byte tokens of an emoji: nothing until the fourth.
        let bytes = Array("😁".utf8).map { tokenizer.id(for: String(ByteLevelAlphabet.scalarOfByte[Int($0)]))! }
        let decoder = tokenizer.makeStreamingDecoder()
        #expect(try bytes.dropLast().map { try decoder.append($0) } == ["", "", ""])
        #expect(try decoder.append(bytes.last!) == "😁")
    }

    /// Without ignore_merges a word that is a token but not the merges' result is merged;
    /// with it, the word is the token.
    @Test func ignoreMergesDecidesWholeWordTokens() throws {
        let llama = try HuggingFaceTokenizer(contentsOf: Fixtures.url("byte-level/llama3-like/tokenizer.json"))
        let qwen = try HuggingFaceTokenizer(contentsOf: Fixtures.url("byte-level/qwen2-like/tokenizer.json"))
        let llamaWord = try #require(llama.id(for: "Ġunbelievable"))
        #expect(llama.encode(" unbelievable", options: .plain) == [llamaWord])
        let qwenWord = try #require(qwen.id(for: "Ġunbelievable"))
        let merged = qwen.encode(" unbelievable", options: .plain)
        #expect(merged.count > 1 && !merged.contains(qwenWord))
    }

    struct PatternFixture: Decodable {
        struct Group: Decodable {
            let label: String
            let pattern: String
            let behavior: String
            let invert: Bool
            let pieces: [[[Int]]]
        }
        let groups: [Group]
    }

    /// The pattern matcher alone: `tokenizers`' Split pre-tokenizer offsets for every corpus
    /// string, for the families' patterns and every Split behavior.
    @Test func splitPatternsMatchTokenizers() throws {
        let corpus = try Fixtures.json([String].self, "tokenizers/corpus.json")
        let fixture = try Fixtures.json(PatternFixture.self, "byte-level/pretokenizers.json")
        #expect(fixture.groups.count >= 15)
        for group in fixture.groups {
            let behavior = try #require(PreTokenizer.Behavior(rawValue: group.behavior))
            let pre = PreTokenizer(steps: [.split(try SplitPattern(group.pattern), behavior: behavior, invert: group.invert)])
            var differing = 0
            for (text, expected) in zip(corpus, group.pieces) {
                let (_, pieces) = pre.split(ScalarText(text.unicodeScalars))
                let offsets = pieces.map { [$0.lowerBound, $0.upperBound] }
                if offsets != expected {
                    differing += 1
                    if differing <= 3 { Issue.record("\(group.label): \(ConformanceTests.describe(text)): \(offsets) != \(expected)") }
                }
            }
            #expect(differing == 0, "\(group.label): \(differing) of \(corpus.count) strings split differently")
        }
    }
}
