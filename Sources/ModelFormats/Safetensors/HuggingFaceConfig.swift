import Foundation

/// The `config.json` of a Hugging Face Llama-family checkpoint (`LlamaForCausalLM`,
/// `MistralForCausalLM`, Yi's), with Hugging Face's key names.
public struct HuggingFaceConfig: Decodable, Sendable, Equatable {
    /// `rope_scaling`: how positions are stretched beyond the trained context.
    public struct RopeScaling: Decodable, Sendable, Equatable {
        /// `rope_type` (or the older `type`): `linear`, `dynamic`, `yarn`, `llama3`, `default`.
        public var type: String
        public var factor: Double?
        /// Llama 3's scaling (`llama3`): frequencies whose wavelength exceeds
        /// `originalMaxPositionEmbeddings / lowFrequencyFactor` are divided by `factor`,
        /// those under `originalMaxPositionEmbeddings / highFrequencyFactor` kept, those
        /// between interpolated.
        public var lowFrequencyFactor: Double?
        public var highFrequencyFactor: Double?
        /// The context the model was trained for before scaling (`llama3`, `yarn`).
        public var originalMaxPositionEmbeddings: Int?

        enum CodingKeys: String, CodingKey {
            case type, ropeType = "rope_type", factor, lowFrequencyFactor = "low_freq_factor"
            case highFrequencyFactor = "high_freq_factor", originalMaxPositionEmbeddings = "original_max_position_embeddings"
        }

        public init(
            type: String, factor: Double?, lowFrequencyFactor: Double? = nil, highFrequencyFactor: Double? = nil,
            originalMaxPositionEmbeddings: Int? = nil
        ) {
            self.type = type
            self.factor = factor
            self.lowFrequencyFactor = lowFrequencyFactor
            self.highFrequencyFactor = highFrequencyFactor
            self.originalMaxPositionEmbeddings = originalMaxPositionEmbeddings
        }

        public init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            type = try container.decodeIfPresent(String.self, forKey: .ropeType)
                ?? container.decodeIfPresent(String.self, forKey: .type) ?? "default"
            factor = try container.decodeIfPresent(Double.self, forKey: .factor)
            lowFrequencyFactor = try container.decodeIfPresent(Double.self, forKey: .lowFrequencyFactor)
            highFrequencyFactor = try container.decodeIfPresent(Double.self, forKey: .highFrequencyFactor)
            originalMaxPositionEmbeddings = try container.decodeIfPresent(Int.self, forKey: .originalMaxPositionEmbeddings)
        }
    }

    public var architectures: [String]?
    public var modelType: String?
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    /// Absent in multi-head checkpoints; then equal to `numAttentionHeads`.
    public var numKeyValueHeads: Int?
    /// The head width, when it is not `hiddenSize / numAttentionHeads`.
    public var headDim: Int?
    public var vocabSize: Int
    public var rmsNormEps: Double
    /// Absent in older checkpoints; then 10,000.
    public var ropeTheta: Double?
    public var ropeScaling: RopeScaling?
    public var maxPositionEmbeddings: Int
    public var tieWordEmbeddings: Bool?
    public var bosTokenID: Int?
    /// `eos_token_id`: a number, or a list of numbers in newer checkpoints.
    public var eosTokenIDs: [Int]
    public var padTokenID: Int?
    /// `torch_dtype` (or `dtype` in newer files): `float32`, `float16`, `bfloat16`.
    public var torchDtype: String?
    /// `hidden_act`: `silu` for Llama.
    public var hiddenAct: String?
    /// `attention_bias`: whether the attention projections (Q, K, V and output) have biases.
    public var attentionBias: Bool?
    /// `mlp_bias`: whether the feed-forward projections have biases.
    public var mlpBias: Bool?
    /// The file's bytes, kept so that an architecture can read keys of its own with
    /// ``decode(_:)``; empty for a configuration not read by ``load(from:)``.
    public private(set) var source = Data()
    /// The file the configuration was read from, for messages.
    public private(set) var file = "config.json"

    enum CodingKeys: String, CodingKey {
        case architectures
        case modelType = "model_type"
        case hiddenSize = "hidden_size"
        case intermediateSize = "intermediate_size"
        case numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads"
        case numKeyValueHeads = "num_key_value_heads"
        case headDim = "head_dim"
        case vocabSize = "vocab_size"
        case rmsNormEps = "rms_norm_eps"
        case ropeTheta = "rope_theta"
        case ropeScaling = "rope_scaling"
        case maxPositionEmbeddings = "max_position_embeddings"
        case tieWordEmbeddings = "tie_word_embeddings"
        case bosTokenID = "bos_token_id"
        case eosTokenID = "eos_token_id"
        case padTokenID = "pad_token_id"
        case torchDtype = "torch_dtype"
        case dtype
        case hiddenAct = "hidden_act"
        case attentionBias = "attention_bias"
        case mlpBias = "mlp_bias"
        case ropeParameters = "rope_parameters"
    }

    /// Newer transformers write `rope_parameters`: `rope_theta` and the keys of
    /// `rope_scaling`.
    private struct RopeParameters: Decodable {
        var ropeTheta: Double?
        var scaling: RopeScaling
        enum CodingKeys: String, CodingKey { case ropeTheta = "rope_theta" }
        init(from decoder: Decoder) throws {
            ropeTheta = try decoder.container(keyedBy: CodingKeys.self).decodeIfPresent(Double.self, forKey: .ropeTheta)
            scaling = try RopeScaling(from: decoder)
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        architectures = try c.decodeIfPresent([String].self, forKey: .architectures)
        modelType = try c.decodeIfPresent(String.self, forKey: .modelType)
        hiddenSize = try c.decode(Int.self, forKey: .hiddenSize)
        intermediateSize = try c.decode(Int.self, forKey: .intermediateSize)
        numHiddenLayers = try c.decode(Int.self, forKey: .numHiddenLayers)
        numAttentionHeads = try c.decode(Int.self, forKey: .numAttentionHeads)
        numKeyValueHeads = try c.decodeIfPresent(Int.self, forKey: .numKeyValueHeads)
        headDim = try c.decodeIfPresent(Int.self, forKey: .headDim)
        vocabSize = try c.decode(Int.self, forKey: .vocabSize)
        rmsNormEps = try c.decode(Double.self, forKey: .rmsNormEps)
        ropeTheta = try c.decodeIfPresent(Double.self, forKey: .ropeTheta)
        ropeScaling = try c.decodeIfPresent(RopeScaling.self, forKey: .ropeScaling)
        if let parameters = try c.decodeIfPresent(RopeParameters.self, forKey: .ropeParameters) {
            ropeTheta = ropeTheta ?? parameters.ropeTheta
            if ropeScaling == nil, parameters.scaling.type != "default" { ropeScaling = parameters.scaling }
        }
        maxPositionEmbeddings = try c.decode(Int.self, forKey: .maxPositionEmbeddings)
        tieWordEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings)
        bosTokenID = try c.decodeIfPresent(Int.self, forKey: .bosTokenID)
        if let single = try? c.decodeIfPresent(Int.self, forKey: .eosTokenID) {
            eosTokenIDs = [single]
        } else {
            eosTokenIDs = try c.decodeIfPresent([Int].self, forKey: .eosTokenID) ?? []
        }
        // Some checkpoints write −1 to mean "no padding token".
        padTokenID = (try? c.decodeIfPresent(Int.self, forKey: .padTokenID)).flatMap { $0 >= 0 ? $0 : nil }
        torchDtype = try c.decodeIfPresent(String.self, forKey: .torchDtype) ?? c.decodeIfPresent(String.self, forKey: .dtype)
        hiddenAct = try c.decodeIfPresent(String.self, forKey: .hiddenAct)
        attentionBias = try c.decodeIfPresent(Bool.self, forKey: .attentionBias)
        mlpBias = try c.decodeIfPresent(Bool.self, forKey: .mlpBias)
    }

    /// Reads `config.json` at `url`; a missing key or a value of the wrong type is an
    /// error naming the file and the key.
    public static func load(from url: URL) throws -> HuggingFaceConfig {
        let data = try FileBytes.readRegularFile(url)
        var config = try decode(HuggingFaceConfig.self, from: data, file: url.path)
        config.source = data
        config.file = url.path
        try config.validate(file: url.path)
        return config
    }

    /// Decodes the same `config.json` as `type`: the keys of one architecture (Gemma 3's
    /// `sliding_window`, for example) that the common fields leave out. A missing key or
    /// a value of the wrong type is an error naming the file and the key.
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try Self.decode(type, from: source.isEmpty ? Data("{}".utf8) : source, file: file)
    }

    private static func decode<T: Decodable>(_ type: T.Type, from data: Data, file: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch let DecodingError.keyNotFound(key, _) {
            throw ModelFormatError(.invalidValue, file: file, field: key.stringValue, problem: "is missing")
        } catch let DecodingError.typeMismatch(_, context) {
            throw ModelFormatError(
                .invalidValue, file: file, field: context.codingPath.map(\.stringValue).joined(separator: "."),
                problem: "has the wrong type: \(context.debugDescription)")
        } catch let DecodingError.valueNotFound(_, context) {
            throw ModelFormatError(
                .invalidValue, file: file, field: context.codingPath.map(\.stringValue).joined(separator: "."), problem: "is null")
        } catch {
            throw ModelFormatError(.invalidValue, file: file, field: "file", problem: "is not valid JSON: \(error)")
        }
    }

    /// The largest size a dimension may have: GGUF and llama.cpp keep sizes in 32-bit
    /// fields.
    public static let maximumDimension = Int(Int32.max)

    /// Checks every size and number the converter and the model builder use: sizes are
    /// positive and at most ``maximumDimension``, the KV heads divide the heads, a head
    /// is at least one value wide, and the floating-point settings are finite and in
    /// range. The error names `file` and the key. ``load(from:)`` calls it.
    public func validate(file: String) throws {
        func fail(_ key: String, _ problem: String) -> ModelFormatError {
            ModelFormatError(.invalidValue, file: file, field: key, problem: problem)
        }
        var sizes = [
            ("hidden_size", hiddenSize), ("intermediate_size", intermediateSize), ("num_hidden_layers", numHiddenLayers),
            ("num_attention_heads", numAttentionHeads), ("vocab_size", vocabSize),
            ("max_position_embeddings", maxPositionEmbeddings),
        ]
        if let numKeyValueHeads { sizes.append(("num_key_value_heads", numKeyValueHeads)) }
        if let headDim { sizes.append(("head_dim", headDim)) }
        for (key, value) in sizes {
            guard value > 0 else { throw fail(key, "must be positive, not \(value)") }
            guard value <= Self.maximumDimension else { throw fail(key, "is \(value), more than \(Self.maximumDimension)") }
        }
        let kvHeads = numKeyValueHeads ?? numAttentionHeads
        guard numAttentionHeads % kvHeads == 0 else {
            throw fail("num_key_value_heads", "\(kvHeads) does not divide num_attention_heads \(numAttentionHeads)")
        }
        if headDim == nil, hiddenSize / numAttentionHeads == 0 {
            throw fail("num_attention_heads", "\(numAttentionHeads) heads leave less than one value per head of hidden_size \(hiddenSize)")
        }
        let head = headDim ?? hiddenSize / numAttentionHeads
        let width = numAttentionHeads.multipliedReportingOverflow(by: head)
        guard !width.overflow, width.partialValue <= Self.maximumDimension else {
            throw fail("num_attention_heads", "\(numAttentionHeads) heads of \(head) values exceed \(Self.maximumDimension)")
        }
        guard rmsNormEps.isFinite, rmsNormEps >= 0, rmsNormEps < 1 else {
            throw fail("rms_norm_eps", "is \(rmsNormEps), expected a number in [0, 1)")
        }
        if let ropeTheta, !(ropeTheta.isFinite && ropeTheta > 1) {
            throw fail("rope_theta", "is \(ropeTheta), expected a finite number above 1")
        }
        for (key, value) in [
            ("factor", ropeScaling?.factor), ("low_freq_factor", ropeScaling?.lowFrequencyFactor),
            ("high_freq_factor", ropeScaling?.highFrequencyFactor),
        ] {
            if let value, !(value.isFinite && value > 0) {
                throw fail("rope_scaling.\(key)", "is \(value), expected a finite positive number")
            }
        }
        if let original = ropeScaling?.originalMaxPositionEmbeddings, original <= 0 {
            throw fail("rope_scaling.original_max_position_embeddings", "must be positive, not \(original)")
        }
        for (key, id) in [("bos_token_id", bosTokenID)] + eosTokenIDs.map({ ("eos_token_id", $0) }) {
            if let id, id < 0 { throw fail(key, "is \(id); token ids are not negative") }
        }
    }

    /// The most values per head that Llama 3's RoPE scaling is computed for (published
    /// models rotate 64 to 256).
    public static let maximumRopeDimensions = 1 << 16

    /// The per-pair RoPE frequency divisors of Llama 3's `rope_scaling` (`rope_type`
    /// `llama3`) for heads rotating `dimensions` values with base `base`, as
    /// transformers' `_compute_llama3_parameters` scales `inv_freq` and llama.cpp's
    /// converter writes `rope_freqs.weight`: a frequency `f` whose wavelength `2π / f`
    /// exceeds `original / low_freq_factor` is divided by `factor`, one under
    /// `original / high_freq_factor` is kept, and between them the divisor is
    /// `1 / ((1 − s) / factor + s)` with `s = (original / wavelength − low) / (high − low)`.
    /// `nil` for any other scaling. The defaults of absent keys are transformers' (Llama 3.1's).
    public func ropeFrequencyFactors(dimensions: Int, base: Float) throws -> [Float]? {
        guard let scaling = ropeScaling, scaling.type == "llama3", dimensions > 0 else { return nil }
        // One factor per rotated pair: an untrusted head_dim must not size the array.
        guard dimensions <= Self.maximumRopeDimensions else {
            throw ModelFormatError(
                .invalidValue, file: file, field: "head_dim",
                problem: "\(dimensions) rotated values per head exceed \(Self.maximumRopeDimensions)")
        }
        let factor = scaling.factor ?? 8, low = scaling.lowFrequencyFactor ?? 1, high = scaling.highFrequencyFactor ?? 4
        let original = Double(scaling.originalMaxPositionEmbeddings ?? 8192)
        guard high > low else {
            throw ModelFormatError(
                .invalidValue, file: file, field: "rope_scaling.high_freq_factor", problem: "\(high) must exceed low_freq_factor \(low)")
        }
        // In Float arithmetic, as both compute it (torch float32 tensors).
        let (f, low32, high32) = (Float(factor), Float(low), Float(high))
        return (0..<dimensions / 2).map { i in
            let frequency = 1 / pow(base, Float(2 * i) / Float(dimensions))
            let wavelength = Float(2 * Double.pi) / frequency
            if wavelength < Float(original / high) { return 1 }
            if wavelength > Float(original / low) { return f }
            let smooth = (Float(original) / wavelength - low32) / (high32 - low32)
            return 1 / ((1 - smooth) / f + smooth)
        }
    }
}
