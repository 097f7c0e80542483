/// SentencePiece's byte-pair encoding, as the `sentencepiece` library computes it.
///
/// Encoding: the text is normalized (spaces become "▁", a "▁" is prepended when the
/// model adds a dummy prefix; the `identity` rule changes nothing else), split into
/// characters — user-defined pieces are matched whole and never merged — and
/// adjacent symbols are merged while some pair spells a normal, user-defined or
/// unused piece: always the pair whose piece has the highest score, the leftmost on
/// a tie. A final symbol that is no piece becomes its UTF-8 bytes as `<0xNN>` pieces
/// (byte fallback), or `<unk>` (consecutive unknowns merged) without it.
///
/// Decoding follows `SentencePieceProcessor::Decode`: control pieces are invisible,
/// runs of byte pieces become their UTF-8 text (U+FFFD for each byte that is not part
/// of a valid character), "▁" becomes " ", and the first "▁" of the text is dropped
/// when the model adds a dummy prefix.
public final class SentencePieceTokenizer: Tokenizer {
    public let model: SentencePieceModel
    private let allPieces: PieceTable
    private let mergeablePieces: PieceTable
    /// User-defined pieces by their first byte, longest first in each list.
    private let userDefined: [[[UInt8]]]
    private let hasUserDefined: Bool
    private let byteIDs: [Int?]
    /// The pieces' scores and types, apart from their text, for the merge loop.
    private let scores: [Float]
    private let pieceTypes: [SentencePieceModel.PieceType]
    /// The normalized space: "▁", or " " when the model does not escape spaces.
    private let spaceBytes: [UInt8]
    /// Whether no mergeable piece has a space right after another character, so that no
    /// merge can join a space to the character before it: then each word (a run of spaces
    /// and what follows up to the next space after a non-space) merges on its own with the
    /// same result, which keeps the merge queue small on long texts. True for Llama 2's
    /// vocabulary; checked per vocabulary, and otherwise the whole text merges at once.
    private let wordStartsSeparateMerges: Bool
    private let idToByte: [Int: UInt8]
    /// Control and user-defined pieces by length, longest first, for `parseSpecialTokens`.
    private let specialPieces: [(text: String, id: Int)]

    public var vocabularySize: Int { model.pieces.count }
    public var specialTokens: SpecialTokens { model.specialTokens }
    public var addsBOSByDefault: Bool { model.addBOS }
    public var addsEOSByDefault: Bool { model.addEOS }

    public init(model: SentencePieceModel) {
        self.model = model
        var all: [([UInt8], Int)] = []
        var mergeable: [([UInt8], Int)] = []
        var bytes = [Int?](repeating: nil, count: 256)
        var idToByte: [Int: UInt8] = [:]
        // As in SentencePiece's PieceToId, reserved pieces (unknown, control, byte) are
        // found before the others.
        for pass in 0..<2 {
            for (id, piece) in model.pieces.enumerated() {
                let reserved = piece.type == .unknown || piece.type == .control || piece.type == .byte
                guard reserved == (pass == 0) else { continue }
                all.append((Array(piece.text.utf8), id))
                if !reserved { mergeable.append((Array(piece.text.utf8), id)) }
                if piece.type == .byte, let value = Self.byteValue(piece.text) {
                    bytes[Int(value)] = bytes[Int(value)] ?? id
                    idToByte[id] = value
                }
            }
        }
        allPieces = PieceTable(all)
        let space: Unicode.Scalar = model.normalizer.escapeWhitespaces ? "\u{2581}" : " "
        spaceBytes = Array(String(space).utf8)
        wordStartsSeparateMerges = !model.pieces.contains { piece in
            guard piece.type == .normal || piece.type == .userDefined || piece.type == .unused else { return false }
            var previous: Unicode.Scalar?
            for scalar in piece.text.unicodeScalars {
                if let previous, scalar == space, previous != space { return true }
                previous = scalar
            }
            return false
        }
        scores = model.pieces.map(\.score)
        pieceTypes = model.pieces.map(\.type)
        mergeablePieces = PieceTable(mergeable)
        byteIDs = bytes
        self.idToByte = idToByte
        var userDefinedByFirstByte = [[[UInt8]]](repeating: [], count: 256)
        for piece in model.pieces where piece.type == .userDefined && !piece.text.isEmpty {
            let bytes = Array(piece.text.utf8)
            userDefinedByFirstByte[Int(bytes[0])].append(bytes)
        }
        userDefined = userDefinedByFirstByte.map { $0.sorted { $0.count > $1.count } }
        hasUserDefined = userDefined.contains { !$0.isEmpty }
        specialPieces = model.pieces.enumerated()
            .filter { ($0.element.type == .control || $0.element.type == .userDefined) && !$0.element.text.isEmpty }
            .map { ($0.element.text, $0.offset) }
            .sorted { $0.text.utf8.count > $1.text.utf8.count }
    }

    /// The byte of a `<0xNN>` piece.
    public static func byteValue(_ text: String) -> UInt8? {
        guard text.count == 6, text.hasPrefix("<0x"), text.hasSuffix(">") else { return nil }
        return UInt8(text.dropFirst(3).dropLast(), radix: 16)
    }

    // MARK: Encoding

    public func encode(_ text: String, options: EncodingOptions) -> [Int] {
        encode([TextSegment(text, parsesSpecialTokens: options.parseSpecialTokens ?? false)], options: options)
    }

    public func encode(_ segments: [TextSegment], options: EncodingOptions) -> [Int] {
        let (text, allowed) = TextSegment.join(segments) { $0.utf8.count }
        var ids: [Int] = []
        if options.addBOS ?? model.addBOS, let bos = model.specialTokens.bos { ids.append(bos) }
        let guarded = piecesToGuard(segments)
        if !guarded.isEmpty {
            // A user-defined piece is matched in any text (SentencePiece copies it whole);
            // one that the markup uses (Yi's `<|im_end|>`) and that a plain segment also
            // spells would let that text forge markup. Then each segment is encoded on its
            // own, the plain ones with those pieces neither matched nor merged into.
            for segment in segments {
                if segment.parsesSpecialTokens {
                    for fragment in SpecialTokenSplitter.split(segment.text, specials: specialPieces) {
                        switch fragment {
                        case let .text(part): ids += encodePlain(part)
                        case let .token(id): ids.append(id)
                        }
                    }
                } else {
                    ids += encodePlain(segment.text, disabled: guarded)
                }
            }
        } else if !allowed.isEmpty {
            // llama.cpp's parse_special: special pieces in the text become their ids, and
            // the text after each one is encoded as if it started a new text.
            for fragment in SpecialTokenSplitter.split(text, specials: specialPieces, allowedRanges: allowed) {
                switch fragment {
                case let .text(segment): ids += encodePlain(segment)
                case let .token(id): ids.append(id)
                }
            }
        } else {
            ids += encodePlain(text)
        }
        if options.addEOS ?? model.addEOS, let eos = model.specialTokens.eos { ids.append(eos) }
        return ids
    }

    /// The user-defined pieces that a segment allowing special tokens spells and a
    /// plain segment spells too (control pieces are never matched in plain text).
    private func piecesToGuard(_ segments: [TextSegment]) -> Set<Int> {
        guard hasUserDefined, segments.contains(where: { !$0.parsesSpecialTokens }) else { return [] }
        var guarded: Set<Int> = []
        for (text, id) in specialPieces where model.pieces[id].type == .userDefined {
            if segments.contains(where: { $0.parsesSpecialTokens && $0.text.contains(text) }),
               segments.contains(where: { !$0.parsesSpecialTokens && $0.text.contains(text) }) {
                guarded.insert(id)
            }
        }
        return guarded
    }

    /// The ids of `text` alone: no BOS/EOS, special-token text as text. The pieces
    /// `disabled` are neither matched as user-defined pieces nor merged into.
    func encodePlain(_ text: String, disabled: Set<Int> = []) -> [Int] {
        let normalized = normalize(text, disabled: disabled)
        guard !normalized.isEmpty else { return [] }
        let mergeablePieces = self.mergeablePieces, scores = self.scores, pieceTypes = self.pieceTypes
        return normalized.withUnsafeBufferPointer { buffer in
            var merger = BytePairMerger()
            let initial = initialSymbols(buffer, disabled: disabled)
            var reverseMerges: [Int32: (BytePairMerger.Symbol, BytePairMerger.Symbol)] = [:]
            func merge(_ segment: ArraySlice<BytePairMerger.Symbol>) {
            merger.reset(segment)
            merger.run(
                candidate: { left, right in
                    let key = UnsafeBufferPointer(rebasing: buffer[Int(left.start)..<Int(right.start + right.length)])
                    guard let id = mergeablePieces.lookup(key), disabled.isEmpty || !disabled.contains(id) else { return nil }
                    return (scores[id], Int32(id))
                },
                merged: { left, right, id in
                    if pieceTypes[Int(id)] == .unused { reverseMerges[id] = (left, right) }
                })
            }
            var ids: [Int] = []
            var previousWasUnknown = false
            func emit(_ symbol: BytePairMerger.Symbol) {
                let key = UnsafeBufferPointer(rebasing: buffer[Int(symbol.start)..<Int(symbol.start + symbol.length)])
                if let id = allPieces.lookup(key) {
                    if pieceTypes[id] == .unused, let (left, right) = reverseMerges[Int32(id)] {
                        emit(left)
                        emit(right)
                        return
                    }
                    ids.append(id)
                    previousWasUnknown = pieceTypes[id] == .unknown
                } else if model.byteFallback, key.allSatisfy({ byteIDs[Int($0)] != nil }) {
                    for byte in key { ids.append(byteIDs[Int(byte)]!) }
                    previousWasUnknown = false
                } else if let unknown = model.specialTokens.unknown {
                    // Consecutive unknown pieces are merged into one.
                    if !previousWasUnknown { ids.append(unknown) }
                    previousWasUnknown = true
                }
            }
            // Merge word by word where no merge can cross a word start (see
            // `wordStartsSeparateMerges`): the same result as merging the whole text, with
            // small queues instead of one as long as the text.
            let space = spaceBytes
            func isSpace(_ symbol: BytePairMerger.Symbol) -> Bool {
                guard !symbol.frozen, Int(symbol.length) == space.count else { return false }
                for j in 0..<space.count where buffer[Int(symbol.start) + j] != space[j] { return false }
                return true
            }
            var segmentStart = 0
            if wordStartsSeparateMerges {
                for index in initial.indices.dropFirst() where isSpace(initial[index]) && !isSpace(initial[index - 1]) {
                    merge(initial[segmentStart..<index])
                    merger.forEachResult(emit)
                    segmentStart = index
                }
            }
            merge(initial[segmentStart...])
            merger.forEachResult(emit)
            return ids
        }
    }

    /// SentencePiece's `Normalizer::Normalize` with the identity rule.
    func normalize(_ text: String, disabled: Set<Int> = []) -> [UInt8] {
        let spec = model.normalizer
        var input = Substring(text).utf8[...]
        if spec.removeExtraWhitespaces {
            while input.first == 0x20 { input = input.dropFirst() }
        }
        guard !input.isEmpty else { return [] }
        let space: [UInt8] = spec.escapeWhitespaces ? [0xE2, 0x96, 0x81] : [0x20]
        var output: [UInt8] = []
        output.reserveCapacity(input.count * 3 / 2 + 3)
        if !model.treatWhitespaceAsSuffix && spec.addDummyPrefix { output += space }
        var previousWasSpace = spec.removeExtraWhitespaces
        var bytes = Array(input)
        var i = 0
        while i < bytes.count {
            // User-defined pieces are copied unchanged.
            if hasUserDefined, let match = userDefined[Int(bytes[i])].first(where: {
                Self.hasPrefix(bytes, at: i, $0) && (disabled.isEmpty || !isDisabled($0, disabled))
            }) {
                output += match
                i += match.count
                previousWasSpace = false
                continue
            }
            let byte = bytes[i]
            if byte == 0x20 {
                if !(spec.removeExtraWhitespaces && previousWasSpace) { output += space }
                previousWasSpace = spec.removeExtraWhitespaces
            } else {
                let length = UTF8.sequenceLength(lead: byte)
                output += bytes[i..<min(i + length, bytes.count)]
                i += length
                previousWasSpace = false
                continue
            }
            i += 1
        }
        bytes.removeAll()
        if spec.removeExtraWhitespaces {
            while output.count >= space.count, Array(output.suffix(space.count)) == space {
                output.removeLast(space.count)
            }
        }
        if model.treatWhitespaceAsSuffix && spec.addDummyPrefix { output += space }
        return output
    }

    static func hasPrefix(_ bytes: [UInt8], at i: Int, _ prefix: [UInt8]) -> Bool {
        guard bytes.count - i >= prefix.count else { return false }
        for j in 0..<prefix.count where bytes[i + j] != prefix[j] { return false }
        return true
    }

    /// One symbol per character, or per user-defined piece (frozen).
    private func isDisabled(_ piece: [UInt8], _ disabled: Set<Int>) -> Bool {
        allPieces.lookup(piece).map(disabled.contains) ?? false
    }

    private func initialSymbols(_ buffer: UnsafeBufferPointer<UInt8>, disabled: Set<Int>) -> [BytePairMerger.Symbol] {
        var symbols: [BytePairMerger.Symbol] = []
        symbols.reserveCapacity(buffer.count)
        var i = 0
        while i < buffer.count {
            var length = min(UTF8.sequenceLength(lead: buffer[i]), buffer.count - i)
            var frozen = false
            if hasUserDefined {
                for piece in userDefined[Int(buffer[i])] where buffer.count - i >= piece.count {
                    if (0..<piece.count).allSatisfy({ buffer[i + $0] == piece[$0] }), disabled.isEmpty || !isDisabled(piece, disabled) {
                        length = piece.count
                        frozen = true
                        break
                    }
                }
            }
            symbols.append(.init(start: Int32(i), length: Int32(length), previous: -1, next: -1, id: -1, frozen: frozen))
            i += length
        }
        return symbols
    }

    // MARK: Decoding

    public func piece(for id: Int) -> String? {
        model.pieces.indices.contains(id) ? model.pieces[id].text : nil
    }

    public func id(for piece: String) -> Int? {
        allPieces.lookup(Array(piece.utf8))
    }

    public func isControl(_ id: Int) -> Bool {
        model.pieces.indices.contains(id) && model.pieces[id].type == .control
    }

    public func makeStreamingDecoder() -> StreamingDecoder {
        let model = self.model
        let bytes = idToByte
        let stripsFirstSpace = !model.treatWhitespaceAsSuffix
            && (model.normalizer.addDummyPrefix || model.normalizer.removeExtraWhitespaces)
        return StreamingDecoder(
            vocabularySize: model.pieces.count,
            leadingSpace: model.normalizer.removeExtraWhitespaces ? .stripUntilText : .stripOnce,
            classify: { id in
                let piece = model.pieces[id]
                switch piece.type {
                case .control: return .invisible
                case .byte: return bytes[id].map(StreamingDecoder.Piece.byte) ?? .text(piece.text)
                case .unknown: return .text(model.unknownSurface, leadingSpaceEligible: false)
                default:
                    return .text(piece.text.replacingScalars("\u{2581}", with: " "), leadingSpaceEligible: stripsFirstSpace)
                }
            })
    }
}
