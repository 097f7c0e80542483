import FuzzSupport
import FuzzTokenizerUse
import LLM
import ModelFormats
import TensorCore
import Tokenizers

/// A GGUF file as the loaders read it: the header (metadata and tensor descriptions),
/// every tensor as a view, the model's hyperparameters and configuration, the model
/// built from its weights (Llama or Gemma 3, on the reference backend) with one
/// forward pass when it is small, and the vocabulary (SentencePiece or byte-level BPE) as
/// the tokenizer targets use theirs.
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = FileBytes(copying: UnsafeBufferPointer(start: data, count: size), name: "fuzz.gguf")
    guard let file = try? GGUFFile(bytes: bytes) else { return 0 }
    for info in file.tensorInfos { _ = try? file.tensor(info) }
    _ = try? GGUFModelMetadata(file.metadata)
    _ = try? LlamaModel.configuration(gguf: file).validate()
    _ = try? Gemma3Model.configuration(gguf: file).validate()
    // The registered architecture of the file; any other name builds a Llama model, so
    // that mutated names still reach the model code.
    let name = try? file.metadata.require("general.architecture", GGUFMetadata.string)
    let architecture = name.flatMap { ModelArchitectures.gguf($0) } ?? LlamaModel.self
    runSmallModel(try? architecture.model(gguf: file, backend: NaiveBackend()))
    // SentencePiece or byte-level BPE, as tokenizer.ggml.model says.
    if let tokenizer = try? TokenizerLoader.load(gguf: file.metadata, source: file.path) {
        exercise(tokenizer)
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
