import Foundation
import ModelFormats
import Testing
import TestSupport
@testable import Tokenizers

/// Byte-level BPE vocabularies built in memory: special-token handling, and malformed
/// GGUF metadata and tokenizer.json files, which must be refused with an error naming the
/// file, the field and the problem (never a crash, a hang or a huge allocation).
struct ByteLevelHardeningTests {
    static let source = "/models/test.gguf"

    /// A small gpt2 vocabulary: the 256 byte characters, a few merges ("hello", " world"),
    /// control tokens and a user-defined token.
    static func metadata(
        pre: String? = "gpt-2", tokens extraTokens: [String]? = nil, types: [Int32]? = nil, merges: [String]? = nil,
        edit: (inout [(key: String, value: GGUFValue)]) -> Void = { _ in }
    ) -> GGUFMetadata {
        let bytes = (0..<256).map { String(ByteLevelAlphabet.scalarOfByte[$0]) }
        let words = ["he", "ll", "hell", "hello", "Ġw", "or", "Ġwor", "ld", "Ġworld"]
        let specials = ["<|begin_of_text|>", "<|eot_id|>", "<think>"]
        let tokens = extraTokens ?? bytes + words + specials
        let tokenTypes = types ?? (Array(repeating: 1, count: 256 + words.count) + [3, 3, 4])
        let mergeList = merges ?? ["h e", "l l", "he ll", "hell o", "Ġ w", "o r", "Ġw or", "l d", "Ġwor ld"]
        var entries: [(key: String, value: GGUFValue)] = [
            ("tokenizer.ggml.model", .string("gpt2")),
            ("tokenizer.ggml.tokens", .array(.string(tokens))),
            ("tokenizer.ggml.token_type", .array(.int32(tokenTypes))),
            ("tokenizer.ggml.merges", .array(.string(mergeList))),
            ("tokenizer.ggml.bos_token_id", .uint32(UInt32(min(265, tokens.count - 1)))),
            ("tokenizer.ggml.eos_token_id", .uint32(UInt32(min(266, tokens.count - 1)))),
        ]
        if let pre { entries.append(("tokenizer.ggml.pre", .string(pre))) }
        edit(&entries)
        return GGUFMetadata(entries: entries, file: source)
    }

    static func load(_ metadata: GGUFMetadata) throws -> any Tokenizer {
        try TokenizerLoader.load(gguf: metadata, source: source)
    }

    static func refusal(_ metadata: GGUFMetadata) throws -> TokenizerError {
        try #require(throws: TokenizerError.self) { try load(metadata) }
    }

    @Test func aSmallVocabularyEncodesAndDecodes() throws {
        let tokenizer = try Self.load(Self.metadata())
        #expect(tokenizer is ByteLevelBPETokenizer)
        #expect(tokenizer.encode("hello world", options: .plain) == [259, 264])
        #expect(try tokenizer.decode([259, 264]) == "hello world")
        // Bytes with no merge stay bytes: "é" is C3 A9.
        #expect(tokenizer.encode("é", options: .plain) == [0xC3, 0xA9])
        #expect(try tokenizer.decode(tokenizer.encode("héllo wörld 😁", options: .plain)) == "héllo wörld 😁")
        #expect(!tokenizer.addsBOSByDefault)
        #expect(tokenizer.specialTokens.stopIDs.contains(266))
    }

    /// Control tokens written in text are text unless the caller asks; a user-defined
    /// token is matched everywhere (llama.cpp), except where markup uses it and plain text
    /// spells it too.
    @Test func specialTokenTextIsDataUnlessAsked() throws {
        let tokenizer = try Self.load(Self.metadata())
        let eot = 266, think = 267
        let plain = tokenizer.encode("<|eot_id|>", options: .plain)
        #expect(!plain.contains(eot) && plain.count > 1)
        #expect(try tokenizer.decode(plain) == "<|eot_id|>")
        #expect(tokenizer.encode("<|eot_id|>", options: .init(addBOS: false, parseSpecialTokens: true)) == [eot])
        #expect(tokenizer.encode("a<think>b", options: .plain).contains(think))
        let segments = [TextSegment("<|eot_id|>", parsesSpecialTokens: true), TextSegment("<|eot_id|><think>", parsesSpecialTokens: false)]
        let ids = tokenizer.encode(segments, options: .init(addBOS: false))
        #expect(ids.first == eot && ids.filter { $0 == eot }.count == 1)
        #expect(ids.contains(think))
        let guarded = tokenizer.encode(
            [TextSegment("<think>", parsesSpecialTokens: true), TextSegment("<think>", parsesSpecialTokens: false)], options: .init(addBOS: false))
        #expect(guarded.first == think && guarded.filter { $0 == think }.count == 1)
        // Control tokens decode to nothing; the BOS default follows the file.
        #expect(try tokenizer.decode([265, 259, eot]) == "hello")
        let withBOS = try Self.load(Self.metadata { $0.append(("tokenizer.ggml.add_bos_token", .bool(true))) })
        #expect(withBOS.encode("hello") == [265, 259])
    }

    @Test func anUnknownPreTokenizerIsRefused() throws {
        let error = try Self.refusal(Self.metadata(pre: "brand-new-model"))
        #expect(error.file == Self.source)
        #expect(error.message.contains("tokenizer.ggml.pre") && error.message.contains("brand-new-model"), "\(error)")
    }

    @Test func aMergeWithoutASpaceIsRefused() throws {
        let error = try Self.refusal(Self.metadata(merges: ["h e", "l l", "hell"]))
        #expect(error.file == Self.source)
        #expect(error.message.contains("tokenizer.ggml.merges[2]") && error.message.contains("'hell'"), "\(error)")
    }

    @Test(arguments: ["h x!", "zz e", "h l"])
    func aMergeOfUnknownTokensIsRefused(merge: String) throws {
        let error = try Self.refusal(Self.metadata(merges: ["h e", merge]))
        #expect(error.message.contains("tokenizer.ggml.merges[1]") && error.message.contains("tokenizer.ggml.tokens"), "\(error)")
    }

    @Test(arguments: [Int32(7), -1, Int32.max])
    func aTokenTypeOutOfRangeIsRefused(type: Int32) throws {
        var types = Array(repeating: Int32(1), count: 268)
        types[100] = type
        let error = try Self.refusal(Self.metadata(types: types))
        #expect(error.message.contains("tokenizer.ggml.token_type[100]") && error.message.contains("\(type)"), "\(error)")
    }

    @Test func mismatchedArrayLengthsAreRefused() throws {
        let error = try Self.refusal(Self.metadata(types: [1, 1, 1]))
        #expect(error.file == Self.source)
        #expect(error.message.contains("tokenizer.ggml.token_type"), "\(error)")
    }

    @Test func missingMergesAndForeignModelsAreRefused() throws {
        let noMerges = try Self.refusal(Self.metadata { $0.removeAll { $0.key == "tokenizer.ggml.merges" } })
        #expect(noMerges.message.contains("tokenizer.ggml.merges"), "\(noMerges)")
        let foreign = try Self.refusal(Self.metadata { entries in
            entries[0] = ("tokenizer.ggml.model", .string("bert"))
        })
        #expect(foreign.kind == .unsupported && foreign.message.contains("bert"), "\(foreign)")
        let badID = try Self.refusal(Self.metadata { entries in
            entries.append(("tokenizer.ggml.eot_token_id", .uint32(1 << 30)))
        })
        #expect(badID.message.contains("eot_token_id"), "\(badID)")
    }

    // MARK: tokenizer.json

    static func editedJSON(_ edit: (inout [String: Any]) -> Void) throws -> URL {
        var json = try #require(try JSONSerialization.jsonObject(with: Fixtures.data("byte-level/llama3-like/tokenizer.json")) as? [String: Any])
        edit(&json)
        let folder = try Fixtures.temporaryFolder()
        let url = folder.appendingPathComponent("tokenizer.json")
        try JSONSerialization.data(withJSONObject: json).write(to: url)
        return url
    }

    static func jsonRefusal(_ edit: (inout [String: Any]) -> Void) throws -> TokenizerError {
        let url = try editedJSON(edit)
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        let error = try #require(throws: TokenizerError.self) { try HuggingFaceTokenizer(contentsOf: url) }
        #expect(error.file == url.path)
        return error
    }

    @Test func malformedByteLevelTokenizerJSONIsRefused() throws {
        func setPattern(_ pattern: String) -> (inout [String: Any]) -> Void {
            { json in
                var pre = json["pre_tokenizer"] as! [String: Any]
                var steps = pre["pretokenizers"] as! [[String: Any]]
                steps[0]["pattern"] = ["Regex": pattern]
                pre["pretokenizers"] = steps
                json["pre_tokenizer"] = pre
            }
        }
        for (pattern, problem) in [("(?<=a)b", "lookbehind"), ("a++", "possessive"), ("[a-", "missing ']'"), ("\\p{Klingon}", "Klingon"), ("(a", "missing ')'")] {
            let error = try Self.jsonRefusal(setPattern(pattern))
            #expect(error.message.contains("Split") && error.message.contains(problem), "\(pattern): \(error)")
        }
        let unknownMerge = try Self.jsonRefusal { json in
            var model = json["model"] as! [String: Any]
            model["merges"] = [["Ġ", "t"], ["nope", "t"]]
            json["model"] = model
        }
        #expect(unknownMerge.message.contains("model.merges[1]") && unknownMerge.message.contains("nope"), "\(unknownMerge)")
        let afterByteLevel = try Self.jsonRefusal { json in
            var pre = json["pre_tokenizer"] as! [String: Any]
            var steps = pre["pretokenizers"] as! [[String: Any]]
            steps.append(["type": "Digits", "individual_digits": true])
            pre["pretokenizers"] = steps
            json["pre_tokenizer"] = pre
        }
        #expect(afterByteLevel.message.contains("after ByteLevel"), "\(afterByteLevel)")
    }

    /// A pattern that backtracks exponentially stops at its step budget instead of hanging.
    @Test(.timeLimit(.minutes(1))) func anExponentialPatternTerminates() throws {
        let pattern = try SplitPattern("(a|aa)+b")
        let text = ScalarText(String(repeating: "a", count: 200).unicodeScalars)
        #expect(pattern.matches(in: text, range: 0..<text.count).isEmpty)
        let fine = try SplitPattern(#"\s+(?!\S)|\s+"#)
        let spaces = ScalarText((String(repeating: " ", count: 100_000) + "x").unicodeScalars)
        #expect(fine.matches(in: spaces, range: 0..<spaces.count) == [0..<99_999, 99_999..<100_000])
    }
}
