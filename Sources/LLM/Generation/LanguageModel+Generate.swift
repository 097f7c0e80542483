import Foundation
import Tokenizers

extension LanguageModel {
    /// Generates a continuation of `prompt`, streaming its text and, at the end, a
    /// ``GenerationInfo``. The prompt is encoded with the model's BOS setting.
    ///
    /// ```swift
    /// for try await text in model.generate(prompt: "The capital of France is").text {
    ///     print(text, terminator: "")
    /// }
    /// ```
    ///
    /// Generation runs on a task of its own. Cancelling the consuming task stops it
    /// before its next token, and the stream still ends with the summary, whose stop
    /// reason is then ``StopReason/cancelled``; breaking out of the loop or dropping
    /// the stream stops it too. Errors (an invalid parameter, a prompt too long for
    /// the context, a failed forward pass) end the stream by throwing. See
    /// ``GenerationStream``.
    public func generate(prompt: String, parameters: GenerateParameters = GenerateParameters()) -> GenerationStream<GenerationEvent> {
        stream { try TokenGenerator(model: self, prompt: prompt, parameters: parameters) } run: { generator, channel in
            let info = try generator.runText { channel.yield(.chunk($0)) }
            channel.yield(.info(info))
        }
    }

    /// Generates a continuation of a prompt given as token ids, streaming its text and,
    /// at the end, a ``GenerationInfo``; as ``generate(prompt:parameters:)``.
    public func generate(promptTokens: [Int], parameters: GenerateParameters = GenerateParameters()) -> GenerationStream<GenerationEvent> {
        stream { try TokenGenerator(model: self, promptTokens: promptTokens, parameters: parameters) } run: { generator, channel in
            let info = try generator.runText { channel.yield(.chunk($0)) }
            channel.yield(.info(info))
        }
    }

    /// Generates a continuation of `prompt`, streaming each token (its id and the text
    /// it made certain) and, at the end, a ``GenerationInfo``, whose
    /// ``GenerationInfo/text`` also holds text released after the last token.
    /// Cancellation and errors as in ``generate(prompt:parameters:)``.
    public func generateTokens(prompt: String, parameters: GenerateParameters = GenerateParameters()) -> GenerationStream<TokenGenerationEvent> {
        stream { try TokenGenerator(model: self, prompt: prompt, parameters: parameters) } run: { generator, channel in
            try Self.streamTokens(generator, channel)
        }
    }

    /// Generates a continuation of a prompt given as token ids, streaming each token
    /// and, at the end, a ``GenerationInfo``; as ``generateTokens(prompt:parameters:)``.
    public func generateTokens(promptTokens: [Int], parameters: GenerateParameters = GenerateParameters()) -> GenerationStream<TokenGenerationEvent> {
        stream { try TokenGenerator(model: self, promptTokens: promptTokens, parameters: parameters) } run: { generator, channel in
            try Self.streamTokens(generator, channel)
        }
    }

    /// Generates a continuation of `prompt` and returns the whole text with the summary.
    ///
    /// Cancelling the calling task stops generation before its next token and returns
    /// what was generated, with ``StopReason/cancelled`` as the stop reason.
    public func generateText(prompt: String, parameters: GenerateParameters = GenerateParameters()) async throws -> (text: String, info: GenerationInfo) {
        try await collect { try TokenGenerator(model: self, prompt: prompt, parameters: parameters) }
    }

    /// Generates a continuation of a prompt given as token ids and returns the whole
    /// text with the summary; as ``generateText(prompt:parameters:)``.
    public func generateText(promptTokens: [Int], parameters: GenerateParameters = GenerateParameters()) async throws -> (text: String, info: GenerationInfo) {
        try await collect { try TokenGenerator(model: self, promptTokens: promptTokens, parameters: parameters) }
    }

    private static func streamTokens(_ generator: TokenGenerator, _ channel: GenerationStream<TokenGenerationEvent>.Channel) throws {
        while let token = try generator.next() {
            if !channel.yield(.token(token)) { generator.cancel() }
        }
        channel.yield(.info(generator.info!))
    }

    /// A stream fed by a generator running on a detached task (a forward pass blocks
    /// its thread); the consumer's cancellation, or its going away, cancels the task.
    private func stream<Event: Sendable>(
        make: @escaping @Sendable () throws -> TokenGenerator,
        run: @escaping @Sendable (TokenGenerator, GenerationStream<Event>.Channel) throws -> Void
    ) -> GenerationStream<Event> {
        GenerationStream { channel in
            Task.detached {
                do {
                    try run(try make(), channel)
                    channel.finish()
                } catch {
                    channel.finish(throwing: error)
                }
            }
        }
    }

    /// Runs a generator to the end on a detached task, which the calling task's
    /// cancellation cancels (the generator then stops with ``StopReason/cancelled``).
    private func collect(_ make: @escaping @Sendable () throws -> TokenGenerator) async throws -> (text: String, info: GenerationInfo) {
        let task = Task.detached { () throws -> GenerationInfo in
            let generator = try make()
            while try generator.next() != nil {}
            return generator.info!
        }
        let info = try await withTaskCancellationHandler { try await task.value } onCancel: { task.cancel() }
        return (info.text, info)
    }
}
