/// Byte-level BPE (GPT-2, Llama 3, Qwen 2): the encoding shared by ``ByteLevelBPETokenizer``
/// (GGUF) and ``HuggingFaceTokenizer`` (`tokenizer.json`).
///
/// The text is cut into words by a ``PreTokenizer``; each word's UTF-8 bytes start as one
/// symbol per byte (the token spelling that byte in ``ByteLevelAlphabet``), and the ranked
/// merges join adjacent symbols, lowest rank first (``RankedMerges``). With
/// `ignoreMerges`, a word that is a token as a whole is that token, merges or not.
struct ByteLevelBPE: Sendable {
    /// The token of each byte, or -1.
    let byteTokens: [Int32]
    /// Tokens by the bytes they stand for (tokens whose every character is in the alphabet).
    let tokensByBytes: PieceTable
    /// Tokens by their text (the vocabulary strings' UTF-8).
    let tokensByText: PieceTable
    let merges: RankedMerges
    let ignoreMerges: Bool
    let preTokenizer: PreTokenizer
    /// The token a byte without a token becomes, if any (`tokenizers`' `unk_token`); without
    /// one the byte is dropped, as llama.cpp and `tokenizers` drop it.
    let unknownToken: Int32?

    /// The bytes each token decodes to: its characters mapped back through the alphabet,
    /// or its UTF-8 text when some character is outside it (`tokenizers`' `ByteLevel`
    /// decoder does the same).
    private let decodedBytes: [UInt8]
    private let decodedOffsets: [Int32]

    /// Why a vocabulary cannot be used; the caller adds the file.
    struct Problem: Error {
        let field: String
        let message: String
    }

    /// - Parameters:
    ///   - tokens: the vocabulary strings by id (characters of ``ByteLevelAlphabet``, or
    ///     anything for added tokens).
    ///   - merges: the merge pairs in rank order, as the UTF-8 of the two tokens.
    ///   - mergeField: the field name for messages (`tokenizer.ggml.merges`, `model.merges`).
    ///   - vocabularyField: the field holding the tokens, for messages.
    init(
        tokens: [String], merges: [([UInt8], [UInt8])], ignoreMerges: Bool, preTokenizer: PreTokenizer,
        unknownToken: Int?, mergeField: String, vocabularyField: String
    ) throws(Problem) {
        guard merges.count <= RankedMerges.maximumCount else {
            throw Problem(field: mergeField, message: "has \(merges.count) merges; at most \(RankedMerges.maximumCount) are supported")
        }
        var byText: [([UInt8], Int)] = []
        byText.reserveCapacity(tokens.count)
        var byBytes: [([UInt8], Int)] = []
        byBytes.reserveCapacity(tokens.count)
        var byteTokens = [Int32](repeating: -1, count: 256)
        var decodedBytes: [UInt8] = []
        var decodedOffsets: [Int32] = [0]
        decodedOffsets.reserveCapacity(tokens.count + 1)
        for (id, token) in tokens.enumerated() {
            byText.append((Array(token.utf8), id))
            if let bytes = ByteLevelAlphabet.bytes(of: token) {
                byBytes.append((bytes, id))
                if bytes.count == 1, byteTokens[Int(bytes[0])] < 0 { byteTokens[Int(bytes[0])] = Int32(id) }
                decodedBytes += bytes
            } else {
                decodedBytes += token.utf8
            }
            decodedOffsets.append(Int32(truncatingIfNeeded: decodedBytes.count))
        }
        guard decodedBytes.count < Int(Int32.max) else {
            throw Problem(field: vocabularyField, message: "holds more than 2 GB of text")
        }
        let table = PieceTable(byText)
        var ranked = RankedMerges(capacity: merges.count)
        for (rank, (leftBytes, rightBytes)) in merges.enumerated() {
            guard let a = table.lookup(leftBytes) else {
                throw Problem(field: "\(mergeField)[\(rank)]", message: Self.describe(leftBytes, rightBytes, missing: leftBytes, in: vocabularyField))
            }
            guard let b = table.lookup(rightBytes) else {
                throw Problem(field: "\(mergeField)[\(rank)]", message: Self.describe(leftBytes, rightBytes, missing: rightBytes, in: vocabularyField))
            }
            guard let merged = table.lookup(leftBytes + rightBytes) else {
                throw Problem(field: "\(mergeField)[\(rank)]", message: Self.describe(leftBytes, rightBytes, missing: nil, in: vocabularyField))
            }
            ranked.add(left: a, right: b, merged: merged, rank: rank)
        }
        self.byteTokens = byteTokens
        self.tokensByBytes = PieceTable(byBytes)
        self.tokensByText = table
        self.merges = ranked
        self.ignoreMerges = ignoreMerges
        self.preTokenizer = preTokenizer
        self.unknownToken = unknownToken.map(Int32.init)
        self.decodedBytes = decodedBytes
        self.decodedOffsets = decodedOffsets
    }

    /// The message for a merge whose token `missing` (or, when `nil`, whose merged token)
    /// is not in the vocabulary.
    private static func describe(_ left: [UInt8], _ right: [UInt8], missing: [UInt8]?, in field: String) -> String {
        let text = { (bytes: [UInt8]) in String(decoding: bytes, as: UTF8.self) }
        let pair = "'\(text(left)) \(text(right))'"
        guard let missing else { return "\(pair): the merged token '\(text(left + right))' is not in \(field)" }
        return "\(pair): '\(text(missing))' is not in \(field)"
    }

    /// Appends the ids of `text` (no special-token handling) to `ids`.
    func encode(_ text: some Sequence<Unicode.Scalar>, into ids: inout [Int]) {
        let (scalars, words) = preTokenizer.split(ScalarText(text))
        var bytes: [UInt8] = []
        var symbols: [BytePairMerger.Symbol] = []
        var merger = BytePairMerger()
        for word in words {
            bytes.removeAll(keepingCapacity: true)
            for index in word { Self.appendUTF8(scalars.scalars[index], to: &bytes) }
            encodeWord(bytes, symbols: &symbols, merger: &merger, into: &ids)
        }
    }

    /// Appends the ids of one word, given as its UTF-8 bytes.
    func encodeWord(_ bytes: [UInt8], symbols: inout [BytePairMerger.Symbol], merger: inout BytePairMerger, into ids: inout [Int]) {
        guard !bytes.isEmpty else { return }
        if ignoreMerges || bytes.count == 1, let id = tokensByBytes.lookup(bytes) {
            ids.append(id)
            return
        }
        symbols.removeAll(keepingCapacity: true)
        for (offset, byte) in bytes.enumerated() {
            var id = byteTokens[Int(byte)]
            if id < 0 {
                guard let unknownToken else { continue }
                id = unknownToken
            }
            symbols.append(.init(start: Int32(offset), length: 1, previous: -1, next: -1, id: id, frozen: false))
        }
        guard !symbols.isEmpty else { return }
        merges.merge(symbols, using: &merger, into: &ids)
    }

    /// The bytes `id` decodes to.
    func bytes(of id: Int) -> ArraySlice<UInt8> {
        decodedBytes[Int(decodedOffsets[id])..<Int(decodedOffsets[id + 1])]
    }

    @inline(__always)
    static func appendUTF8(_ value: UInt32, to bytes: inout [UInt8]) {
        switch value {
        case 0..<0x80:
            bytes.append(UInt8(value))
        case 0x80..<0x800:
            bytes.append(UInt8(0xC0 | value >> 6))
            bytes.append(UInt8(0x80 | value & 0x3F))
        case 0x800..<0x10000:
            bytes.append(UInt8(0xE0 | value >> 12))
            bytes.append(UInt8(0x80 | value >> 6 & 0x3F))
            bytes.append(UInt8(0x80 | value & 0x3F))
        default:
            bytes.append(UInt8(0xF0 | value >> 18))
            bytes.append(UInt8(0x80 | value >> 12 & 0x3F))
            bytes.append(UInt8(0x80 | value >> 6 & 0x3F))
            bytes.append(UInt8(0x80 | value & 0x3F))
        }
    }
}
