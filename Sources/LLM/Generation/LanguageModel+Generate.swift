import Foundation
import Tokenizers

extension LanguageModel {
    /// Generates a continuation of `prompt`, streaming token ids, text and, at the end,
    /// a ``GenerationInfo``. The prompt is encoded with the model's BOS setting.
    /// Cancelling the consuming task (or dropping the stream) stops the generation.
    public func generate(prompt: String, parameters: GenerateParameters = GenerateParameters()) -> AsyncThrowingStream<GenerationEvent, Error> {
        do {
            let ids = try requireTokenizer().encode(prompt)
            return generate(promptTokens: ids, parameters: parameters)
        } catch {
            return AsyncThrowingStream { $0.finish(throwing: error) }
        }
    }

    /// Generates a continuation of a prompt given as token ids.
    public func generate(promptTokens: [Int], parameters: GenerateParameters = GenerateParameters()) -> AsyncThrowingStream<GenerationEvent, Error> {
        AsyncThrowingStream { continuation in
            let task = Task.detached { [self] in
                do {
                    let state = try model.makeState(
                        context: try resolveContext(parameters.context),
                        batchCapacity: min(parameters.prefillStepSize, max(1, promptTokens.count)),
                        cacheType: parameters.cacheType)
                    let generator = TokenGenerator(model: model, tokenizer: tokenizer, parameters: parameters)
                    let info = try generator.run(prompt: promptTokens, newTokens: promptTokens, state: state) { event in
                        if Task.isCancelled { return false }
                        if case .terminated = continuation.yield(event) { return false }
                        return true
                    }
                    continuation.yield(.info(info))
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// Generates and collects the whole text.
    public func generateText(prompt: String, parameters: GenerateParameters = GenerateParameters()) async throws -> (text: String, info: GenerationInfo) {
        try await collect(generate(prompt: prompt, parameters: parameters))
    }

    /// Generates from token ids and collects the whole text.
    public func generateText(promptTokens: [Int], parameters: GenerateParameters = GenerateParameters()) async throws -> (text: String, info: GenerationInfo) {
        try await collect(generate(promptTokens: promptTokens, parameters: parameters))
    }

    private func collect(_ stream: AsyncThrowingStream<GenerationEvent, Error>) async throws -> (text: String, info: GenerationInfo) {
        var text = ""
        var info: GenerationInfo? = nil
        for try await event in stream {
            switch event {
            case let .chunk(chunk): text += chunk
            case let .info(summary): info = summary
            case .token: break
            }
        }
        guard let info else { throw CancellationError() }
        return (text, info)
    }
}
