import Foundation
import LLM
import ModelFormats
import TensorCore
import Testing
import TestSupport
import Tokenizers
import WeightConverter

/// The converter against llama.cpp's own `convert_hf_to_gguf.py`, whose outputs for the
/// tiny Hugging Face fixtures are committed next to them (c392e50 for the Llama 2-style
/// models with SentencePiece tokenizers; 0c1e570 for Llama 3, Qwen 2 and Qwen 3 with
/// byte-level tokenizers): the same tensors (names, shapes, types) with the same bytes,
/// the same model and tokenizer metadata, and the same logits.
struct ConverterTests {
    static let models = ["llama-mha", "yi-gqa-bf16-sharded", "llama-tied", "llama3-rope", "qwen2-bias", "qwen3-qknorm"]
    static let types: [(ElementType, String)] = [(.f32, "model-f32.gguf"), (.f16, "model-f16.gguf"), (.q8_0, "model-q8_0.gguf")]

    /// The conversions of `model` committed beside it.
    static func committedTypes(_ model: String) -> [(ElementType, String)] {
        types.filter { FileManager.default.fileExists(atPath: Fixtures.url("models/\(model)/\($0.1)").path) }
    }

    /// Metadata that describes the model and its tokenizer (general.name and
    /// general.size_label are labels and may differ).
    static func comparableKeys(_ file: GGUFFile) -> [String] {
        let architecture = (try? file.metadata.string("general.architecture")) ?? "llama"
        return file.metadata.keys.filter { $0.hasPrefix(architecture + ".") || $0.hasPrefix("tokenizer.") || $0 == "general.architecture"
            || $0 == "general.file_type" || $0 == "general.quantization_version" }.sorted()
    }

    @Test(arguments: models)
    func huggingFaceConversionMatchesLlamaCpp(model: String) throws {
        let folder = Fixtures.url("models/\(model)")
        let output = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: output) }
        #expect(!Self.committedTypes(model).isEmpty)
        for (type, name) in Self.committedTypes(model) {
            let url = output.appendingPathComponent(name)
            try WeightConverter.convertHuggingFace(folder: folder, to: url, options: ConversionOptions(outputType: type))
            let ours = try GGUFFile(contentsOf: url)
            let theirs = try GGUFFile(contentsOf: folder.appendingPathComponent(name))
            #expect(Set(ours.tensorInfos.map(\.name)) == Set(theirs.tensorInfos.map(\.name)), "\(model) \(name)")
            for info in theirs.tensorInfos {
                let mine = try #require(ours.tensorInfo(named: info.name), "\(model) \(name): \(info.name) missing")
                #expect(mine.dimensions == info.dimensions && mine.type == info.type, "\(model) \(name) \(info.name): \(mine.dimensions) \(mine.type) vs \(info.dimensions) \(info.type)")
                let a = UnsafeRawBufferPointer(start: ours.bytes.baseAddress + mine.offset, count: mine.byteCount)
                let b = UnsafeRawBufferPointer(start: theirs.bytes.baseAddress + info.offset, count: info.byteCount)
                #expect(a.elementsEqual(b), "\(model) \(name) \(info.name): the data differs from llama.cpp's")
            }
            #expect(Self.comparableKeys(ours) == Self.comparableKeys(theirs), "\(model) \(name) metadata keys")
            for key in Self.comparableKeys(theirs) {
                #expect(ours.metadata[key] == theirs.metadata[key], "\(model) \(name) \(key): \(String(describing: ours.metadata[key])) vs \(String(describing: theirs.metadata[key]))")
            }
        }
    }

    /// A converted file runs: the same logits as llama.cpp's conversion of the same folder.
    @Test(arguments: models)
    func convertedModelGivesLlamaCppsLogits(model: String) throws {
        let output = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: output) }
        let url = output.appendingPathComponent("converted.gguf")
        try WeightConverter.convertHuggingFace(folder: Fixtures.url("models/\(model)"), to: url, options: ConversionOptions(outputType: .f32))
        let backend = NaiveBackend()
        let ours = try ModelLoader.load(from: url, backend: backend)
        let theirs = try ModelLoader.load(from: Fixtures.url("models/\(model)/model-f32.gguf"), backend: backend)
        let ids = [1, 358, 391, 381, 272, 323, 301, 240, 101, 1500, 2000].filter { $0 < ours.configuration.vocabularySize }
        let a = try ours.model.process(ids, state: ours.model.makeState(context: 16, batchCapacity: 16, cacheType: .f32))
        let b = try theirs.model.process(ids, state: theirs.model.makeState(context: 16, batchCapacity: 16, cacheType: .f32))
        #expect(a == b)
        #expect(try ours.requireTokenizer().encode("The little cat") == theirs.requireTokenizer().encode("The little cat"))
    }

    /// Re-quantization, llama2.c conversion, and the type rules.
    @Test func requantizeAndLlama2c() throws {
        let output = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: output) }
        // GGUF f32 → q4_0: matrices q4_0, the output projection q8_0 (Q6_K where its rows are
        // whole 256-value blocks, which this model's are not; QuantizeRecipeTests checks
        // both against llama-quantize), norms f32, rows of 172 values (not whole blocks) f16.
        let q4 = output.appendingPathComponent("q4_0.gguf")
        var steps: [Int] = []
        try WeightConverter.requantize(
            gguf: Fixtures.url("models/llama-mha/model-f32.gguf"), to: q4, options: ConversionOptions(outputType: .q4_0)
        ) { steps.append($0.tensorIndex) }
        #expect(steps == Array(1...21))
        let file = try GGUFFile(contentsOf: q4)
        #expect(file.tensorInfo(named: "blk.0.attn_q.weight")?.type.name == "Q4_0")
        #expect(file.tensorInfo(named: "output.weight")?.type.name == "Q8_0")
        #expect(file.tensorInfo(named: "token_embd.weight")?.type.name == "Q4_0")
        #expect(file.tensorInfo(named: "blk.0.ffn_down.weight")?.type.name == "F16")
        #expect(file.tensorInfo(named: "blk.0.attn_norm.weight")?.type.name == "F32")
        #expect(try file.metadata.integer("general.file_type") == 2)
        _ = try ModelLoader.load(from: q4, backend: NaiveBackend())

        // A tied model: the token embedding takes the output projection's type.
        let tied = output.appendingPathComponent("tied-q5_0.gguf")
        try WeightConverter.convertHuggingFace(folder: Fixtures.url("models/llama-tied"), to: tied, options: ConversionOptions(outputType: .q5_0))
        #expect(try GGUFFile(contentsOf: tied).tensorInfo(named: "token_embd.weight")?.type.name == "Q8_0")

        // llama2.c: the tokenizer must fit the vocabulary.
        let stories = output.appendingPathComponent("stories.gguf")
        #expect(throws: ConversionError.self) {
            try WeightConverter.convertLlama2c(
                checkpoint: Fixtures.url("shared/stories260K.bin"), tokenizer: Fixtures.url("shared/llama2-tokenizer.model"),
                to: stories, options: ConversionOptions(outputType: .f32))
        }
        #expect(!FileManager.default.fileExists(atPath: stories.path))
    }

    /// A llama2.c checkpoint converted with a 512-piece tokenizer runs like the checkpoint.
    @Test func llama2cConversionKeepsTheModel() throws {
        let output = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: output) }
        let url = output.appendingPathComponent("stories.gguf")
        try WeightConverter.convertLlama2c(
            checkpoint: Fixtures.url("shared/stories260K.bin"), tokenizer: Fixtures.url("models/tokenizer/tokenizer.model"),
            to: url, options: ConversionOptions(outputType: .f32))
        let backend = NaiveBackend()
        let converted = try ModelLoader.load(from: url, backend: backend)
        let original = try ModelLoader.load(from: Fixtures.url("shared/stories260K.bin"), backend: backend)
        let ids = [1, 461, 461, 401, 401, 401, 461, 378]
        let a = try converted.model.process(ids, state: converted.model.makeState(context: 16, batchCapacity: 16, cacheType: .f32))
        let b = try original.model.process(ids, state: original.model.makeState(context: 16, batchCapacity: 16, cacheType: .f32))
        #expect(a == b)
        #expect(converted.tokenizer?.vocabularySize == 512)
    }
}
