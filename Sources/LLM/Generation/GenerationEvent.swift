import Foundation

/// What the text stream yields: the generated text as it becomes certain, then a
/// summary.
///
/// ``LanguageModel/generate(prompt:parameters:)`` and ``ChatSession/streamResponse(to:)-(String)``
/// yield these. Most callers want only the text:
///
/// ```swift
/// for try await text in model.generate(prompt: "Once upon a time").text {
///     print(text, terminator: "")
/// }
/// ```
///
/// and those that want the summary too read the accessors:
///
/// ```swift
/// for try await event in model.generate(prompt: "Once upon a time") {
///     if let text = event.chunk { print(text, terminator: "") }
///     if let info = event.info { print("\n\(info.generationTokensPerSecond) tokens/s") }
/// }
/// ```
///
/// The token ids are in the summary (``GenerationInfo/generatedTokens``), and as they
/// come in the token stream of ``LanguageModel/generateTokens(prompt:parameters:)``.
public enum GenerationEvent: Sendable, Equatable {
    /// Newly generated text: whole characters, and no stop string (text that could
    /// begin one is held back until it is known not to).
    case chunk(String)
    /// The summary, once, at the end.
    case info(GenerationInfo)

    /// The text of a ``chunk(_:)`` event, `nil` for the summary.
    public var chunk: String? {
        if case let .chunk(text) = self { return text }
        return nil
    }

    /// The summary of an ``info(_:)`` event, `nil` for text.
    public var info: GenerationInfo? {
        if case let .info(info) = self { return info }
        return nil
    }
}

/// What the token stream yields: each generated token, then a summary.
///
/// ``LanguageModel/generateTokens(prompt:parameters:)`` yields these, for callers that
/// work with token ids (or want to know which token produced which text).
///
/// ```swift
/// for try await event in model.generateTokens(prompt: "Once upon a time") {
///     if let token = event.token { print(token.id, token.text) }
///     if let info = event.info { print(info.stopReason) }
/// }
/// ```
public enum TokenGenerationEvent: Sendable, Equatable {
    /// A generated token (never the end-of-sequence token that stopped generation).
    case token(GeneratedToken)
    /// The summary, once, at the end.
    case info(GenerationInfo)

    /// The token of a ``token(_:)`` event, `nil` for the summary.
    public var token: GeneratedToken? {
        if case let .token(token) = self { return token }
        return nil
    }

    /// The summary of an ``info(_:)`` event, `nil` for a token.
    public var info: GenerationInfo? {
        if case let .info(info) = self { return info }
        return nil
    }
}

/// One generated token and the text it made certain.
public struct GeneratedToken: Sendable, Equatable, Hashable {
    /// The token's id in the model's vocabulary.
    public var id: Int
    /// The text that became certain when this token was generated; often the token's
    /// own text, but possibly empty (the token is part of a character spread over
    /// several byte tokens, or could be the start of a stop string) or longer (it
    /// completed text held back for those reasons). Text released only when
    /// generation stopped comes after the last token: ``GenerationInfo/text`` has the
    /// whole text, and ``TokenGenerator/trailingText`` that last part.
    public var text: String
    /// The token's log-probability (natural logarithm) when
    /// ``GenerateParameters/logprobs`` is set.
    public var logprob: Float?
    /// The most likely tokens at this position, most likely first, when
    /// ``GenerateParameters/logprobs`` is set.
    public var topLogprobs: [TokenLogprob]

    /// A token and its text.
    public init(id: Int, text: String, logprob: Float? = nil, topLogprobs: [TokenLogprob] = []) {
        self.id = id
        self.text = text
        self.logprob = logprob
        self.topLogprobs = topLogprobs
    }
}

/// A token and its log-probability at one position.
public struct TokenLogprob: Sendable, Equatable, Hashable {
    public var id: Int
    /// The natural logarithm of the token's probability.
    public var logprob: Float

    public init(id: Int, logprob: Float) {
        self.id = id
        self.logprob = logprob
    }

    /// The log-probabilities of token `id` and of the `count` most likely tokens under
    /// `logits` (a softmax over all of them).
    static func logprobs(_ logits: [Float], id: Int, count: Int) -> (Float, [TokenLogprob]) {
        let largest = logits.max() ?? 0
        let normalizer = largest + Float(log(logits.reduce(0.0) { $0 + exp(Double($1 - largest)) }))
        var top: [TokenLogprob] = []
        if count > 0 {
            // The `count` largest, kept sorted while scanning once.
            for (i, value) in logits.enumerated() where top.count < count || value > top[top.count - 1].logprob {
                let entry = TokenLogprob(id: i, logprob: value)
                let index = top.firstIndex { $0.logprob < value } ?? top.count
                top.insert(entry, at: index)
                if top.count > count { top.removeLast() }
            }
            top = top.map { TokenLogprob(id: $0.id, logprob: $0.logprob - normalizer) }
        }
        return (logits[id] - normalizer, top)
    }
}

/// Why a generation stopped.
public enum StopReason: String, Sendable, Equatable {
    /// The model produced its end-of-sequence or an end-of-turn token.
    case endOfSequence
    /// The text reached one of the stop strings.
    case stopString
    /// `maxTokens` tokens were generated.
    case maxTokens
    /// The KV cache is full.
    case contextFull
    /// The generation was stopped before any of the above: ``TokenGenerator/cancel()``
    /// was called, the task running it was cancelled, or the consumer of its stream
    /// went away.
    case cancelled
}

/// The summary of a generation: the tokens and text, counts, timings and why it
/// stopped.
public struct GenerationInfo: Sendable, Equatable {
    /// The prompt's ids, including any BOS (and, in a chat session, the whole
    /// conversation as the template rendered it).
    public var promptTokens: [Int]
    /// The generated ids, without the end-of-sequence token that stopped generation.
    public var generatedTokens: [Int]
    /// The generated text, without the stop string that stopped generation (empty
    /// for a model without a tokenizer).
    public var text: String
    /// How many prompt tokens were processed (fewer than the prompt when a chat session
    /// reused its cache; 0 if generation was cancelled before the prompt ran).
    public var processedPromptTokenCount: Int
    /// The time spent processing the prompt.
    public var promptTime: Duration
    /// The time from the end of the prompt until generation stopped.
    public var generationTime: Duration
    /// From the start until the first generated token was sampled.
    public var timeToFirstToken: Duration
    /// Why generation stopped.
    public var stopReason: StopReason

    /// Prompt tokens processed per second.
    public var promptTokensPerSecond: Double {
        Double(processedPromptTokenCount) / max(promptTime.seconds, 1e-9)
    }

    /// Tokens per second after the first (the first comes out of the prompt pass).
    public var generationTokensPerSecond: Double {
        Double(max(0, generatedTokens.count - 1)) / max(generationTime.seconds, 1e-9)
    }
}

extension Duration {
    /// The duration in seconds.
    public var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }
}
