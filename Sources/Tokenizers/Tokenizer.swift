/// Turns text into token ids and back.
///
/// Implementations: ``SentencePieceTokenizer`` (from a `tokenizer.model` or a GGUF
/// file), ``ByteLevelBPETokenizer`` (byte-level BPE from a GGUF file: Llama 3, Qwen,
/// GPT-2…) and ``HuggingFaceTokenizer`` (from a `tokenizer.json`, SentencePiece-style or
/// byte-level). Use
/// ``TokenizerLoader`` to open whichever file a model comes with.
///
/// ```swift
/// let tokenizer = try TokenizerLoader.load(from: URL(fileURLWithPath: "tokenizer.model"))
/// let ids = tokenizer.encode("Hello world", options: .init(addBOS: true))   // [1, 15043, 3186]
/// let text = try tokenizer.decode(ids)                                        // "Hello world"
/// ```
public protocol Tokenizer: Sendable {
    /// The number of ids.
    var vocabularySize: Int { get }
    /// The ids with special roles.
    var specialTokens: SpecialTokens { get }
    /// Whether the model expects a BOS id before a prompt, and an EOS id after it,
    /// when ``EncodingOptions`` does not say.
    var addsBOSByDefault: Bool { get }
    var addsEOSByDefault: Bool { get }

    /// The ids of `text`.
    func encode(_ text: String, options: EncodingOptions) -> [Int]
    /// The ids of the concatenated `segments`, where special-token text is recognised
    /// only inside segments that allow it (``TextSegment/parsesSpecialTokens``) and
    /// never across a segment boundary; ``EncodingOptions/parseSpecialTokens`` is not
    /// used. Text is otherwise encoded as one text, so adjacent segments merge as they
    /// would in ``encode(_:options:)-(String,_)``. Chat prompts use it: the template's markup
    /// allows special tokens, message text does not, so a message that spells
    /// `<end_of_turn>` cannot end its turn.
    func encode(_ segments: [TextSegment], options: EncodingOptions) -> [Int]
    /// The text of `ids`, as the reference library decodes the whole sequence.
    /// Throws for an id outside the vocabulary.
    func decode(_ ids: [Int]) throws -> String
    /// The piece (vocabulary string) of `id`, or `nil` outside the vocabulary.
    func piece(for id: Int) -> String?
    /// The id of a vocabulary piece, or `nil`.
    func id(for piece: String) -> Int?
    /// Whether `id` is a control or special token (BOS, EOS, end-of-turn, …), which
    /// decodes to no text.
    func isControl(_ id: Int) -> Bool
    /// A decoder that turns ids into text one at a time, for streaming.
    func makeStreamingDecoder() -> StreamingDecoder
}

extension Tokenizer {
    /// The text of `ids` through ``makeStreamingDecoder()``: every id appended in turn,
    /// then what the decoder held back. Tokenizers whose reference decodes a sequence
    /// otherwise than piece by piece override it.
    public func decode(_ ids: [Int]) throws -> String {
        let decoder = makeStreamingDecoder()
        var text = ""
        for id in ids { text += try decoder.append(id) }
        return text + decoder.finish()
    }

    /// The ids of `text` with the model's default BOS/EOS handling and special-token
    /// text treated as plain text.
    public func encode(_ text: String) -> [Int] {
        encode(text, options: EncodingOptions())
    }
}

extension Tokenizer {
    /// Encodes each segment on its own (special tokens parsed only in the segments that
    /// allow it) and concatenates the ids; BOS and EOS come from `options`. The
    /// tokenizers of this library override it with an encoding of the whole text.
    public func encode(_ segments: [TextSegment], options: EncodingOptions) -> [Int] {
        var ids: [Int] = []
        if options.addBOS ?? addsBOSByDefault, let bos = specialTokens.bos { ids.append(bos) }
        for segment in segments where !segment.text.isEmpty {
            ids += encode(segment.text, options: EncodingOptions(addBOS: false, addEOS: false, parseSpecialTokens: segment.parsesSpecialTokens))
        }
        if options.addEOS ?? addsEOSByDefault, let eos = specialTokens.eos { ids.append(eos) }
        return ids
    }
}

/// A piece of text to encode, and whether special-token text in it becomes special
/// tokens (see ``Tokenizer/encode(_:options:)-([TextSegment],_)``).
public struct TextSegment: Sendable, Equatable {
    public var text: String
    /// Whether special tokens written in this text (`<|im_end|>`) are recognised: true
    /// for the markup a chat template writes, false for text from a user or a file.
    public var parsesSpecialTokens: Bool

    public init(_ text: String, parsesSpecialTokens: Bool) {
        self.text = text
        self.parsesSpecialTokens = parsesSpecialTokens
    }

    /// The concatenated text and the ranges of it where special tokens may be
    /// recognised, measured by `count` (UTF-8 bytes or Unicode scalars).
    static func join(_ segments: [TextSegment], count: (String) -> Int) -> (text: String, allowed: [Range<Int>]) {
        var text = ""
        var allowed: [Range<Int>] = []
        var offset = 0
        for segment in segments {
            let length = count(segment.text)
            if segment.parsesSpecialTokens, length > 0 { allowed.append(offset..<offset + length) }
            text += segment.text
            offset += length
        }
        return (text, allowed)
    }

    /// Whether `range` lies inside one of `ranges`.
    static func ranges(_ ranges: [Range<Int>], contain range: Range<Int>) -> Bool {
        ranges.contains { $0.lowerBound <= range.lowerBound && range.upperBound <= $0.upperBound }
    }
}

/// How ``Tokenizer/encode(_:options:)-(String,_)`` treats the start and end of a text, and text
/// that spells special tokens.
public struct EncodingOptions: Sendable, Equatable {
    /// Put the BOS id first; `nil` follows the model (``Tokenizer/addsBOSByDefault``).
    public var addBOS: Bool?
    /// Put the EOS id last; `nil` follows the model.
    public var addEOS: Bool?
    /// Recognise the vocabulary's special tokens written in the text (such as `<s>` or
    /// `<start_of_turn>`) and emit their ids, as llama.cpp does with `parse_special`.
    /// `nil` follows the format's reference: SentencePiece and llama.cpp treat such text
    /// as plain text; the Hugging Face `tokenizers` library matches added tokens.
    public var parseSpecialTokens: Bool?

    public init(addBOS: Bool? = nil, addEOS: Bool? = nil, parseSpecialTokens: Bool? = nil) {
        self.addBOS = addBOS
        self.addEOS = addEOS
        self.parseSpecialTokens = parseSpecialTokens
    }

    /// No BOS, no EOS, special-token text as the format's reference treats it: the
    /// reference libraries' plain `encode(text)`.
    public static let plain = EncodingOptions(addBOS: false, addEOS: false)
}

/// The ids of a vocabulary's special tokens.
public struct SpecialTokens: Sendable, Equatable {
    public var bos: Int?
    public var eos: Int?
    public var unknown: Int?
    public var padding: Int?
    /// Ids that end a chat turn (`<end_of_turn>`, `<|im_end|>`, `<|eot_id|>`), besides EOS.
    public var endOfTurn: [Int]

    public init(bos: Int? = nil, eos: Int? = nil, unknown: Int? = nil, padding: Int? = nil, endOfTurn: [Int] = []) {
        self.bos = bos
        self.eos = eos
        self.unknown = unknown
        self.padding = padding
        self.endOfTurn = endOfTurn
    }

    /// EOS and the end-of-turn ids: where generation stops.
    public var stopIDs: Set<Int> { Set([eos].compactMap { $0} + endOfTurn) }
}
