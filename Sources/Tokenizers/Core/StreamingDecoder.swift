/// Decodes ids one at a time into text, for streaming a generation.
///
/// It emits only complete characters: bytes from byte-fallback pieces are held until
/// they form a whole UTF-8 character (so an emoji split over four `<0xNN>` ids comes
/// out once, whole), and the leading-space rule of the reference decoder is applied
/// as it would be to the whole sequence. Concatenating everything ``append(_:)`` and
/// ``finish()`` return equals ``Tokenizer/decode(_:)`` of all the ids.
///
/// ```swift
/// let decoder = tokenizer.makeStreamingDecoder()
/// for id in generatedIDs { print(try decoder.append(id), terminator: "") }
/// print(decoder.finish())
/// ```
public final class StreamingDecoder {
    /// What one id contributes to the text.
    public enum Piece: Sendable {
        /// Nothing (control tokens such as BOS and EOS).
        case invisible
        /// One raw byte (a byte-fallback piece `<0xNN>`).
        case byte(UInt8)
        /// Raw bytes (a byte-level BPE token such as "Ġworld", or a piece of a character);
        /// they are held until they end a character.
        case bytes(ArraySlice<UInt8>)
        /// Text. `leadingSpaceEligible`: a leading space may be dropped at the start of
        /// the output (the space of the dummy prefix the encoder added).
        case text(String, leadingSpaceEligible: Bool = false)
    }

    /// When a leading space is dropped from the start of the output.
    public enum LeadingSpaceRule: Sendable {
        /// Never.
        case keep
        /// From the first eligible piece at the start of the output (SentencePiece with
        /// `add_dummy_prefix`).
        case stripOnce
        /// From every eligible piece until some text has been produced (SentencePiece
        /// with `remove_extra_whitespaces`).
        case stripUntilText
        /// From the first character of the output, whatever produced it (the Hugging
        /// Face `Strip` decoder after `Fuse`).
        case stripFirstCharacter
        /// From the first visible piece, if it is text (the Hugging Face `Metaspace`
        /// decoder).
        case stripFirstPiece
    }

    /// How a run of byte pieces becomes text.
    public enum ByteRunRule: Sendable {
        /// Valid characters are kept, each invalid byte becomes U+FFFD (SentencePiece).
        case perCharacter
        /// The run is text if all of it is valid UTF-8; otherwise every byte becomes
        /// U+FFFD (the Hugging Face `ByteFallback` decoder). The run is held until it ends.
        case wholeRun
        /// Each maximal invalid subsequence becomes one U+FFFD, as in Swift's
        /// `String(decoding:as:)` and Rust's `String::from_utf8_lossy` (the `tokenizers`
        /// `ByteLevel` decoder); an unfinished character is held until it completes.
        case maximalSubparts
    }

    private let vocabularySize: Int
    private let rule: LeadingSpaceRule
    private let byteRule: ByteRunRule
    private let classify: (Int) -> Piece
    private var pendingBytes: [UInt8] = []
    private var producedText = false
    private var expectingLeadingSpace = true
    private var leadingSpaceSeen = false

    private var visiblePieceSeen = false
    private var firstCharacterSeen = false

    public init(
        vocabularySize: Int, leadingSpace rule: LeadingSpaceRule, byteRuns byteRule: ByteRunRule = .perCharacter,
        classify: @escaping (Int) -> Piece
    ) {
        self.vocabularySize = vocabularySize
        self.rule = rule
        self.byteRule = byteRule
        self.classify = classify
    }

    /// Adds one id; returns the text that is now certain (possibly empty).
    public func append(_ id: Int) throws -> String {
        guard id >= 0, id < vocabularySize else { throw TokenizerError.idOutOfRange(id, vocabularySize: vocabularySize) }
        let piece = classify(id)
        if case let .byte(value) = piece {
            visiblePieceSeen = true
            pendingBytes.append(value)
            guard byteRule == .perCharacter else { return "" }
            let (text, used) = ByteRunDecoder.decodePrefix(of: pendingBytes, final: false)
            pendingBytes.removeFirst(used)
            return produced(text)
        }
        if case let .bytes(values) = piece {
            if !values.isEmpty { visiblePieceSeen = true }
            pendingBytes += values
            switch byteRule {
            case .perCharacter:
                let (text, used) = ByteRunDecoder.decodePrefix(of: pendingBytes, final: false)
                pendingBytes.removeFirst(used)
                return produced(text)
            case .wholeRun:
                return ""
            case .maximalSubparts:
                break
            }
            let complete = ByteRunDecoder.completeLength(of: pendingBytes)
            guard complete > 0 else { return "" }
            let text = String(decoding: pendingBytes[..<complete], as: UTF8.self)
            pendingBytes.removeFirst(complete)
            return produced(text)
        }
        // Byte-level tokenizers drop invisible tokens before joining the bytes of the others.
        if case .invisible = piece, byteRule == .maximalSubparts { return "" }
        var output = flushBytes()
        if leadingSpaceSeen || producedText { expectingLeadingSpace = false }
        leadingSpaceSeen = false
        if case .text(var text, let eligible) = piece {
            switch rule {
            case .stripOnce, .stripUntilText:
                if expectingLeadingSpace, eligible, text.hasScalarPrefix(" ") {
                    text = text.droppingScalars(1)
                    leadingSpaceSeen = rule == .stripOnce
                }
            case .stripFirstPiece:
                if !visiblePieceSeen, text.hasScalarPrefix(" ") { text = text.droppingScalars(1) }
            case .keep, .stripFirstCharacter:
                break
            }
            visiblePieceSeen = true
            output += produced(text)
        }
        return output
    }

    /// Ends the sequence: bytes of an unfinished character become U+FFFD each.
    public func finish() -> String {
        flushBytes()
    }

    /// Forgets everything, for a new sequence.
    public func reset() {
        pendingBytes.removeAll()
        producedText = false
        expectingLeadingSpace = true
        leadingSpaceSeen = false
        visiblePieceSeen = false
        firstCharacterSeen = false
    }

    private func flushBytes() -> String {
        guard !pendingBytes.isEmpty else { return "" }
        let text: String
        switch byteRule {
        case .perCharacter:
            text = ByteRunDecoder.text(of: pendingBytes)
        case .wholeRun:
            text = ByteRunDecoder.isValid(pendingBytes)
                ? ByteRunDecoder.text(of: pendingBytes) : String(repeating: "\u{FFFD}", count: pendingBytes.count)
        case .maximalSubparts:
            text = String(decoding: pendingBytes, as: UTF8.self)
        }
        pendingBytes.removeAll()
        return produced(text)
    }

    private func produced(_ text: String) -> String {
        var text = text
        if rule == .stripFirstCharacter, !firstCharacterSeen, !text.isEmpty {
            // The Hugging Face Strip decoder removes one leading space from the whole
            // output, even when that leaves the first piece empty.
            firstCharacterSeen = true
            if text.hasScalarPrefix(" ") { text = text.droppingScalars(1) }
        }
        if !text.isEmpty { producedText = true }
        return text
    }
}

