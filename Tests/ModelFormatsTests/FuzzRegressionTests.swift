import Foundation
import ModelFormats
import TensorCore
import Testing
import TestSupport

/// Every crash input the fuzzers found for the model file readers
/// (`Tests/Fixtures/fuzz/<target>/`), read through the same calls as the fuzz target:
/// each must load or throw, never crash.
struct FuzzRegressionTests {
    @Test(arguments: FuzzFixtures.names("gguf"))
    func gguf(name: String) throws {
        guard let file = try? GGUFFile(contentsOf: FuzzFixtures.url("gguf", name)) else { return }
        for info in file.tensorInfos { _ = try? file.tensor(info) }
        _ = try? GGUFModelMetadata(file.metadata)
        _ = try? GGUFTokenizerMetadata(file.metadata)
    }

    @Test(arguments: FuzzFixtures.names("safetensors"))
    func safetensors(name: String) throws {
        guard let file = try? SafetensorsFile(contentsOf: FuzzFixtures.url("safetensors", name)) else { return }
        for info in file.tensorInfos {
            guard let tensor = try? file.tensor(named: info.name) else { continue }
            if info.byteRange.count <= 1 << 16 { _ = try? Tensor(converting: tensor, to: .f32) }
        }
    }

    @Test(arguments: FuzzFixtures.names("llama2c"))
    func llama2c(name: String) throws {
        _ = try? Llama2cCheckpoint(contentsOf: FuzzFixtures.url("llama2c", name))
    }

    @Test(arguments: FuzzFixtures.names("hf-config"))
    func huggingFaceConfig(name: String) throws {
        _ = try? HuggingFaceConfig.load(from: FuzzFixtures.url("hf-config", name))
    }
}
