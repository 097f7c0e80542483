import TensorCore

/// The shape and settings every architecture of this library has: the sizes of the
/// layers, the norm's ε, RoPE, the context. The generation code, the KV cache and the
/// scratch buffers need only these. An architecture's own settings (Gemma 3's sliding
/// window, for example) live in its own type; its file reads both from GGUF metadata
/// and `config.json` (``LlamaModel/configuration(gguf:ropeLayout:)``), and ``validate()`` checks them.
public struct ModelConfiguration: Sendable, Equatable {
    public var vocabularySize: Int
    /// The width of the residual stream (`hidden_size`, `embedding_length`).
    public var embeddingLength: Int
    public var layerCount: Int
    public var headCount: Int
    public var kvHeadCount: Int
    /// The width of one attention head (usually `embeddingLength / headCount`).
    public var headDimension: Int
    /// The inner width of the feed-forward network (`intermediate_size`).
    public var feedForwardLength: Int
    public var rmsNormEpsilon: Float
    /// The RoPE base θ (10,000 for Llama 2, 5,000,000 for Yi).
    public var ropeBase: Float
    /// Linear RoPE scaling: positions are divided by this factor (1 = none).
    public var ropeScale: Float
    /// How many values of each head RoPE rotates.
    public var ropeDimensions: Int
    /// Which values RoPE pairs; it follows the checkpoint's Q/K row order.
    public var ropeLayout: RotaryEmbedding.Layout
    /// Per-pair divisors of the RoPE frequencies (Llama 3's scaling), `ropeDimensions / 2`
    /// of them, or `nil`; see `RotaryEmbedding.Parameters.frequencyFactors`.
    public var ropeFrequencyFactors: [Float]?
    /// The context the model was trained for.
    public var contextLength: Int
    /// Whether the output projection is the token embedding.
    public var tiedEmbeddings: Bool
    /// The factor of attention scores (default `1/√headDimension`).
    public var attentionScale: Float

    public init(
        vocabularySize: Int, embeddingLength: Int, layerCount: Int, headCount: Int,
        kvHeadCount: Int, headDimension: Int? = nil, feedForwardLength: Int, rmsNormEpsilon: Float, ropeBase: Float,
        ropeScale: Float = 1, ropeDimensions: Int? = nil, ropeLayout: RotaryEmbedding.Layout,
        ropeFrequencyFactors: [Float]? = nil, contextLength: Int, tiedEmbeddings: Bool, attentionScale: Float? = nil
    ) {
        let head = headDimension ?? (headCount > 0 ? embeddingLength / headCount : 0)
        self.vocabularySize = vocabularySize
        self.embeddingLength = embeddingLength
        self.layerCount = layerCount
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount
        self.headDimension = head
        self.feedForwardLength = feedForwardLength
        self.rmsNormEpsilon = rmsNormEpsilon
        self.ropeBase = ropeBase
        self.ropeScale = ropeScale
        self.ropeDimensions = ropeDimensions ?? head
        self.ropeLayout = ropeLayout
        self.ropeFrequencyFactors = ropeFrequencyFactors
        self.contextLength = contextLength
        self.tiedEmbeddings = tiedEmbeddings
        self.attentionScale = attentionScale ?? (head > 0 ? 1 / Float(head).squareRoot() : 1)
    }

    /// The number of parameters of the weight matrices and norms.
    public var parameterCount: Int {
        let attention = embeddingLength * headDimension * (2 * headCount + 2 * kvHeadCount)
        let feedForward = 3 * embeddingLength * feedForwardLength
        let embedding = vocabularySize * embeddingLength * (tiedEmbeddings ? 1 : 2)
        return embedding + layerCount * (attention + feedForward + 2 * embeddingLength) + embeddingLength
    }

    /// The largest size any one dimension of a model may have (2^31 − 1, as in GGUF's
    /// `llama.cpp`, which keeps sizes in 32-bit fields).
    public static let maximumDimension = Int(Int32.max)

    /// Checks that the numbers fit together; the error says which do not.
    public func validate() throws {
        func check(_ condition: Bool, _ message: @autoclosure () -> String) throws {
            if !condition { throw ModelError.invalidConfiguration(message()) }
        }
        for (name, value) in [
            ("vocabulary size", vocabularySize), ("embedding length", embeddingLength), ("layer count", layerCount),
            ("head count", headCount), ("KV head count", kvHeadCount), ("head dimension", headDimension),
            ("feed-forward length", feedForwardLength), ("context length", contextLength),
        ] {
            try check(value > 0, "\(name) must be positive, not \(value)")
            try check(value <= Self.maximumDimension, "\(name) \(value) exceeds \(Self.maximumDimension)")
        }
        // Weight shapes multiply these; bounding each product keeps every shape and
        // element count far from overflowing `Int`.
        for (name, a, b) in [
            ("heads × head dimension", headCount, headDimension), ("KV heads × head dimension", kvHeadCount, headDimension),
        ] {
            let (product, overflow) = a.multipliedReportingOverflow(by: b)
            try check(!overflow && product <= Self.maximumDimension, "\(name) (\(a) × \(b)) exceeds \(Self.maximumDimension)")
        }
        try check(headCount % kvHeadCount == 0, "the \(kvHeadCount) KV heads must divide the \(headCount) heads")
        try check(ropeDimensions > 0 && ropeDimensions % 2 == 0 && ropeDimensions <= headDimension,
                  "RoPE dimensions \(ropeDimensions) must be even and at most the head dimension \(headDimension)")
        try check(ropeBase > 1 && ropeBase.isFinite, "RoPE base \(ropeBase) must exceed 1")
        try check(ropeScale > 0 && ropeScale.isFinite, "RoPE scale \(ropeScale) must be positive")
        if let factors = ropeFrequencyFactors {
            try check(factors.count == ropeDimensions / 2,
                      "\(factors.count) RoPE frequency factors for \(ropeDimensions / 2) rotated pairs")
            if let bad = factors.first(where: { !($0 > 0 && $0.isFinite) }) {
                try check(false, "RoPE frequency factor \(bad) must be finite and positive")
            }
        }
        try check(rmsNormEpsilon >= 0 && rmsNormEpsilon < 1, "RMSNorm epsilon \(rmsNormEpsilon) must be in [0, 1)")
        try check(attentionScale > 0 && attentionScale.isFinite, "attention scale \(attentionScale) must be positive")
    }
}

/// An error loading or running a model.
public enum ModelError: Error, Equatable, CustomStringConvertible {
    /// The configuration's numbers do not fit together.
    case invalidConfiguration(String)
    /// A weight is missing or has the wrong shape.
    case invalidWeight(name: String, file: String, problem: String)
    /// The file is of a kind or architecture this library does not run.
    case unsupportedModel(file: String, reason: String)
    /// The prompt does not fit in the context.
    case promptTooLong(tokens: Int, context: Int)
    /// A context larger than the model was trained for, without RoPE scaling.
    case contextTooLong(requested: Int, trained: Int)
    /// A token id outside the vocabulary.
    case invalidToken(Int, vocabularySize: Int)
    /// A generation setting out of range: `name` is the ``GenerateParameters``
    /// property (for example `frequencyPenalty`), `value` its value as text.
    case invalidParameter(name: String, value: String, reason: String)
    /// Generation was asked for without any prompt token and with an empty cache.
    case emptyPrompt
    /// The model computed NaN or infinite logits (non-finite weights, or activations
    /// that overflowed). `position` is the context position of the token whose forward
    /// pass produced them, `generatedTokens` how many tokens had been generated then,
    /// `count` how many of the logits were not finite.
    case nonFiniteLogits(position: Int, generatedTokens: Int, count: Int)

    public var description: String {
        switch self {
        case let .invalidConfiguration(message):
            "invalid model configuration: \(message)"
        case let .invalidWeight(name, file, problem):
            "\(file): weight '\(name)': \(problem)"
        case let .unsupportedModel(file, reason):
            "\(file): \(reason)"
        case let .promptTooLong(tokens, context):
            "the prompt has \(tokens) tokens but the context holds \(context); use a larger context or a shorter prompt"
        case let .contextTooLong(requested, trained):
            "a context of \(requested) tokens exceeds the \(trained) the model was trained for (set RoPE scaling to go beyond it)"
        case let .invalidToken(id, size):
            "token id \(id) is outside the vocabulary of \(size)"
        case let .invalidParameter(name, value, reason):
            "invalid generation parameter \(name) = \(value): \(reason)"
        case .emptyPrompt:
            "the prompt is empty: give at least one token (text, or ids)"
        case let .nonFiniteLogits(position, generated, count):
            "the model computed \(count) non-finite logit\(count == 1 ? "" : "s") (NaN or infinity) at position \(position)"
                + (generated == 0 ? " (the prompt's last token)" : " (after \(generated) generated token\(generated == 1 ? "" : "s"))")
                + "; its weights hold NaN or infinite values, or its activations overflowed"
        }
    }
}
