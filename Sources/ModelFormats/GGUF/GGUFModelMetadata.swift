/// The hyperparameters a model reads from GGUF metadata: the `general.*` keys and
/// the `<architecture>.*` keys llama.cpp writes (`llama.block_count`,
/// `gemma3.attention.sliding_window`, …). Absent keys are `nil`; present keys of the
/// wrong type throw, naming the file and the key.
public struct GGUFModelMetadata: Sendable, Equatable {
    /// `general.architecture` (`llama`, `gemma3`, …).
    public var architecture: String
    /// `general.name`.
    public var name: String?
    /// `general.file_type`: llama.cpp's number for the dominant weight type.
    public var fileType: Int?
    /// `general.quantization_version`.
    public var quantizationVersion: Int?
    public var contextLength: Int?
    public var embeddingLength: Int?
    public var blockCount: Int?
    public var feedForwardLength: Int?
    public var headCount: Int?
    public var headCountKV: Int?
    /// `<arch>.attention.key_length`: the head width of queries and keys, when it is
    /// not `embedding_length / head_count`.
    public var keyLength: Int?
    /// `<arch>.attention.value_length`.
    public var valueLength: Int?
    public var rmsNormEpsilon: Double?
    public var ropeFrequencyBase: Double?
    public var ropeDimensionCount: Int?
    /// `<arch>.rope.scaling.type` (`none`, `linear`, `yarn`, …).
    public var ropeScalingType: String?
    /// `<arch>.rope.scaling.factor`.
    public var ropeScalingFactor: Double?
    /// `<arch>.rope.scaling.original_context_length`.
    public var ropeScalingOriginalContextLength: Int?
    /// `<arch>.attention.sliding_window`.
    public var slidingWindow: Int?
    /// `<arch>.vocab_size`, when the file states it.
    public var vocabularySize: Int?

    /// Reads the model's keys from `metadata`.
    public init(_ metadata: GGUFMetadata) throws {
        architecture = try metadata.require("general.architecture", GGUFMetadata.string)
        let a = architecture
        name = try metadata.string("general.name")
        fileType = try metadata.integer("general.file_type")
        quantizationVersion = try metadata.integer("general.quantization_version")
        contextLength = try metadata.integer("\(a).context_length")
        embeddingLength = try metadata.integer("\(a).embedding_length")
        blockCount = try metadata.integer("\(a).block_count")
        feedForwardLength = try metadata.integer("\(a).feed_forward_length")
        headCount = try metadata.integer("\(a).attention.head_count")
        headCountKV = try metadata.integer("\(a).attention.head_count_kv")
        keyLength = try metadata.integer("\(a).attention.key_length")
        valueLength = try metadata.integer("\(a).attention.value_length")
        rmsNormEpsilon = try metadata.number("\(a).attention.layer_norm_rms_epsilon")
        ropeFrequencyBase = try metadata.number("\(a).rope.freq_base")
        ropeDimensionCount = try metadata.integer("\(a).rope.dimension_count")
        ropeScalingType = try metadata.string("\(a).rope.scaling.type")
        ropeScalingFactor = try metadata.number("\(a).rope.scaling.factor")
        ropeScalingOriginalContextLength = try metadata.integer("\(a).rope.scaling.original_context_length")
        slidingWindow = try metadata.integer("\(a).attention.sliding_window")
        vocabularySize = try metadata.integer("\(a).vocab_size")
    }
}
