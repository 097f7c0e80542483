import Foundation
import ModelFormats
import Testing
import TestSupport
@testable import Tokenizers

/// Every crash input the fuzzers found for the tokenizer readers
/// (`Tests/Fixtures/fuzz/<target>/`), read through the same calls as the fuzz target
/// and then used for a short encode and decode: each must load or throw, never crash.
struct FuzzRegressionTests {
    static let text = "Hello world, <s>héllo\n  ✓"

    @Test(arguments: FuzzFixtures.names("tokenizer-json"))
    func tokenizerJSON(name: String) throws {
        let bytes = [UInt8](try Data(contentsOf: FuzzFixtures.url("tokenizer-json", name)))
        guard let document = try? OrderedJSON.parse(bytes), document.members != nil,
              let tokenizer = try? HuggingFaceTokenizer(json: document, config: .object([]), source: name)
        else { return }
        _ = try? tokenizer.decode(tokenizer.encode(Self.text))
    }

    @Test(arguments: FuzzFixtures.names("tokenizer-model"))
    func tokenizerModel(name: String) throws {
        guard let model = try? SentencePieceModel(contentsOf: FuzzFixtures.url("tokenizer-model", name)) else { return }
        let tokenizer = SentencePieceTokenizer(model: model)
        _ = try? tokenizer.decode(tokenizer.encode(Self.text))
    }

    @Test(arguments: FuzzFixtures.names("gguf"))
    func ggufVocabulary(name: String) throws {
        guard let file = try? GGUFFile(contentsOf: FuzzFixtures.url("gguf", name)),
              let metadata = try? GGUFTokenizerMetadata(file.metadata),
              let model = try? SentencePieceModel(gguf: metadata, source: name)
        else { return }
        let tokenizer = SentencePieceTokenizer(model: model)
        _ = try? tokenizer.decode(tokenizer.encode(Self.text))
    }
}
