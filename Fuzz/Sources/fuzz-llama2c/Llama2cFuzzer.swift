import FuzzSupport
import LLM
import ModelFormats
import TensorCore

/// A llama2.c checkpoint (legacy, version 1 or 2), then its model configuration.
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = FileBytes(copying: UnsafeBufferPointer(start: data, count: size), name: "fuzz.bin")
    guard let checkpoint = try? Llama2cCheckpoint(bytes: bytes) else { return 0 }
    let configuration = LlamaModel.configuration(llama2c: checkpoint.header)
    _ = try? configuration.validate()
    if configuration.parameterCount < 1 << 18,
       let model = try? LlamaModel(configuration: configuration, weights: checkpoint, names: .meta, backend: NaiveBackend()),
       let state = try? model.makeState(context: 4, batchCapacity: 2, cacheType: .f32) {
        _ = try? model.process([0, min(1, configuration.vocabularySize - 1)], state: state)
    }
    return 0
}

@_cdecl("LLVMFuzzerCustomMutator")
public func customMutator(_ data: UnsafeMutablePointer<UInt8>?, _ size: Int, _ maxSize: Int, _ seed: UInt32) -> Int {
    customMutate(data, size, maxSize, seed, Llama2cMutator.mutate)
}
