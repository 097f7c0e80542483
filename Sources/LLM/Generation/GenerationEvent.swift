import Foundation

/// What a generation stream yields.
public enum GenerationEvent: Sendable, Equatable {
    /// The id of a generated token (before its text, which may come later: a character
    /// spread over several byte tokens is emitted when complete).
    case token(Int)
    /// Newly generated text.
    case chunk(String)
    /// The summary, once, at the end.
    case info(GenerationInfo)
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
    /// The consumer stopped listening or the task was cancelled.
    case cancelled
}

/// Counts and timings of a generation.
public struct GenerationInfo: Sendable, Equatable {
    /// The prompt's ids (including any BOS), and the generated ids (without the stop token).
    public var promptTokens: [Int]
    public var generatedTokens: [Int]
    /// How many prompt tokens were processed (fewer than the prompt when a chat session
    /// reused its cache).
    public var processedPromptTokenCount: Int
    public var promptTime: Duration
    public var generationTime: Duration
    /// From the start until the first generated token was sampled.
    public var timeToFirstToken: Duration
    public var stopReason: StopReason

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
