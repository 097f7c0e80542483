import TensorCore

/// How to generate: when to stop, how to choose each token, and how to run the prompt.
///
/// Every setting has a default, so name only those you change:
///
/// ```swift
/// let parameters = GenerateParameters(maxTokens: 100, temperature: 0.7, seed: 42, stopStrings: ["\n\n"])
/// ```
///
/// Values are checked when generation starts (``validate()``).
public struct GenerateParameters: Sendable, Equatable {
    /// The most tokens to generate.
    public var maxTokens: Int
    /// 0 picks the most likely token every time (greedy); higher values flatten the
    /// distribution (llama.cpp's default is 0.8).
    public var temperature: Float
    /// Keep only the `topK` most likely tokens (0 = all).
    public var topK: Int
    /// Keep the most likely tokens whose probabilities add up to `topP` (1 = all).
    public var topP: Float
    /// Drop tokens less likely than `minP` × the most likely one's probability (0 = none).
    public var minP: Float
    /// Divide positive logits (multiply negative ones) of tokens seen in the last
    /// `penaltyWindow` tokens by this (1 = off), as llama.cpp and transformers do.
    public var repetitionPenalty: Float
    /// Subtract this × the number of times a token appeared in the window (0 = off).
    public var frequencyPenalty: Float
    /// Subtract this once from every token that appeared in the window (0 = off).
    public var presencePenalty: Float
    /// How many of the last tokens (prompt included) the penalties look at.
    public var penaltyWindow: Int
    /// The seed of the sampler's random numbers; the same seed and logits give the
    /// same tokens on every run and backend. `nil` picks one at random.
    public var seed: UInt64?
    /// Stop when the text contains one of these (it is not included in the output).
    public var stopStrings: [String]
    /// Stop at the model's EOS and end-of-turn tokens.
    public var stopAtEndOfSequence: Bool
    /// The most prompt tokens processed in one forward pass (bounds scratch memory).
    public var prefillStepSize: Int
    /// The KV cache's element type: `f32`, or `f16` for half the memory.
    public var cacheType: ElementType
    /// The context (KV cache length); `nil` uses the model's, capped at 4,096.
    public var context: Int?
    /// What the generated text must be: ``OutputFormat/text`` (anything) or
    /// ``OutputFormat/jsonObject`` (one JSON object: tokens that would break it are never
    /// chosen, and generation stops when it is closed).
    public var outputFormat: OutputFormat
    /// When set, each ``GeneratedToken`` carries its log-probability and those of the
    /// `logprobs` most likely tokens at its position (0 to 20), from the model's
    /// distribution before penalties and temperature.
    public var logprobs: Int?

    /// Settings for a generation; each argument sets the property of the same name.
    /// The sampling defaults (temperature, top-k, top-p, min-p, penalty window) are
    /// llama.cpp's.
    public init(
        maxTokens: Int = 256,
        temperature: Float = 0.8,
        topK: Int = 40,
        topP: Float = 0.95,
        minP: Float = 0.05,
        repetitionPenalty: Float = 1,
        frequencyPenalty: Float = 0,
        presencePenalty: Float = 0,
        penaltyWindow: Int = 64,
        seed: UInt64? = nil,
        stopStrings: [String] = [],
        stopAtEndOfSequence: Bool = true,
        prefillStepSize: Int = 256,
        cacheType: ElementType = .f32,
        context: Int? = nil,
        outputFormat: OutputFormat = .text,
        logprobs: Int? = nil
    ) {
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.minP = minP
        self.repetitionPenalty = repetitionPenalty
        self.frequencyPenalty = frequencyPenalty
        self.presencePenalty = presencePenalty
        self.penaltyWindow = penaltyWindow
        self.seed = seed
        self.stopStrings = stopStrings
        self.stopAtEndOfSequence = stopAtEndOfSequence
        self.prefillStepSize = prefillStepSize
        self.cacheType = cacheType
        self.context = context
        self.outputFormat = outputFormat
        self.logprobs = logprobs
    }

    /// Greedy decoding: temperature 0, no penalties, the other defaults.
    public static var greedy: GenerateParameters {
        GenerateParameters(temperature: 0)
    }

    /// Checks the values; the error is a ``ModelError/invalidParameter(name:value:reason:)``
    /// that names the property, its value and the range it must lie in. NaN and
    /// infinities are rejected everywhere: they would turn every logit into NaN.
    public func validate() throws {
        func check(_ condition: Bool, _ name: String, _ value: some CustomStringConvertible, _ reason: String) throws {
            if !condition { throw ModelError.invalidParameter(name: name, value: value.description, reason: reason) }
        }
        try check(maxTokens >= 0, "maxTokens", maxTokens, "must not be negative")
        try check(temperature >= 0 && temperature.isFinite, "temperature", temperature, "must be a finite number, 0 or more")
        try check(topK >= 0, "topK", topK, "must not be negative")
        try check(topP > 0 && topP <= 1, "topP", topP, "must be in (0, 1]")
        try check(minP >= 0 && minP <= 1, "minP", minP, "must be in [0, 1]")
        try check(repetitionPenalty > 0 && repetitionPenalty.isFinite, "repetitionPenalty", repetitionPenalty, "must be a finite number above 0")
        // Negative frequency and presence penalties are allowed, as in llama.cpp: they
        // favour repeating.
        try check(frequencyPenalty.isFinite, "frequencyPenalty", frequencyPenalty, "must be a finite number")
        try check(presencePenalty.isFinite, "presencePenalty", presencePenalty, "must be a finite number")
        try check(penaltyWindow >= 0, "penaltyWindow", penaltyWindow, "must not be negative")
        try check(prefillStepSize > 0, "prefillStepSize", prefillStepSize, "must be positive")
        try check(cacheType == .f32 || cacheType == .f16, "cacheType", "\(cacheType)", "must be f32 or f16")
        if let context { try check(context > 0, "context", context, "must be positive") }
        if let logprobs { try check((0...20).contains(logprobs), "logprobs", logprobs, "must be in 0...20") }
    }
}

/// The form generated text must take (``GenerateParameters/outputFormat``).
public enum OutputFormat: String, Sendable, Equatable {
    /// Any text.
    case text
    /// One JSON object, whitespace before it allowed: OpenAI's `json_object` response
    /// format.
    case jsonObject
}
