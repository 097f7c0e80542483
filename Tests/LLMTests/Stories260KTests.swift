import BLASBackend
import Foundation
import LLM
import TensorCore
import Testing
import TestSupport

struct Stories260KTests {
    static let registry: BackendRegistry = {
        var registry = BackendRegistry()
        registry.register(BLASBackend.self)
        return registry
    }()

    static func load(_ backend: String) throws -> LanguageModel {
        try ModelLoader.load(
            from: Fixtures.url("shared/stories260K.bin"),
            backend: registry.makeBackend(named: backend, configuration: .init(threadCount: 2)))
    }

    @Test(arguments: ["naive", "blas"])
    func greedyFromBOS(backend: String) async throws {
        let model = try Self.load(backend)
        var parameters = GenerateParameters.greedy
        parameters.maxTokens = 60
        let (_, info) = try await model.generateText(promptTokens: [1], parameters: parameters)
        print("\(backend): \(info.generatedTokens)")
    }
}
