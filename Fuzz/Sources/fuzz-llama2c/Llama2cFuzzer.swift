import FuzzSupport
import LLM
import ModelFormats

/// A llama2.c checkpoint (legacy, version 1 or 2), then its model configuration.
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = FileBytes(copying: UnsafeBufferPointer(start: data, count: size), name: "fuzz.bin")
    guard let checkpoint = try? Llama2cCheckpoint(bytes: bytes) else { return 0 }
    _ = try? ModelConfiguration.llama(llama2c: checkpoint.header).validate()
    return 0
}

@_cdecl("LLVMFuzzerCustomMutator")
public func customMutator(_ data: UnsafeMutablePointer<UInt8>?, _ size: Int, _ maxSize: Int, _ seed: UInt32) -> Int {
    customMutate(data, size, maxSize, seed, Llama2cMutator.mutate)
}
