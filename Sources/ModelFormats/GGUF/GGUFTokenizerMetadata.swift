/// The tokenizer llama.cpp stores in a GGUF file's `tokenizer.ggml.*` keys, with the
/// arrays checked against each other.
public struct GGUFTokenizerMetadata: Sendable, Equatable {
    /// `tokenizer.ggml.model`: `llama` for SentencePiece, `gpt2` for byte-level BPE, …
    public var model: String
    /// `tokenizer.ggml.pre`: the pre-tokenizer name, when present.
    public var preTokenizer: String?
    /// `tokenizer.ggml.tokens`: the piece of each id.
    public var tokens: [String]
    /// `tokenizer.ggml.scores`: the score of each piece (SentencePiece), if present.
    public var scores: [Float]?
    /// `tokenizer.ggml.token_type`: llama.cpp's type of each piece (1 normal, 2 unknown,
    /// 3 control, 4 user-defined, 5 unused, 6 byte), if present.
    public var tokenTypes: [Int]?
    /// `tokenizer.ggml.merges` (byte-level BPE), if present.
    public var merges: [String]?
    public var bosTokenID: Int?
    public var eosTokenID: Int?
    public var unknownTokenID: Int?
    public var paddingTokenID: Int?
    /// `tokenizer.ggml.eot_token_id`: the end-of-turn token of a chat model, if stated.
    public var endOfTurnTokenID: Int?
    public var addBOS: Bool?
    public var addEOS: Bool?
    /// `tokenizer.ggml.add_space_prefix`.
    public var addSpacePrefix: Bool?
    /// `tokenizer.chat_template`: a Jinja template, when the file carries one.
    public var chatTemplate: String?

    /// Reads the tokenizer keys from `metadata`. Throws when `tokenizer.ggml.model` or
    /// `tokenizer.ggml.tokens` is missing, when the scores or types disagree in length
    /// with the tokens, or when a special id is outside the vocabulary.
    public init(_ metadata: GGUFMetadata) throws {
        model = try metadata.require("tokenizer.ggml.model", GGUFMetadata.string)
        preTokenizer = try metadata.string("tokenizer.ggml.pre")
        tokens = try metadata.require("tokenizer.ggml.tokens", GGUFMetadata.strings)
        scores = try metadata.floats("tokenizer.ggml.scores")
        tokenTypes = try metadata.integers("tokenizer.ggml.token_type")
        merges = try metadata.strings("tokenizer.ggml.merges")
        bosTokenID = try metadata.integer("tokenizer.ggml.bos_token_id")
        eosTokenID = try metadata.integer("tokenizer.ggml.eos_token_id")
        unknownTokenID = try metadata.integer("tokenizer.ggml.unknown_token_id")
        paddingTokenID = try metadata.integer("tokenizer.ggml.padding_token_id")
        endOfTurnTokenID = try metadata.integer("tokenizer.ggml.eot_token_id")
        addBOS = try metadata.bool("tokenizer.ggml.add_bos_token")
        addEOS = try metadata.bool("tokenizer.ggml.add_eos_token")
        addSpacePrefix = try metadata.bool("tokenizer.ggml.add_space_prefix")
        chatTemplate = try metadata.string("tokenizer.chat_template")

        let count = tokens.count
        for (key, length) in [("tokenizer.ggml.scores", scores?.count), ("tokenizer.ggml.token_type", tokenTypes?.count)] {
            if let length, length != count {
                throw ModelFormatError(
                    .inconsistent, file: metadata.file, field: "metadata '\(key)'",
                    problem: "has \(length) entries but tokenizer.ggml.tokens has \(count)")
            }
        }
        // Some converters write a padding id outside the vocabulary (−1 as a u32, say) to
        // mean "none"; treat it so rather than rejecting the file.
        if let id = paddingTokenID, id < 0 || id >= count { paddingTokenID = nil }
        let specials = [
            ("bos_token_id", bosTokenID), ("eos_token_id", eosTokenID), ("unknown_token_id", unknownTokenID),
            ("eot_token_id", endOfTurnTokenID),
        ]
        for (key, id) in specials {
            if let id, id < 0 || id >= count {
                throw ModelFormatError(
                    .inconsistent, file: metadata.file, field: "metadata 'tokenizer.ggml.\(key)'",
                    problem: "\(id) is outside the vocabulary of \(count) tokens")
            }
        }
    }
}
