import FuzzSupport
import FuzzTokenizerUse
import LLM
import ModelFormats
import TensorCore
import Tokenizers

/// A GGUF file as the loaders read it: the header (metadata and tensor descriptions),
/// every tensor as a view, the model's hyperparameters and configuration, the model
/// built from its weights (Llama or Gemma 3, on the reference backend) with one
/// forward pass when it is small, and the SentencePiece vocabulary as the tokenizer
/// targets use theirs.
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = FileBytes(copying: UnsafeBufferPointer(start: data, count: size), name: "fuzz.gguf")
    guard let file = try? GGUFFile(bytes: bytes) else { return 0 }
    for info in file.tensorInfos { _ = try? file.tensor(info) }
    _ = try? GGUFModelMetadata(file.metadata)
    if let configuration = try? ModelConfiguration.llama(gguf: file) { _ = try? configuration.validate() }
    let architecture = try? file.metadata.require("general.architecture", GGUFMetadata.string)
    let model: (any TransformerModel)?
    switch architecture {
    case "gemma3": model = try? Gemma3Model(gguf: file, backend: NaiveBackend())
    default: model = try? LlamaModel(configuration: .llama(gguf: file), weights: file, names: .gguf, backend: NaiveBackend())
    }
    runSmallModel(model)
    if let metadata = try? GGUFTokenizerMetadata(file.metadata),
       let model = try? SentencePieceModel(gguf: metadata, source: file.path) {
        exercise(SentencePieceTokenizer(model: model))
    }
    return 0
}

@_cdecl("LLVMFuzzerCustomMutator")
public func customMutator(_ data: UnsafeMutablePointer<UInt8>?, _ size: Int, _ maxSize: Int, _ seed: UInt32) -> Int {
    customMutate(data, size, maxSize, seed, GGUFMutator.mutate)
}

/// One forward pass of token 0 through `model`, when its weights are few enough for a
/// fuzzing run (the reference backend is slow): what the weights hold (NaN, infinities,
/// any bytes) must give logits or an error, never a crash.
func runSmallModel(_ model: (any TransformerModel)?) {
    guard let model, model.configuration.parameterCount < 1 << 18,
          let state = try? model.makeState(context: 4, batchCapacity: 2, cacheType: .f32)
    else { return }
    _ = try? model.process([0, min(1, model.configuration.vocabularySize - 1)], state: state)
}
