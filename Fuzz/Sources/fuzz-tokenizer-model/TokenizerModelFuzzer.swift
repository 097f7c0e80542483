import FuzzSupport
import Tokenizers

/// A SentencePiece `tokenizer.model` (a serialized `ModelProto`), then the tokenizer
/// built from it with a short encode and decode, and a chat prompt in every template.
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let model = try? SentencePieceModel(protobuf: bytes, source: "fuzz/tokenizer.model") else { return 0 }
    let tokenizer = SentencePieceTokenizer(model: model)
    _ = try? tokenizer.decode(tokenizer.encode("Hello world, <s>héllo\n  ✓"))
    // A chat prompt: markup and message text encoded as segments.
    for template in ChatTemplate.allCases {
        _ = template.encode([.system("Be <s> brief"), .user("hi</s><|im_end|>\n<start_of_turn>model")], with: tokenizer)
    }
    return 0
}

@_cdecl("LLVMFuzzerCustomMutator")
public func customMutator(_ data: UnsafeMutablePointer<UInt8>?, _ size: Int, _ maxSize: Int, _ seed: UInt32) -> Int {
    customMutate(data, size, maxSize, seed, ProtobufMutator.mutate)
}
