import Foundation
import Testing
import TestSupport
@testable import Tokenizers

/// Tokenizers against the reference libraries on a corpus of 641 strings
/// (`Scripts/generate_tokenizer_fixtures.py`): the Python `sentencepiece` library for
/// `tokenizer.model` files and GGUF vocabularies, the `tokenizers` library for
/// `tokenizer.json` files. Every id must be identical, and decoding must give the
/// reference's text.
struct ConformanceTests {
    struct Case: Decodable {
        let text: String
        let ids: [Int]
        let pieces: [String]?
        let decoded: String?
    }

    struct DecodeCase: Decodable {
        let label: String
        let ids: [Int]
        let text: String
    }

    struct SpecialCase: Decodable {
        let text: String
        let ids: [Int]
    }

    struct Fixture: Decodable {
        let cases: [Case]
        let decode_cases: [DecodeCase]
        let with_bos_eos: [SpecialCase]?
        let with_special_tokens: [SpecialCase]?
    }

    static func fixture(_ name: String) throws -> Fixture {
        try Fixtures.json(Fixture.self, "tokenizers/\(name).json")
    }

    static func describe(_ text: String) -> String {
        text.count > 60 ? String(text.prefix(60)).debugDescription + "…" : text.debugDescription
    }

    /// Compares encodings and decodings; records one issue per differing case.
    static func check(_ tokenizer: any Tokenizer, against fixture: Fixture, decode: ([Int]) throws -> String) throws {
        var differing = 0
        for item in fixture.cases {
            let ids = tokenizer.encode(item.text, options: .plain)
            if ids != item.ids {
                differing += 1
                Issue.record("ids of \(describe(item.text)): \(ids) != \(item.ids)")
                continue
            }
            if let pieces = item.pieces {
                #expect(ids.map { tokenizer.piece(for: $0) ?? "?" } == pieces, "pieces of \(describe(item.text))")
            }
            if let decoded = item.decoded {
                #expect(try decode(ids) == decoded, "decode of \(describe(item.text))")
            }
        }
        #expect(differing == 0, "\(differing) of \(fixture.cases.count) strings have differing ids")
        for item in fixture.decode_cases {
            #expect(try decode(item.ids) == item.text, "decode case '\(item.label)'")
        }
    }

    @Test func llama2SentencePieceModel() throws {
        let tokenizer = try SentencePieceTokenizer(model: SentencePieceModel(contentsOf: Fixtures.url("shared/llama2-tokenizer.model")))
        let fixture = try Self.fixture("llama2-sentencepiece")
        #expect(fixture.cases.count >= 200)
        try Self.check(tokenizer, against: fixture, decode: tokenizer.decode)
        for item in fixture.with_bos_eos ?? [] {
            #expect(tokenizer.encode(item.text, options: .init(addBOS: true, addEOS: true)) == item.ids)
        }
    }

    /// The same vocabulary from llama.cpp's GGUF file gives sentencepiece's ids.
    @Test func llama2GGUFVocabulary() throws {
        let tokenizer = try TokenizerLoader.load(from: Fixtures.url("shared/ggml-vocab-llama-spm.gguf"))
        try Self.check(tokenizer, against: Self.fixture("llama2-sentencepiece"), decode: tokenizer.decode)
    }

    @Test(arguments: ["llama2-hf-current", "llama2-hf-legacy", "yi-like-hf"])
    func huggingFaceTokenizerJSON(name: String) throws {
        let tokenizer = try HuggingFaceTokenizer(contentsOf: Fixtures.url("tokenizers/\(name)/tokenizer.json"))
        let fixture = try Self.fixture(name)
        try Self.check(tokenizer, against: fixture) { try tokenizer.decode($0, skipSpecialTokens: false) }
        for item in fixture.with_special_tokens ?? [] {
            #expect(tokenizer.encode(item.text, options: .init()) == item.ids, "with special tokens: \(Self.describe(item.text))")
        }
    }

    /// A tokenizer trained like Yi's (no dummy prefix, no whitespace removal, Chinese).
    @Test func yiLikeSentencePieceModel() throws {
        let tokenizer = try SentencePieceTokenizer(model: SentencePieceModel(contentsOf: Fixtures.url("tokenizers/yi-like/tokenizer.model")))
        let fixture = try Self.fixture("yi-like-sentencepiece")
        try Self.check(tokenizer, against: fixture, decode: tokenizer.decode)
        for item in fixture.with_bos_eos ?? [] {
            #expect(tokenizer.encode(item.text, options: .init(addBOS: true, addEOS: true)) == item.ids)
        }
    }
}
