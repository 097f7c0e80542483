import BLASBackend
import Foundation
import LLM
import ModelFormats
import TensorCore
import Testing
import TestSupport
import Tokenizers

/// Tiny random models of today's Llama-family architectures, made with Hugging Face
/// transformers (`Scripts/generate_family_fixtures.py`), each with a byte-level BPE
/// tokenizer:
/// - `llama3-rope`: `LlamaForCausalLM` with Llama 3's `rope_scaling` (its 8 frequencies
///   fall in all three bands of the rule: kept, interpolated, divided);
/// - `qwen2-bias`: `Qwen2ForCausalLM`, random non-zero Q/K/V biases, tied embeddings;
/// - `qwen3-qknorm`: `Qwen3ForCausalLM`, per-head Q/K norms, a head width of 32 on a
///   width of 64.
/// Each is loaded from its safetensors folder and from llama.cpp's own GGUF conversion
/// (`convert_hf_to_gguf.py` of llama.cpp 0c1e570), on both backends, and compared with
/// transformers' float32 logits and greedy continuations.
struct ModelFamilyTests {
    /// The prompts of `reference.json`, as for the Llama fixtures (no perplexity here).
    struct Reference: Decodable { let prompts: [HuggingFaceModelTests.Reference.Prompt] }

    static let models = ["llama3-rope", "qwen2-bias", "qwen3-qknorm"]
    static let architectures: [String: any ModelArchitecture.Type] = [
        "llama3-rope": LlamaModel.self, "qwen2-bias": Qwen2Model.self, "qwen3-qknorm": Qwen3Model.self,
    ]
    /// Every weight source of each model: its folder, llama.cpp's f32 conversion, and for
    /// the Qwen 2 model llama.cpp's f16 conversion (biases and norms stay f32 in it).
    static let cases: [(String, String)] =
        models.flatMap { [($0, "folder"), ($0, "model-f32.gguf")] } + [("qwen2-bias", "model-f16.gguf")]

    static func reference(_ model: String) throws -> Reference {
        try Fixtures.json(Reference.self, "models/\(model)/reference.json")
    }

    static func load(_ model: String, source: String, backend: String) throws -> LanguageModel {
        var registry = BackendRegistry()
        registry.register(BLASBackend.self)
        let folder = Fixtures.url("models/\(model)")
        let url = source == "folder" ? folder : folder.appendingPathComponent(source)
        return try ModelLoader.load(from: url, backend: registry.makeBackend(named: backend, configuration: .init(threadCount: 2)))
    }

    /// f32 weights: float32 rounding only, 1e-4 absolute. f16 weights: each weight moves
    /// by up to 2⁻¹¹ of itself (and the BLAS backend may round activations to f16), 5e-3
    /// of the prompt's largest logit, as for the Llama fixtures.
    static func tolerance(source: String, scale: Float) -> Float {
        source == "model-f16.gguf" ? 5e-3 * scale : 1e-4
    }

    @Test(arguments: cases)
    func lastLogitsMatchTransformers(model: String, source: String) throws {
        let reference = try Self.reference(model)
        for backend in ["naive", "blas"] {
            let loaded = try Self.load(model, source: source, backend: backend)
            #expect(type(of: loaded.model) == Self.architectures[model]!, "\(model) \(source)")
            for prompt in reference.prompts {
                let state = try loaded.model.makeState(context: 256, batchCapacity: 64, cacheType: .f32)
                let logits = try loaded.model.process(prompt.ids, state: state)
                let expected = prompt.last_logits.map(Float.init)
                let difference = zip(logits, expected).map { abs($0 - $1) }.max()!
                let tolerance = Self.tolerance(source: source, scale: expected.map(abs).max()!)
                #expect(difference <= tolerance, "\(model) \(source) \(backend) \(prompt.name): max |Δ| \(difference) > \(tolerance)")
            }
        }
    }

    /// The 32-token greedy continuation equals transformers' (all of it for f32 weights;
    /// for f16 up to the first step whose top two logits transformers had closer than
    /// twice the tolerance).
    @Test(arguments: cases)
    func greedyContinuationsMatchTransformers(model: String, source: String) async throws {
        let reference = try Self.reference(model)
        let loaded = try Self.load(model, source: source, backend: "blas")
        for prompt in reference.prompts {
            let scale = prompt.last_logits.map { Float(abs($0)) }.max()!
            let tolerance = 2 * Self.tolerance(source: source, scale: scale)
            let comparable = prompt.greedy.top1_top2_logit_margin.firstIndex { $0 < tolerance } ?? prompt.greedy.new_ids.count
            var parameters = GenerateParameters.greedy
            parameters.maxTokens = 32
            parameters.stopAtEndOfSequence = false
            parameters.context = 256
            let (_, info) = try await loaded.generateText(promptTokens: prompt.ids, parameters: parameters)
            #expect(Array(info.generatedTokens.prefix(comparable)) == Array(prompt.greedy.new_ids.prefix(comparable)),
                    "\(model) \(source) \(prompt.name) (compared \(comparable) tokens)")
            if source != "model-f16.gguf" { #expect(comparable == 32, "\(model) \(prompt.name)") }
        }
    }

    /// The folder's tokenizer.json and the GGUF file's byte-level vocabulary both give
    /// transformers' prompt ids (Llama 3 style: BOS added; Qwen: nothing added).
    @Test(arguments: models)
    func promptIDsMatchTransformers(model: String) throws {
        let reference = try Self.reference(model)
        let folder = try TokenizerLoader.load(from: Fixtures.url("models/\(model)"))
        let gguf = try TokenizerLoader.load(from: Fixtures.url("models/\(model)/model-f32.gguf"))
        for prompt in reference.prompts {
            #expect(folder.encode(prompt.text) == prompt.ids, "\(model) \(prompt.name) (tokenizer.json)")
            #expect(gguf.encode(prompt.text) == prompt.ids, "\(model) \(prompt.name) (GGUF)")
        }
    }

    /// Llama 3's frequency rule from config.json gives the divisors transformers applies
    /// to `inv_freq` (the ratio of its unscaled to its scaled frequencies), and llama.cpp's
    /// `rope_freqs.weight` holds the same.
    @Test func llama3FrequencyFactorsMatchTransformers() throws {
        struct Rope: Decodable { let rope: Values; struct Values: Decodable { let default_over_llama3: [Float] } }
        let expected = try Fixtures.json(Rope.self, "models/llama3-rope/reference.json").rope.default_over_llama3
        let config = try HuggingFaceConfig.load(from: Fixtures.url("models/llama3-rope/config.json"))
        let file = try GGUFFile(contentsOf: Fixtures.url("models/llama3-rope/model-f32.gguf"))
        for (source, factors) in [
            ("config.json", try LlamaModel.configuration(huggingFace: config).ropeFrequencyFactors),
            ("GGUF", try LlamaModel.configuration(gguf: file).ropeFrequencyFactors),
        ] {
            let factors = try #require(factors, "\(source)")
            #expect(factors.count == expected.count)
            for (a, b) in zip(factors, expected) { #expect(abs(a / b - 1) < 1e-6, "\(source): \(factors) vs \(expected)") }
        }
        // Without the rule the model would differ from transformers by up to 0.23 on these
        // prompts (reference.json "sensitivity"); the tests above hold it to 1e-4.
        #expect(expected.contains { $0 > 1 } && expected.contains { $0 == 1 })
    }

    /// A file whose rope_freqs.weight does not fit the head, or holds a non-positive
    /// factor, is refused with the tensor's name.
    @Test func badFrequencyFactorsAreRefused() throws {
        var config = ModelConfiguration(
            vocabularySize: 8, embeddingLength: 8, layerCount: 1, headCount: 1, kvHeadCount: 1, feedForwardLength: 8,
            rmsNormEpsilon: 1e-5, ropeBase: 10_000, ropeLayout: .interleaved, ropeFrequencyFactors: [1, 2, 3],
            contextLength: 16, tiedEmbeddings: true)
        #expect(throws: ModelError.self) { try config.validate() }
        config.ropeFrequencyFactors = [1, 2, 0, 4]
        #expect(throws: ModelError.self) { try config.validate() }
        config.ropeFrequencyFactors = [1, 2, 3, 4]
        try config.validate()
    }

    /// A GGUF file with a RoPE scaling this library does not apply (`yarn`) is refused
    /// with the key, not run with other positions than the model was trained with.
    @Test func unsupportedRopeScalingInGGUFIsRefused() throws {
        let source = try GGUFFile(contentsOf: Fixtures.url("models/llama-mha/model-f32.gguf"))
        var writer = GGUFWriter()
        for (key, value) in source.metadata.entries where key != "general.alignment" { writer.set(key, value) }
        writer.set("llama.rope.scaling.type", .string("yarn"))
        writer.set("llama.rope.scaling.factor", .float32(4))
        for info in source.tensorInfos {
            writer.addTensor(name: info.name, shape: info.shape, type: info.type.elementType!) { try source.tensor(info) }
        }
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("yarn.gguf")
        try writer.write(to: url, overwrite: false)
        let error = #expect(throws: ModelError.self) { try ModelLoader.load(from: url, backend: NaiveBackend()) }
        #expect(error.map { "\($0)" }?.contains("llama.rope.scaling.type 'yarn' is not supported") == true)
    }
}
