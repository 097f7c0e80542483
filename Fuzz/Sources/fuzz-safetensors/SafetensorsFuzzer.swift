import FuzzSupport
import ModelFormats
import TensorCore

/// A `.safetensors` file: the header checks, then every tensor as the loaders take it
/// (a view, or a copy when unaligned), converted to `f32` when small.
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = FileBytes(copying: UnsafeBufferPointer(start: data, count: size), name: "fuzz.safetensors")
    guard let file = try? SafetensorsFile(bytes: bytes) else { return 0 }
    for info in file.tensorInfos {
        guard let tensor = try? file.tensor(named: info.name) else { continue }
        if info.byteRange.count <= 1 << 16 { _ = try? Tensor(converting: tensor, to: .f32) }
    }
    return 0
}

@_cdecl("LLVMFuzzerCustomMutator")
public func customMutator(_ data: UnsafeMutablePointer<UInt8>?, _ size: Int, _ maxSize: Int, _ seed: UInt32) -> Int {
    customMutate(data, size, maxSize, seed, SafetensorsMutator.mutate)
}
