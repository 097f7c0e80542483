import Foundation

/// A SentencePiece vocabulary with the settings that decide how text is encoded:
/// what a `tokenizer.model` file holds, or what a GGUF file's `tokenizer.ggml.*`
/// keys describe.
public struct SentencePieceModel: Sendable {
    /// The kind of a piece (`ModelProto.SentencePiece.Type`).
    public enum PieceType: Int, Sendable {
        case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    /// One vocabulary entry.
    public struct Piece: Sendable, Equatable {
        public var text: String
        public var score: Float
        public var type: PieceType

        public init(text: String, score: Float, type: PieceType) {
            self.text = text
            self.score = score
            self.type = type
        }
    }

    /// How text is prepared before merging (`NormalizerSpec`).
    public struct Normalizer: Sendable, Equatable {
        /// `name`: `identity` is the only rule this library applies; models whose rule
        /// is given by a precompiled character map are refused when loaded.
        public var name: String
        /// Prepend "▁" to the text (so "world" and "hello world" share "▁world").
        public var addDummyPrefix: Bool
        /// Drop leading and trailing spaces and collapse runs of spaces.
        public var removeExtraWhitespaces: Bool
        /// Replace " " with "▁".
        public var escapeWhitespaces: Bool

        public init(name: String = "identity", addDummyPrefix: Bool, removeExtraWhitespaces: Bool, escapeWhitespaces: Bool = true) {
            self.name = name
            self.addDummyPrefix = addDummyPrefix
            self.removeExtraWhitespaces = removeExtraWhitespaces
            self.escapeWhitespaces = escapeWhitespaces
        }
    }

    public var pieces: [Piece]
    public var normalizer: Normalizer
    /// Whether characters without a piece become byte pieces (`<0x41>`) instead of `<unk>`.
    public var byteFallback: Bool
    /// Put "▁" at the end of words instead of the start (`treat_whitespace_as_suffix`).
    public var treatWhitespaceAsSuffix: Bool
    /// The text `<unk>` decodes to (`unk_surface`, " ⁇ " by default).
    public var unknownSurface: String
    public var specialTokens: SpecialTokens
    /// Whether a prompt starts with BOS / ends with EOS unless told otherwise.
    public var addBOS: Bool
    public var addEOS: Bool
    /// Where the model came from, for messages.
    public var source: String

    public init(
        pieces: [Piece], normalizer: Normalizer, byteFallback: Bool, treatWhitespaceAsSuffix: Bool = false,
        unknownSurface: String = " \u{2047} ", specialTokens: SpecialTokens, addBOS: Bool, addEOS: Bool, source: String
    ) {
        self.pieces = pieces
        self.normalizer = normalizer
        self.byteFallback = byteFallback
        self.treatWhitespaceAsSuffix = treatWhitespaceAsSuffix
        self.unknownSurface = unknownSurface
        self.specialTokens = specialTokens
        self.addBOS = addBOS
        self.addEOS = addEOS
        self.source = source
    }
}
