import Foundation
import FuzzSupport
import TensorCore
import WeightConverter

/// The converter's configuration path: a Hugging Face folder whose `config.json` is the
/// input and whose weights and tokenizer are the `llama-mha` fixture's, converted to a
/// GGUF file in a temporary folder by the public entry point, as `llama convert` does.
func temporaryFolder() -> URL {
    let base = FileManager.default.fileExists(atPath: "/dev/shm") ? URL(fileURLWithPath: "/dev/shm") : FileManager.default.temporaryDirectory
    return base.appendingPathComponent("swiftllama-fuzz-converter-\(getpid())")
}

let folder: URL = {
    let folder = temporaryFolder()
    let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../../Tests/Fixtures/models/llama-mha").standardized
    try? FileManager.default.removeItem(at: folder)
    try! FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    for name in try! FileManager.default.contentsOfDirectory(atPath: fixture.path)
    where name != "config.json" && !name.hasSuffix(".gguf") && !name.hasPrefix("reference") && !name.hasPrefix("gguf-") {
        try! FileManager.default.createSymbolicLink(at: folder.appendingPathComponent(name), withDestinationURL: fixture.appendingPathComponent(name))
    }
    atexit { try? FileManager.default.removeItem(at: temporaryFolder()) }
    return folder
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let config = folder.appendingPathComponent("config.json")
    try! Data(UnsafeBufferPointer(start: data, count: size)).write(to: config)
    _ = try? WeightConverter.convertHuggingFace(
        folder: folder, to: folder.appendingPathComponent("out.gguf"), options: ConversionOptions(outputType: .f32, overwrite: true))
    return 0
}

@_cdecl("LLVMFuzzerCustomMutator")
public func customMutator(_ data: UnsafeMutablePointer<UInt8>?, _ size: Int, _ maxSize: Int, _ seed: UInt32) -> Int {
    customMutate(data, size, maxSize, seed, JSONMutator.mutate)
}
