import ModelFormats

/// Byte-level BPE as llama.cpp reads it from a GGUF file (`tokenizer.ggml.model = gpt2`):
/// the vocabularies of GPT-2, Llama 3, Qwen 2/2.5/3, SmolLM2, DeepSeek, StarCoder, Falcon,
/// Command R and others.
///
/// Encoding: special tokens written in the text are matched first (control tokens only
/// when ``EncodingOptions/parseSpecialTokens`` or a ``TextSegment`` allows it, user-defined
/// tokens always, as llama.cpp does); the rest is cut into words by the pre-tokenizer
/// patterns that `tokenizer.ggml.pre` names (``supportedPreTokenizers``); each word's UTF-8
/// bytes, written in GPT-2's printable byte alphabet, are merged by rank
/// (`tokenizer.ggml.merges`). The result equals llama.cpp's `llama_tokenize`.
///
/// Decoding maps every character of a token back to its byte and joins the bytes;
/// control tokens decode to nothing, and bytes that do not form valid UTF-8 become U+FFFD.
///
/// ```swift
/// let tokenizer = try TokenizerLoader.load(from: URL(fileURLWithPath: "Llama-3.2-1B.gguf"))
/// tokenizer.encode("Hello world", options: .plain)   // [9906, 1917]
/// ```
public final class ByteLevelBPETokenizer: Tokenizer {
    /// The token strings by id, in the byte alphabet ("Ġworld").
    public let tokens: [String]
    /// llama.cpp's type of each token.
    public let tokenTypes: [SentencePieceModel.PieceType]
    /// The `tokenizer.ggml.pre` value the file names (`nil` when it names none and the
    /// default patterns are used).
    public let preTokenizerName: String?
    public let specialTokens: SpecialTokens
    public let addsBOSByDefault: Bool
    public let addsEOSByDefault: Bool
    /// Where the vocabulary came from, for messages.
    public let source: String

    let bpe: ByteLevelBPE
    /// Control, unknown and user-defined tokens by length, longest first.
    private let specialPieces: [(text: String, id: Int)]
    /// User-defined tokens: matched in any text, as llama.cpp does with parse_special off.
    private let userDefinedIDs: Set<Int>

    public var vocabularySize: Int { tokens.count }

    /// The `tokenizer.ggml.pre` values this library knows (llama.cpp's names).
    public static var supportedPreTokenizers: [String] { ByteLevelPreTokenizerFamily.knownNames }

    /// Builds the tokenizer of GGUF tokenizer metadata whose `tokenizer.ggml.model` is
    /// `gpt2`. Throws a ``TokenizerError`` naming `source`, the field and the problem for
    /// an unknown `tokenizer.ggml.pre`, a malformed merge, a merge of tokens missing from
    /// the vocabulary, a token type outside llama.cpp's.
    public init(gguf metadata: GGUFTokenizerMetadata, source: String) throws {
        func invalid(_ field: String, _ message: String) -> TokenizerError {
            TokenizerError(.invalidFile, file: source, "\(field): \(message)")
        }
        guard metadata.model == "gpt2" else {
            throw TokenizerError(
                .unsupported, file: source, "tokenizer.ggml.model is '\(metadata.model)'; byte-level BPE vocabularies are 'gpt2'")
        }
        let family: ByteLevelPreTokenizerFamily
        if let name = metadata.preTokenizer {
            guard let known = ByteLevelPreTokenizerFamily.named(name) else {
                throw TokenizerError(
                    .unsupported, file: source,
                    "tokenizer.ggml.pre: the pre-tokenizer '\(name)' is not supported (supported: \(Self.supportedPreTokenizers.joined(separator: ", ")))")
            }
            family = known
        } else {
            family = ByteLevelPreTokenizerFamily.named("default")!
        }
        let count = metadata.tokens.count
        guard count > 0 else { throw invalid("tokenizer.ggml.tokens", "is empty") }
        guard count < Int(Int32.max) else { throw invalid("tokenizer.ggml.tokens", "has too many tokens (\(count))") }
        var types: [SentencePieceModel.PieceType] = []
        if let raw = metadata.tokenTypes {
            guard raw.count == count else {
                throw invalid("tokenizer.ggml.token_type", "has \(raw.count) entries but tokenizer.ggml.tokens has \(count)")
            }
            types.reserveCapacity(count)
            for (index, value) in raw.enumerated() {
                // llama.cpp's types: 0 undefined (read as normal), 1 normal, 2 unknown,
                // 3 control, 4 user-defined, 5 unused, 6 byte.
                guard (0...6).contains(value) else {
                    throw invalid("tokenizer.ggml.token_type[\(index)]", "\(value) is not a token type (0 to 6)")
                }
                types.append(SentencePieceModel.PieceType(rawValue: value) ?? .normal)
            }
        } else {
            types = Array(repeating: .normal, count: count)
        }
        guard let rawMerges = metadata.merges else {
            throw TokenizerError(.invalidFile, file: source, "tokenizer.ggml.merges is missing (a gpt2 vocabulary needs its merges)")
        }
        var merges: [([UInt8], [UInt8])] = []
        merges.reserveCapacity(rawMerges.count)
        for (index, merge) in rawMerges.enumerated() {
            // As llama.cpp: split at the first space that is not the first byte.
            let bytes = Array(merge.utf8)
            guard let space = bytes.dropFirst().firstIndex(of: 0x20) else {
                throw invalid("tokenizer.ggml.merges[\(index)]", "'\(merge)' is not two tokens separated by a space")
            }
            merges.append((Array(bytes[..<space]), Array(bytes[(space + 1)...])))
        }
        let preTokenizer: PreTokenizer
        do { preTokenizer = try family.preTokenizer() } catch {
            throw TokenizerError(.unsupported, file: source, "tokenizer.ggml.pre '\(metadata.preTokenizer ?? "default")': \(error)")
        }
        do {
            bpe = try ByteLevelBPE(
                tokens: metadata.tokens, merges: merges, ignoreMerges: family.ignoreMerges, preTokenizer: preTokenizer,
                unknownToken: nil, mergeField: "tokenizer.ggml.merges", vocabularyField: "tokenizer.ggml.tokens")
        } catch {
            throw invalid(error.field, error.message)
        }
        tokens = metadata.tokens
        tokenTypes = types
        preTokenizerName = metadata.preTokenizer
        self.source = source
        specialPieces = types.indices
            .filter { [.control, .userDefined, .unknown].contains(types[$0]) && !metadata.tokens[$0].isEmpty }
            .map { (metadata.tokens[$0], $0) }
            .sorted { $0.text.utf8.count > $1.text.utf8.count }
        userDefinedIDs = Set(types.indices.filter { types[$0] == .userDefined })

        var specials = SpecialTokens(
            bos: metadata.bosTokenID, eos: metadata.eosTokenID, unknown: metadata.unknownTokenID, padding: metadata.paddingTokenID)
        if let eot = metadata.endOfTurnTokenID, eot != metadata.eosTokenID { specials.endOfTurn.append(eot) }
        // The end-of-generation tokens llama.cpp recognises by name.
        for name in ["<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>", "<|end_of_text|>"] {
            if let id = metadata.tokens.firstIndex(of: name), id != specials.eos, !specials.endOfTurn.contains(id),
               types[id] == .control || types[id] == .userDefined {
                specials.endOfTurn.append(id)
            }
        }
        specialTokens = specials
        addsBOSByDefault = (metadata.addBOS ?? family.addsBOS) && metadata.bosTokenID != nil
        addsEOSByDefault = (metadata.addEOS ?? false) && metadata.eosTokenID != nil
    }

    // MARK: Encoding

    public func encode(_ text: String, options: EncodingOptions) -> [Int] {
        encode([TextSegment(text, parsesSpecialTokens: options.parseSpecialTokens ?? false)], options: options)
    }

    public func encode(_ segments: [TextSegment], options: EncodingOptions) -> [Int] {
        var ids: [Int] = []
        if options.addBOS ?? addsBOSByDefault, let bos = specialTokens.bos { ids.append(bos) }
        // A user-defined token that the markup uses and a plain segment also spells would
        // let that text forge markup: it is matched only where special tokens are.
        let guarded = Set(specialPieces.filter { piece in
            userDefinedIDs.contains(piece.id)
                && segments.contains { $0.parsesSpecialTokens && $0.text.contains(piece.text) }
                && segments.contains { !$0.parsesSpecialTokens && $0.text.contains(piece.text) }
        }.map(\.id))
        let (text, allowed) = TextSegment.join(segments) { $0.utf8.count }
        let anywhere = userDefinedIDs.subtracting(guarded)
        let candidates = allowed.isEmpty ? specialPieces.filter { anywhere.contains($0.id) } : specialPieces
        for fragment in SpecialTokenSplitter.split(text, specials: candidates, allowedRanges: allowed, anywhere: anywhere) {
            switch fragment {
            case let .text(part): bpe.encode(part.unicodeScalars, into: &ids)
            case let .token(id): ids.append(id)
            }
        }
        if options.addEOS ?? addsEOSByDefault, let eos = specialTokens.eos { ids.append(eos) }
        return ids
    }

    // MARK: Decoding

    public func piece(for id: Int) -> String? {
        tokens.indices.contains(id) ? tokens[id] : nil
    }

    public func id(for piece: String) -> Int? {
        bpe.tokensByText.lookup(Array(piece.utf8))
    }

    public func isControl(_ id: Int) -> Bool {
        tokenTypes.indices.contains(id) && tokenTypes[id] == .control
    }

    public func makeStreamingDecoder() -> StreamingDecoder {
        let bpe = self.bpe, types = tokenTypes
        return StreamingDecoder(vocabularySize: tokens.count, leadingSpace: .keep, byteRuns: .maximalSubparts) { id in
            types[id] == .control ? .invisible : .bytes(bpe.bytes(of: id))
        }
    }
}
