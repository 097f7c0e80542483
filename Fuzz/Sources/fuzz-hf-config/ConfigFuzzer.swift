import Foundation
import FuzzSupport
import LLM
import ModelFormats

/// A Hugging Face `config.json`, decoded as `HuggingFaceConfig.load` decodes it, then
/// turned into a model configuration and validated, as the model loader does.
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let json = Data(UnsafeBufferPointer(start: data, count: size))
    guard let config = try? JSONDecoder().decode(HuggingFaceConfig.self, from: json) else { return 0 }
    if let configuration = try? LlamaModel.configuration(huggingFace: config) { _ = try? configuration.validate() }
    return 0
}

@_cdecl("LLVMFuzzerCustomMutator")
public func customMutator(_ data: UnsafeMutablePointer<UInt8>?, _ size: Int, _ maxSize: Int, _ seed: UInt32) -> Int {
    customMutate(data, size, maxSize, seed, JSONMutator.mutate)
}
