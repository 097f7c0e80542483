import FuzzSupport
import FuzzTokenizerUse
import Tokenizers

/// A SentencePiece `tokenizer.model` (a serialized `ModelProto`), then the tokenizer
/// built from it with a short encode and decode, and a chat prompt in every template.
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let model = try? SentencePieceModel(protobuf: bytes, source: "fuzz/tokenizer.model") else { return 0 }
    let tokenizer = SentencePieceTokenizer(model: model)
    exercise(tokenizer)
    return 0
}

@_cdecl("LLVMFuzzerCustomMutator")
public func customMutator(_ data: UnsafeMutablePointer<UInt8>?, _ size: Int, _ maxSize: Int, _ seed: UInt32) -> Int {
    customMutate(data, size, maxSize, seed, ProtobufMutator.mutate)
}
