import Foundation
import Logging
import Tokenizers

/// A conversation with a chat model that keeps its KV cache between turns: a
/// follow-up message processes only the tokens that are new since the last turn.
///
/// Each turn renders the whole conversation with the model's chat format (the file's
/// own Jinja template; see ``ChatFormat``), finds how much of it the cache already holds
/// (the common prefix of the new prompt and the tokens in the cache), drops the rest of
/// the cache and processes only what follows. When the conversation no longer fits in
/// the context (leaving room for the reply), its oldest turns are dropped, the system
/// prompt kept, and ``droppedMessageCount`` says how many messages went.
///
/// ```swift
/// let chat = try ChatSession(model: model, systemPrompt: "You are terse.")
/// print(try await chat.respond(to: "What is the capital of France?"))
/// for try await text in await chat.streamResponse(to: "And of Italy?").text {
///     print(text, terminator: "")
/// }
/// ```
///
/// With ``tools``, the template shows the model the tools' definitions, and the calls
/// in a reply are parsed (``ToolCallFormat``) into the reply's
/// `ChatMessage.toolCalls`; answer them with `ChatMessage.tool(_:callID:name:)`
/// messages:
///
/// ```swift
/// let weather = try ToolDefinition(name: "get_weather", description: "Current weather for a city",
///     parameters: #"{"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}"#)
/// let chat = try ChatSession(model: model, tools: [weather])
/// _ = try await chat.respond(to: "What's the weather in Paris?")
/// for call in await chat.messages.last?.toolCalls ?? [] {
///     _ = try await chat.respond(to: .tool(#"{"temperature": 18}"#, callID: call.id, name: call.name))
/// }
/// ```
public actor ChatSession {
    /// The logger a session reports to unless it is given one (`SwiftLlama.ChatSession`).
    public static let defaultLogger = Logger(label: "SwiftLlama.ChatSession")

    /// The model that replies.
    public let model: LanguageModel
    /// How the conversation is written into the prompt.
    public nonisolated let format: ChatFormat
    /// How the conversation is written while there are ``tools``: ``format``, unless the
    /// model file has a template for tools apart (``LanguageModel/toolUseChatTemplateSource``)
    /// and the caller chose no format.
    public nonisolated let toolFormat: ChatFormat
    /// The settings of the replies.
    public var parameters: GenerateParameters
    /// The tools the model may call; the template shows their definitions, and a reply's
    /// calls are parsed out of its text. Empty: no tools, and replies are kept as text.
    public var tools: [ToolDefinition]
    /// The conversation so far.
    public private(set) var messages: [ChatMessage]
    /// How many of the oldest messages the last turn dropped so that the conversation
    /// fits in the context (0 when it fit).
    public private(set) var droppedMessageCount = 0
    private var state: InferenceState?
    /// The tokens whose keys and values are in the cache.
    private var cachedTokens: [Int] = []
    private let tokenizer: any Tokenizer

    /// A new conversation.
    ///
    /// - Parameters:
    ///   - model: the model that replies; it needs a tokenizer.
    ///   - format: how to write the conversation; by default the model's
    ///     (``LanguageModel/chatFormat(tools:)``: the file's Jinja template, else its
    ///     architecture's built-in format; an error if it has neither).
    ///   - template: a built-in format to use instead of the model's (ignored when
    ///     `format` is given).
    ///   - systemPrompt: the conversation's first, system message, if any.
    ///   - tools: the tools the model may call.
    ///   - parameters: the settings of the replies.
    ///   - logger: where the session reports, at `info` level, the format it chose and
    ///     who chose it.
    public init(
        model: LanguageModel, format: ChatFormat? = nil, template: ChatTemplate? = nil, systemPrompt: String? = nil,
        tools: [ToolDefinition] = [], parameters: GenerateParameters = GenerateParameters(),
        logger: Logger = ChatSession.defaultLogger
    ) throws {
        guard let chosen = try format ?? template.map(ChatFormat.init(builtIn:)) ?? model.chatFormat() else {
            throw TokenizerError(
                .unknownTemplate,
                "\(model.name) has no chat template and its architecture no built-in format; choose one of \(ChatTemplate.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        logger.info(
            "chat template",
            metadata: [
                "template": "\(chosen.builtIn?.rawValue ?? "jinja")", "chosen by": format == nil && template == nil ? "the model" : "the caller",
                "tool calls": "\(chosen.toolCallFormat.rawValue)",
            ])
        self.model = model
        self.format = chosen
        toolFormat = format == nil && template == nil ? try model.toolUseChatFormat() ?? chosen : chosen
        self.parameters = parameters
        self.tools = tools
        tokenizer = try model.requireTokenizer()
        messages = systemPrompt.map { [.system($0)] } ?? []
    }

    /// Starts over, optionally with a new system prompt; the cache is kept for reuse
    /// as far as the new conversation matches it.
    public func reset(systemPrompt: String? = nil) {
        messages = systemPrompt.map { [.system($0)] } ?? []
        droppedMessageCount = 0
    }

    /// Replaces the conversation with `messages` (one saved earlier, say); the next turn
    /// reuses the cache as far as the new conversation matches it.
    public func replaceMessages(with messages: [ChatMessage]) {
        self.messages = messages
        droppedMessageCount = 0
    }

    /// Sets the tools the model may call from the next turn on.
    public func setTools(_ tools: [ToolDefinition]) { self.tools = tools }

    /// How many tokens the cache holds.
    public var cachedTokenCount: Int { cachedTokens.count }

    /// Whether a reply is under way: from ``streamResponse(to:)-(String)`` until its turn
    /// has ended and the conversation holds its outcome, also when its stream was dropped.
    public var isResponding: Bool { turnsUnderWay > 0 }
    private var turnsUnderWay = 0

    /// Sends `message` as the user's and returns the whole reply. Cancelling the calling
    /// task stops the reply before its next token; what was generated joins the
    /// conversation and is returned.
    ///
    /// Nonisolated so that the reply is read off the actor, which the generation
    /// occupies: read on it, the loop could not ask for the next piece, and so could
    /// not pass on a cancellation, until the generation had ended.
    public nonisolated func respond(to message: String) async throws -> String {
        try await respond(to: .user(message))
    }

    /// Sends `message` (a user's message, or a tool's answer) and returns the reply's text.
    public nonisolated func respond(to message: ChatMessage) async throws -> String {
        var reply = ""
        for try await text in await streamResponse(to: message).text { reply += text }
        return reply
    }

    /// Sends `message` as the user's and streams the reply's text and, at the end, a
    /// ``GenerationInfo``.
    ///
    /// The reply joins the conversation when generation stops, also when it stops
    /// early: cancelling the consuming task stops it before its next token (the summary
    /// still comes, with ``StopReason/cancelled``), and so does breaking out of the
    /// loop or dropping the stream. See ``GenerationStream``. Cancelled before the reply's
    /// first token (while a long prompt is processed), the message and the reply are
    /// both left out of the conversation.
    ///
    /// ```swift
    /// for try await text in await chat.streamResponse(to: "And of Italy?").text {
    ///     print(text, terminator: "")
    /// }
    /// ```
    public func streamResponse(to message: String) -> GenerationStream<GenerationEvent> {
        streamResponse(to: .user(message))
    }

    /// Sends `message` (a user's message, or a tool's answer) and streams the reply as
    /// ``streamResponse(to:)-(String)`` does.
    public func streamResponse(to message: ChatMessage) -> GenerationStream<GenerationEvent> {
        turnsUnderWay += 1
        return GenerationStream { channel in
            Task {
                defer { self.turnsUnderWay -= 1 }
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

    /// The format of the next turn: with tools, ``toolFormat``.
    private var currentFormat: ChatFormat { tools.isEmpty ? format : toolFormat }

    /// The prompt for the conversation so far.
    private func prompt() throws -> [Int] {
        try currentFormat.promptTokens(for: messages, tools: tools, tokenizer: tokenizer)
    }

    /// The messages of the oldest turn after the system prompt (a user's message and
    /// all that answers it, up to the next user message), unless that turn is the last.
    private func oldestTurn() -> Range<Int>? {
        guard let start = messages.firstIndex(where: { $0.role != .system }) else { return nil }
        guard let next = messages[(start + 1)...].firstIndex(where: { $0.role == .user }) else { return nil }
        return start..<next
    }

    private func runTurn(_ message: ChatMessage, emit: (String) -> Bool) throws -> GenerationInfo {
        let before = messages
        /// The conversation as it was before this turn (the message unanswered).
        func restoreConversation() {
            messages = before
            droppedMessageCount = 0
        }
        messages.append(message)
        droppedMessageCount = 0
        let state: InferenceState
        var prompt: [Int]
        do {
            state = try self.state ?? model.model.makeState(
                context: model.resolveContext(parameters.context), batchCapacity: parameters.prefillStepSize,
                cacheType: parameters.cacheType)
            self.state = state
            prompt = try self.prompt()
            // Room for the reply: its token limit, at most half the context.
            let context = state.cache.capacity
            let reserve = min(max(parameters.maxTokens, 1), context / 2)
            while prompt.count + reserve > context, let turn = oldestTurn() {
                messages.removeSubrange(turn)
                droppedMessageCount += turn.count
                prompt = try self.prompt()
            }
            if prompt.count >= context { throw ModelError.promptTooLong(tokens: prompt.count, context: context) }
        } catch {
            restoreConversation()
            throw error
        }
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
            restoreConversation()
            cachedTokens = Array(cachedTokens.prefix(state.position))
            throw error
        }
        let all = prompt + info.generatedTokens
        cachedTokens = Array(all.prefix(state.position))
        if info.stopReason == .cancelled && info.generatedTokens.isEmpty {
            // Stopped before the reply began (while the prompt was processed): the message
            // was never answered, and the conversation is as it was.
            restoreConversation()
        } else {
            messages.append(reply(info.text))
        }
        return info
    }

    /// The reply as a message: with tools, the calls parsed out of the text, each given
    /// an id if the model wrote none (nine letters and digits, the form Mistral's
    /// templates require).
    private func reply(_ text: String) -> ChatMessage {
        guard !tools.isEmpty else { return .assistant(text) }
        var (content, calls) = currentFormat.toolCallFormat.parse(text, tools: tools)
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        for index in calls.indices where calls[index].id == nil {
            calls[index].id = String((0..<9).map { _ in alphabet.randomElement()! })
        }
        return .assistant(content, toolCalls: calls)
    }
}
