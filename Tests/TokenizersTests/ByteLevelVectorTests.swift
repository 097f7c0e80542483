import Foundation
import Testing
import TestSupport
@testable import Tokenizers

/// llama.cpp's tokenizer test vectors for its byte-level BPE vocabularies
/// (`Tests/Fixtures/llama-cpp-vocab/*.inp`/`.out`, made by llama.cpp from the models'
/// Hugging Face tokenizers; add_special=false, parse_special=false). Every id must match.
///
/// The vocabularies themselves are several MB each and not committed: Llama 3, Qwen 2 and
/// GPT-2 are read from `../shared/fixtures/vocab/` beside the clone; the others from the
/// cache folder, where `Scripts/fetch-llama-cpp-vocabularies.sh` puts them (those tests
/// are skipped, saying so, when they are not there).
struct ByteLevelVectorTests {
    static func vectors(_ name: String) throws -> [(String, [Int])] {
        try LlamaCppVectorTests.vectors(of: "llama-cpp-vocab/ggml-vocab-\(name).gguf")
    }

    static func cachedVocabulary(_ name: String) -> URL? {
        let url = Fixtures.cacheFolder.appendingPathComponent("llama-cpp-vocab/ggml-vocab-\(name).gguf")
        guard FileManager.default.fileExists(atPath: url.path) else {
            print("ByteLevelVectorTests: SKIPPED \(name) — \(url.path) is not there; run Scripts/fetch-llama-cpp-vocabularies.sh")
            return nil
        }
        return url
    }

    static let cachedVocabularies = ["deepseek-llm", "deepseek-coder", "starcoder", "refact", "falcon", "mpt", "command-r", "qwen35"]
        .filter { cachedVocabulary($0) != nil }

    /// Checks every vector; records the differing ones and returns how many matched.
    @discardableResult
    static func check(_ url: URL, vectors name: String) throws -> Int {
        let tokenizer = try TokenizerLoader.load(from: url)
        #expect(tokenizer is ByteLevelBPETokenizer)
        let vectors = try Self.vectors(name)
        #expect(vectors.count >= 30)
        var matched = 0
        for (text, ids) in vectors {
            let encoded = tokenizer.encode(text, options: .plain)
            if encoded == ids {
                matched += 1
            } else {
                Issue.record("\(name): \(text.debugDescription): \(encoded) != \(ids)")
            }
            // Decoding gives the text back (these vocabularies cover every byte).
            #expect(try tokenizer.decode(ids) == text, "\(name): decode of \(text.debugDescription)")
        }
        print("ByteLevelVectorTests: \(name): \(matched) of \(vectors.count) vectors identical")
        return matched
    }

    @Test(arguments: ["llama-bpe", "qwen2", "gpt-2"])
    func sharedVocabularyMatchesLlamaCpp(name: String) throws {
        let url = Fixtures.shared("vocab/ggml-vocab-\(name).gguf")
        try #require(FileManager.default.fileExists(atPath: url.path), "\(url.path) is missing: ../shared/fixtures must be beside the clone")
        let vectors = try Self.vectors(name)
        #expect(try Self.check(url, vectors: name) == vectors.count)
    }

    /// `make test` fetches the cached vocabularies first, so in CI (`CI` set) a missing one
    /// is a failure rather than a skipped check.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["CI"] != nil, "only in CI"))
    func cachedVocabulariesArePresentInCI() {
        let all = ["deepseek-llm", "deepseek-coder", "starcoder", "refact", "falcon", "mpt", "command-r", "qwen35"]
        #expect(Self.cachedVocabularies == all, "run Scripts/fetch-llama-cpp-vocabularies.sh (make test does)")
    }

    @Test(.enabled(if: !cachedVocabularies.isEmpty, "no llama.cpp vocabularies in the cache"), arguments: cachedVocabularies)
    func cachedVocabularyMatchesLlamaCpp(name: String) throws {
        let url = try #require(Self.cachedVocabulary(name))
        let vectors = try Self.vectors(name)
        #expect(try Self.check(url, vectors: name) == vectors.count)
    }

    /// Vocabularies with no vectors (no `tokenizer.ggml.pre`: llama.cpp's default
    /// patterns) load, and encoding then decoding gives the text back.
    @Test(arguments: ["gpt-neox", "aquila"])
    func vocabularyWithoutVectorsRoundTrips(name: String) throws {
        guard let url = Self.cachedVocabulary(name) else { return }
        let tokenizer = try TokenizerLoader.load(from: url)
        for (text, _) in try Self.vectors("gpt-2") {
            let ids = tokenizer.encode(text, options: .plain)
            #expect(try tokenizer.decode(ids) == text, "\(name): \(text.debugDescription)")
        }
    }
}
