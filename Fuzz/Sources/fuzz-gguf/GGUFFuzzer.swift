import FuzzSupport
import LLM
import ModelFormats
import Tokenizers

/// A GGUF file as the loaders read it: the header (metadata and tensor descriptions),
/// every tensor as a view, the model's hyperparameters and configuration, and the
/// SentencePiece vocabulary with a short encode and decode.
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = FileBytes(copying: UnsafeBufferPointer(start: data, count: size), name: "fuzz.gguf")
    guard let file = try? GGUFFile(bytes: bytes) else { return 0 }
    for info in file.tensorInfos { _ = try? file.tensor(info) }
    _ = try? GGUFModelMetadata(file.metadata)
    if let configuration = try? ModelConfiguration.llama(gguf: file) { _ = try? configuration.validate() }
    if let metadata = try? GGUFTokenizerMetadata(file.metadata),
       let model = try? SentencePieceModel(gguf: metadata, source: file.path) {
        let tokenizer = SentencePieceTokenizer(model: model)
        _ = try? tokenizer.decode(tokenizer.encode("Hello world, <s>héllo\n  ✓"))
    }
    return 0
}

@_cdecl("LLVMFuzzerCustomMutator")
public func customMutator(_ data: UnsafeMutablePointer<UInt8>?, _ size: Int, _ maxSize: Int, _ seed: UInt32) -> Int {
    customMutate(data, size, maxSize, seed, GGUFMutator.mutate)
}
