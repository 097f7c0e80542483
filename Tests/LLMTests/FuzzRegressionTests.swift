import Foundation
import LLM
import ModelFormats
import TensorCore
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
        // As the loader reads it (validated), and as the fuzz target decodes it (not
        // validated: a library caller may build the configuration from any numbers).
        let url = FuzzFixtures.url("hf-config", name)
        let decoded = try? JSONDecoder().decode(HuggingFaceConfig.self, from: Data(contentsOf: url))
        for config in [try? HuggingFaceConfig.load(from: url), decoded].compactMap({ $0 }) {
            for architecture in [LlamaModel.self, Qwen2Model.self, Qwen3Model.self] as [any ModelArchitecture.Type] {
                _ = try? architecture.model(huggingFace: config, weights: EmptyWeights(), backend: NaiveBackend())
            }
            if let configuration = try? LlamaModel.configuration(huggingFace: config) { _ = try? configuration.validate() }
        }
    }

    @Test(arguments: FuzzFixtures.names("llama2c"))
    func llama2cConfiguration(name: String) throws {
        guard let checkpoint = try? Llama2cCheckpoint(contentsOf: FuzzFixtures.url("llama2c", name)) else { return }
        _ = try? LlamaModel.configuration(llama2c: checkpoint.header).validate()
    }
}

/// A weight source without tensors: building a model from it goes as far as the
/// configuration and the first missing weight.
private struct EmptyWeights: WeightSource {
    var path: String { "empty" }
    func contains(_ name: String) -> Bool { false }
    func tensor(named name: String) throws -> Tensor {
        throw ModelError.invalidWeight(name: name, file: path, problem: "is missing")
    }
}
