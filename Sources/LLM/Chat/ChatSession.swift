import Foundation
import Logging
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
/// for try await text in await chat.streamResponse(to: "And of Italy?").text {
///     print(text, terminator: "")
/// }
/// ```
public actor ChatSession {
    /// The logger a session reports to unless it is given one (`SwiftLlama.ChatSession`).
    public static let defaultLogger = Logger(label: "SwiftLlama.ChatSession")

    /// The model that replies.
    public let model: LanguageModel
    /// The prompt format the conversation is rendered with.
    public let template: ChatTemplate
    /// The settings of the replies.
    public var parameters: GenerateParameters
    /// The conversation so far.
    public private(set) var messages: [ChatMessage]
    private var state: InferenceState?
    /// The tokens whose keys and values are in the cache.
    private var cachedTokens: [Int] = []
    private let tokenizer: any Tokenizer

    /// A new conversation.
    ///
    /// - Parameters:
    ///   - model: the model that replies; it needs a tokenizer.
    ///   - template: the prompt format; by default the one the model's file names
    ///     (an error if the file names none or one this library does not recognise).
    ///   - systemPrompt: the conversation's first, system message, if any.
    ///   - parameters: the settings of the replies.
    ///   - logger: where the session reports, at `debug` level, the template it chose and
    ///     why.
    public init(
        model: LanguageModel, template: ChatTemplate? = nil, systemPrompt: String? = nil,
        parameters: GenerateParameters = GenerateParameters(), logger: Logger = ChatSession.defaultLogger
    ) throws {
        guard let chosen = template ?? model.chatTemplate else {
            throw TokenizerError(
                .unknownTemplate,
                "the model names no chat template this library recognises; choose one of \(ChatTemplate.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        logger.debug(
            "chat template",
            metadata: ["template": "\(chosen.rawValue)", "chosen by": template == nil ? "the model" : "the caller"])
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

    /// Sends `message` and returns the whole reply. Cancelling the calling task stops
    /// the reply before its next token; what was generated joins the conversation and
    /// is returned.
    ///
    /// Nonisolated so that the reply is read off the actor, which the generation
    /// occupies: read on it, the loop could not ask for the next piece, and so could
    /// not pass on a cancellation, until the generation had ended.
    public nonisolated func respond(to message: String) async throws -> String {
        var reply = ""
        for try await text in await streamResponse(to: message).text { reply += text }
        return reply
    }

    /// Sends `message` and streams the reply's text and, at the end, a
    /// ``GenerationInfo``.
    ///
    /// The reply joins the conversation when generation stops, also when it stops
    /// early: cancelling the consuming task stops it before its next token (the summary
    /// still comes, with ``StopReason/cancelled``), and so does breaking out of the
    /// loop or dropping the stream. See ``GenerationStream``.
    ///
    /// ```swift
    /// for try await text in await chat.streamResponse(to: "And of Italy?").text {
    ///     print(text, terminator: "")
    /// }
    /// ```
    public func streamResponse(to message: String) -> GenerationStream<GenerationEvent> {
        GenerationStream { channel in
            Task {
                do {
                    let info = try self.runTurn(message) { channel.yield(.chunk($0)) }
                    channel.yield(.info(info))
                    channel.finish()
                } catch {
                    channel.finish(throwing: error)
                }
            }
        }
    }

    private func runTurn(_ message: String, emit: (String) -> Bool) throws -> GenerationInfo {
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
        let info: GenerationInfo
        do {
            let generator = try TokenGenerator(
                model: model.model, tokenizer: tokenizer, parameters: parameters, prompt: prompt,
                newTokens: Array(prompt[reused...]), state: state)
            info = try generator.runText(emit)
        } catch {
            messages.removeLast()
            cachedTokens = Array(cachedTokens.prefix(state.position))
            throw error
        }
        let all = prompt + info.generatedTokens
        cachedTokens = Array(all.prefix(state.position))
        messages.append(.assistant(info.text))
        return info
    }
}
