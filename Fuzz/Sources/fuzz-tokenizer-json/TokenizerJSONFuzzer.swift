import FuzzSupport
import FuzzTokenizerUse
@testable import Tokenizers

/// A Hugging Face `tokenizer.json`, parsed as `HuggingFaceTokenizer(contentsOf:)` parses
/// it (without a `tokenizer_config.json`), then a short encode and decode, and a chat prompt in every template.
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let document = try? OrderedJSON.parse(bytes), document.members != nil,
          let tokenizer = try? HuggingFaceTokenizer(json: document, config: .object([]), source: "fuzz/tokenizer.json")
    else { return 0 }
    exercise(tokenizer)
    return 0
}

@_cdecl("LLVMFuzzerCustomMutator")
public func customMutator(_ data: UnsafeMutablePointer<UInt8>?, _ size: Int, _ maxSize: Int, _ seed: UInt32) -> Int {
    customMutate(data, size, maxSize, seed, JSONMutator.mutate)
}
