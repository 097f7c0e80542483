import Foundation
import LLM
import ModelFormats
import Testing
import TestSupport

/// The crash inputs of the fuzzers whose targets go on to the model configuration
/// (GGUF, config.json, llama2.c): read, configured and validated as the fuzz targets
/// do; each must succeed or throw, never crash.
struct FuzzRegressionTests {
    @Test(arguments: FuzzFixtures.names("gguf"))
    func ggufConfiguration(name: String) throws {
        guard let file = try? GGUFFile(contentsOf: FuzzFixtures.url("gguf", name)) else { return }
        _ = try? LlamaModel.configuration(gguf: file).validate()
        _ = try? Gemma3Model.configuration(gguf: file).validate()
    }

    @Test(arguments: FuzzFixtures.names("hf-config"))
    func huggingFaceConfiguration(name: String) throws {
        guard let config = try? HuggingFaceConfig.load(from: FuzzFixtures.url("hf-config", name)),
              let configuration = try? LlamaModel.configuration(huggingFace: config)
        else { return }
        _ = try? configuration.validate()
    }

    @Test(arguments: FuzzFixtures.names("llama2c"))
    func llama2cConfiguration(name: String) throws {
        guard let checkpoint = try? Llama2cCheckpoint(contentsOf: FuzzFixtures.url("llama2c", name)) else { return }
        _ = try? LlamaModel.configuration(llama2c: checkpoint.header).validate()
    }
}
