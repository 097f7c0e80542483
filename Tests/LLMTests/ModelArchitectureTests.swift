import Foundation
import LLM
import Logging
import ModelFormats
import TensorCore
import Testing
import TestSupport
import Tokenizers

/// The architecture registry: which type a file's architecture name picks, the errors
/// for names no architecture claims, architectures given by the caller, and the log of
/// what was loaded.
struct ModelArchitectureTests {
    @Test func builtInArchitecturesAreFoundByTheirFileNames() {
        #expect(ModelArchitectures.gguf("llama") == LlamaModel.self)
        #expect(ModelArchitectures.gguf("gemma3") == Gemma3Model.self)
        #expect(ModelArchitectures.gguf("qwen2") == Qwen2Model.self)
        #expect(ModelArchitectures.gguf("qwen3") == Qwen3Model.self)
        #expect(ModelArchitectures.gguf("phi3") == nil)
        for name in ["LlamaForCausalLM", "MistralForCausalLM", "YiForCausalLM"] {
            #expect(ModelArchitectures.huggingFace(name) == LlamaModel.self)
        }
        #expect(ModelArchitectures.huggingFace("Qwen2ForCausalLM") == Qwen2Model.self)
        #expect(ModelArchitectures.huggingFace("Qwen3ForCausalLM") == Qwen3Model.self)
        #expect(ModelArchitectures.huggingFace("Phi3ForCausalLM") == nil)
        #expect(ModelArchitectures.huggingFace("Gemma3ForCausalLM") == nil)
        // Every built-in architecture has its own GGUF name.
        let names = ModelArchitectures.builtIn.map { $0.ggufName }
        #expect(Set(names).count == names.count)
    }

    /// A checkpoint whose `config.json` names an architecture this library does not run
    /// is an error naming it, not a Llama model built from other weights.
    @Test func aHuggingFaceArchitectureNoOneClaimsIsAnError() throws {
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let source = Fixtures.url("models/llama-mha")
        for file in ["model.safetensors", "tokenizer.json", "tokenizer_config.json"] {
            try FileManager.default.copyItem(at: source.appendingPathComponent(file), to: folder.appendingPathComponent(file))
        }
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: source.appendingPathComponent("config.json"))) as! [String: Any]
        config["architectures"] = ["Phi3ForCausalLM"]
        try JSONSerialization.data(withJSONObject: config).write(to: folder.appendingPathComponent("config.json"))
        let error = #expect(throws: ModelError.self) { try ModelLoader.load(from: folder, backend: NaiveBackend()) }
        let message = error.map { "\($0)" } ?? ""
        #expect(message.contains("'Phi3ForCausalLM' is not supported"))
        #expect(message.contains("LlamaForCausalLM"))
    }

    /// The loader looks architectures up in the list it is given, in order.
    @Test func theCallersArchitecturesAreTheOnesLookedUp() throws {
        let file = Fixtures.url("models/llama-mha/model-f32.gguf")
        let error = #expect(throws: ModelError.self) {
            try ModelLoader.load(from: file, backend: NaiveBackend(), architectures: [Gemma3Model.self])
        }
        #expect(error.map { "\($0)" }?.contains("architecture 'llama' is not supported (gemma3 are)") == true)

        let model = try ModelLoader.load(from: file, backend: NaiveBackend(), architectures: [CountingLlama.self, LlamaModel.self])
        #expect(model.model is CountingLlama)
        let reference = try ModelLoader.load(from: file, backend: NaiveBackend())
        #expect(reference.model is LlamaModel)
        let tokens = [1, 5, 9]
        let state = try model.model.makeState(context: 8, batchCapacity: 4, cacheType: .f32)
        let expected = try reference.model.makeState(context: 8, batchCapacity: 4, cacheType: .f32)
        #expect(try model.model.process(tokens, state: state) == reference.model.process(tokens, state: expected))
        #expect((model.model as? CountingLlama)?.passes.value == 1)
    }

    /// Loading logs the file, the architecture chosen and the model's sizes at `.debug`.
    @Test func loadingLogsTheArchitectureChosen() throws {
        let records = LockedRecords()
        var logger = Logger(label: "test") { _ in RecordingHandler(records: records) }
        logger.logLevel = .debug
        _ = try ModelLoader.load(from: Fixtures.url("models/llama-mha/model-f32.gguf"), backend: NaiveBackend(), logger: logger)
        let loaded = records.value.first { $0.message == "loaded model" }
        #expect(loaded?.metadata["architecture"] == "LlamaModel")
        #expect(loaded?.metadata["format"] == "gguf")
        #expect(loaded?.metadata["layers"] != nil)
    }

    /// A chat session logs the template it uses and who chose it, at `.info`.
    @Test func aChatSessionLogsItsTemplate() throws {
        let records = LockedRecords()
        var logger = Logger(label: "test") { _ in RecordingHandler(records: records) }
        logger.logLevel = .debug
        let model = try ModelLoader.load(from: Fixtures.url("models/llama-mha"), backend: NaiveBackend())
        _ = try ChatSession(model: model, template: .chatml, logger: logger)
        let chosen = records.value.first { $0.message == "chat template" }
        #expect(chosen?.metadata["template"] == ChatTemplate.chatml.rawValue)
        #expect(chosen?.metadata["chosen by"] == "the caller")
        logger.logLevel = .notice
        _ = try ChatSession(model: model, template: .chatml, logger: logger)
        #expect(records.value.filter { $0.message == "chat template" }.count == 1)
    }
}

/// An architecture from outside the library: Llama, counting its forward passes.
private final class CountingLlama: ModelArchitecture {
    static let ggufName = "llama"
    let inner: LlamaModel
    let passes = LockedCounter()

    init(gguf file: GGUFFile, backend: any Backend) throws { inner = try LlamaModel(gguf: file, backend: backend) }

    var configuration: ModelConfiguration { inner.configuration }
    var backend: any Backend { inner.backend }

    func makeState(context: Int, batchCapacity: Int, cacheType: ElementType) throws -> InferenceState {
        try inner.makeState(context: context, batchCapacity: batchCapacity, cacheType: cacheType)
    }

    func forward(_ tokens: [Int], state: InferenceState, allLogits: Tensor?) throws {
        passes.increment()
        try inner.forward(tokens, state: state, allLogits: allLogits)
    }
}

private final class LockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.withLock { count } }
    func increment() { lock.withLock { count += 1 } }
}

private struct LogRecord: Sendable {
    let message: String
    let metadata: [String: String]
}

private final class LockedRecords: @unchecked Sendable {
    private let lock = NSLock()
    private var records: [LogRecord] = []
    var value: [LogRecord] { lock.withLock { records } }
    func append(_ record: LogRecord) { lock.withLock { records.append(record) } }
}

/// A log handler that keeps every record.
private struct RecordingHandler: LogHandler {
    let records: LockedRecords
    var logLevel: Logger.Level = .trace
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        records.append(LogRecord(
            message: "\(event.message)", metadata: (event.metadata ?? [:]).mapValues { "\($0)" }))
    }
}
