import Foundation
import Tokenizers

/// A conversation with a chat model that keeps its KV cache between turns: a
/// follow-up message processes only the tokens that are new since the last turn.
///
/// Each turn renders the whole conversation with the chat template, finds how much
/// of it the cache already holds (the common prefix of the new prompt and the tokens
/// in the cache), drops the rest of the cache and processes only what follows.
///
/// ```swift
/// let chat = try ChatSession(model: model, systemPrompt: "You are terse.")
/// print(try await chat.respond(to: "What is the capital of France?"))
/// for try await event in await chat.streamResponse(to: "And of Italy?") {
///     if case let .chunk(text) = event { print(text, terminator: "") }
/// }
/// ```
public actor ChatSession {
    public let model: LanguageModel
    public let template: ChatTemplate
    public var parameters: GenerateParameters
    /// The conversation so far.
    public private(set) var messages: [ChatMessage]
    private var state: InferenceState?
    /// The tokens whose keys and values are in the cache.
    private var cachedTokens: [Int] = []
    private let tokenizer: any Tokenizer

    /// - Parameters:
    ///   - template: the prompt format; by default the one the model's file names
    ///     (an error if the file names none or one this library does not recognise).
    public init(
        model: LanguageModel, template: ChatTemplate? = nil, systemPrompt: String? = nil,
        parameters: GenerateParameters = GenerateParameters()
    ) throws {
        guard let chosen = template ?? model.chatTemplate else {
            throw TokenizerError(
                .unknownTemplate,
                "the model names no chat template this library recognises; choose one of \(ChatTemplate.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self.model = model
        self.template = chosen
        self.parameters = parameters
        tokenizer = try model.requireTokenizer()
        messages = systemPrompt.map { [.system($0)] } ?? []
    }

    /// Starts over, optionally with a new system prompt; the cache is kept for reuse
    /// as far as the new conversation matches it.
    public func reset(systemPrompt: String? = nil) {
        messages = systemPrompt.map { [.system($0)] } ?? []
    }

    /// How many tokens the cache holds.
    public var cachedTokenCount: Int { cachedTokens.count }

    /// Sends `message` and returns the whole reply.
    public func respond(to message: String) async throws -> String {
        var reply = ""
        for try await event in streamResponse(to: message) {
            if case let .chunk(text) = event { reply += text }
        }
        return reply
    }

    /// Sends `message` and streams the reply. The reply joins the conversation when
    /// the stream ends (also when it is cancelled, with what was generated).
    public func streamResponse(to message: String) -> AsyncThrowingStream<GenerationEvent, Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    let info = try self.runTurn(message) { event in
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

    private func runTurn(_ message: String, emit: (GenerationEvent) -> Bool) throws -> GenerationInfo {
        messages.append(.user(message))
        let prompt = template.encode(messages, with: tokenizer)
        let state = try self.state ?? model.model.makeState(
            context: model.resolveContext(parameters.context), batchCapacity: parameters.prefillStepSize,
            cacheType: parameters.cacheType)
        self.state = state
        var reused = zip(prompt, cachedTokens).prefix { $0 == $1 }.count
        if reused == prompt.count { reused -= 1 }  // the last prompt token must run to give logits
        state.cache.trim(to: reused)
        cachedTokens = Array(prompt.prefix(reused))
        let generator = TokenGenerator(model: model.model, tokenizer: tokenizer, parameters: parameters)
        var reply = ""
        let info: GenerationInfo
        do {
            info = try generator.run(prompt: prompt, newTokens: Array(prompt[reused...]), state: state) { event in
                if case let .chunk(text) = event { reply += text }
                return emit(event)
            }
        } catch {
            messages.removeLast()
            cachedTokens = Array(cachedTokens.prefix(state.position))
            throw error
        }
        let all = prompt + info.generatedTokens
        cachedTokens = Array(all.prefix(state.position))
        messages.append(.assistant(reply))
        return info
    }
}
