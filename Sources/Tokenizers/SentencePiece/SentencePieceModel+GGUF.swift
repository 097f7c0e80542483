import ModelFormats

extension SentencePieceModel {
    /// The SentencePiece vocabulary llama.cpp stores in a GGUF file
    /// (`tokenizer.ggml.model` = `llama`): pieces, scores and token types, special ids,
    /// `add_bos_token`/`add_eos_token` (defaults: BOS yes, EOS no) and
    /// `add_space_prefix` (default yes). GGUF does not store the normalizer: llama.cpp
    /// applies no normalization besides the space prefix and "▁" escaping, and neither
    /// does this reader.
    public init(gguf metadata: GGUFTokenizerMetadata, source: String) throws {
        guard metadata.model == "llama" else {
            throw TokenizerError(
                .unsupported, file: source,
                "tokenizer.ggml.model is '\(metadata.model)'; only SentencePiece ('llama') vocabularies are supported")
        }
        let types = metadata.tokenTypes ?? Array(repeating: 1, count: metadata.tokens.count)
        let scores = metadata.scores ?? Array(repeating: 0, count: metadata.tokens.count)
        var pieces: [Piece] = []
        pieces.reserveCapacity(metadata.tokens.count)
        for (index, token) in metadata.tokens.enumerated() {
            // llama.cpp's token types: 1 normal, 2 unknown, 3 control, 4 user-defined,
            // 5 unused, 6 byte (0, "undefined", is read as normal).
            let type = PieceType(rawValue: types[index]) ?? .normal
            pieces.append(Piece(text: token, score: scores[index], type: type))
        }
        let byteFallback = pieces.contains { $0.type == .byte }
        var specials = SpecialTokens(
            bos: metadata.bosTokenID, eos: metadata.eosTokenID,
            unknown: metadata.unknownTokenID ?? pieces.firstIndex { $0.type == .unknown },
            padding: metadata.paddingTokenID)
        if let eot = metadata.endOfTurnTokenID, eot != metadata.eosTokenID { specials.endOfTurn.append(eot) }
        for name in ["<end_of_turn>", "<|im_end|>", "<|eot_id|>", "<|end|>"] {
            if let id = metadata.tokens.firstIndex(of: name), !specials.endOfTurn.contains(id), id != specials.eos,
               pieces[id].type == .control || pieces[id].type == .userDefined {
                specials.endOfTurn.append(id)
            }
        }
        self.init(
            pieces: pieces,
            normalizer: Normalizer(addDummyPrefix: metadata.addSpacePrefix ?? true, removeExtraWhitespaces: false),
            byteFallback: byteFallback, specialTokens: specials,
            addBOS: metadata.addBOS ?? true, addEOS: metadata.addEOS ?? false, source: source)
    }
}
