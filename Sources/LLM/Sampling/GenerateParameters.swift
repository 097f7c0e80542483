import TensorCore

/// How to generate: when to stop, how to choose each token, and how to run the prompt.
public struct GenerateParameters: Sendable, Equatable {
    /// The most tokens to generate.
    public var maxTokens: Int = 256
    /// 0 picks the most likely token every time (greedy); higher values flatten the
    /// distribution (llama.cpp's default is 0.8).
    public var temperature: Float = 0.8
    /// Keep only the `topK` most likely tokens (0 = all).
    public var topK: Int = 40
    /// Keep the most likely tokens whose probabilities add up to `topP` (1 = all).
    public var topP: Float = 0.95
    /// Drop tokens less likely than `minP` × the most likely one's probability (0 = none).
    public var minP: Float = 0.05
    /// Divide positive logits (multiply negative ones) of tokens seen in the last
    /// `penaltyWindow` tokens by this (1 = off), as llama.cpp and transformers do.
    public var repetitionPenalty: Float = 1
    /// Subtract this × the number of times a token appeared in the window (0 = off).
    public var frequencyPenalty: Float = 0
    /// Subtract this once from every token that appeared in the window (0 = off).
    public var presencePenalty: Float = 0
    /// How many of the last tokens (prompt included) the penalties look at.
    public var penaltyWindow: Int = 64
    /// The seed of the sampler's random numbers; the same seed and logits give the
    /// same tokens on every run and backend. `nil` picks one at random.
    public var seed: UInt64? = nil
    /// Stop when the text contains one of these (it is not included in the output).
    public var stopStrings: [String] = []
    /// Stop at the model's EOS and end-of-turn tokens.
    public var stopAtEndOfSequence = true
    /// The most prompt tokens processed in one forward pass (bounds scratch memory).
    public var prefillStepSize: Int = 256
    /// The KV cache's element type: `f32`, or `f16` for half the memory.
    public var cacheType: ElementType = .f32
    /// The context (KV cache length); `nil` uses the model's, capped at 4,096.
    public var context: Int? = nil

    public init() {}

    /// Greedy decoding: temperature 0, no penalties.
    public static var greedy: GenerateParameters {
        var parameters = GenerateParameters()
        parameters.temperature = 0
        return parameters
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
    }
}
