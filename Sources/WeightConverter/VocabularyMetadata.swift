import Foundation
import ModelFormats
import Tokenizers

/// The `tokenizer.*` metadata llama.cpp's converter writes for a SentencePiece
/// vocabulary (`tokenizer.ggml.model` = `llama`).
struct VocabularyMetadata {
    var pieces: [SentencePieceModel.Piece]
    var bos: Int?
    var eos: Int?
    var unknown: Int?
    var padding: Int?
    var addBOS: Bool
    var addEOS: Bool
    var chatTemplate: String?

    /// From a SentencePiece model; ids and flags may be overridden by the Hugging Face
    /// configuration files next to it.
    init(sentencePiece model: SentencePieceModel) {
        pieces = model.pieces
        bos = model.specialTokens.bos
        eos = model.specialTokens.eos
        unknown = model.specialTokens.unknown
        padding = model.specialTokens.padding
        addBOS = model.addBOS
        addEOS = model.addEOS
    }

    /// From a Hugging Face `tokenizer.json` without `tokenizer.model`: the vocabulary
    /// in id order as ``HuggingFaceTokenizer/sentencePiecePieces()`` gives it (a merged
    /// piece scores minus the rank of its merge, so merging by highest score merges in
    /// rank order, as the `tokenizers` library does).
    init(tokenizerJSON url: URL) throws {
        let tokenizer = try HuggingFaceTokenizer(contentsOf: url)
        pieces = tokenizer.sentencePiecePieces()
        bos = tokenizer.specialTokens.bos
        eos = tokenizer.specialTokens.eos
        unknown = tokenizer.specialTokens.unknown
        padding = tokenizer.specialTokens.padding
        addBOS = tokenizer.addsBOSByDefault
        addEOS = tokenizer.addsEOSByDefault
    }

    /// Applies `tokenizer_config.json`, `config.json` and `generation_config.json`:
    /// special tokens by name or id, `add_bos_token`/`add_eos_token`, `chat_template`.
    mutating func apply(folder: URL) {
        func json(_ name: String) -> [String: Any] {
            guard let data = try? Data(contentsOf: folder.appendingPathComponent(name)) else { return [:] }
            return ((try? JSONSerialization.jsonObject(with: data)) as? [String: Any]) ?? [:]
        }
        let tokenizerConfig = json("tokenizer_config.json")
        func id(ofToken value: Any?) -> Int? {
            let name = (value as? String) ?? ((value as? [String: Any])?["content"] as? String)
            return name.flatMap { name in pieces.firstIndex { $0.text == name } }
        }
        bos = id(ofToken: tokenizerConfig["bos_token"]) ?? bos
        eos = id(ofToken: tokenizerConfig["eos_token"]) ?? eos
        unknown = id(ofToken: tokenizerConfig["unk_token"]) ?? unknown
        padding = id(ofToken: tokenizerConfig["pad_token"]) ?? padding
        for config in [json("config.json"), json("generation_config.json")] {
            if let value = config["bos_token_id"] as? Int { bos = value }
            if let value = config["eos_token_id"] as? Int { eos = value }
            if let values = config["eos_token_id"] as? [Int], let first = values.first { eos = first }
            if let value = config["pad_token_id"] as? Int { padding = value }
        }
        addBOS = tokenizerConfig["add_bos_token"] as? Bool ?? addBOS
        addEOS = tokenizerConfig["add_eos_token"] as? Bool ?? addEOS
        chatTemplate = tokenizerConfig["chat_template"] as? String
    }

    /// Pads the vocabulary to the model's size with unused `[PAD{i}]` pieces, as
    /// llama.cpp's converter does when the embedding has more rows than pieces.
    mutating func pad(to size: Int) {
        while pieces.count < size { pieces.append(.init(text: "[PAD\(pieces.count)]", score: 0, type: .unused)) }
    }

    /// The metadata entries, in llama.cpp's order.
    func write(to writer: inout GGUFWriter) {
        writer.set("tokenizer.ggml.model", .string("llama"))
        writer.set("tokenizer.ggml.pre", .string("default"))
        writer.set("tokenizer.ggml.tokens", .array(.string(pieces.map(\.text))))
        writer.set("tokenizer.ggml.scores", .array(.float32(pieces.map(\.score))))
        writer.set("tokenizer.ggml.token_type", .array(.int32(pieces.map { Int32($0.type.rawValue) })))
        if let bos { writer.set("tokenizer.ggml.bos_token_id", .uint32(UInt32(bos))) }
        if let eos { writer.set("tokenizer.ggml.eos_token_id", .uint32(UInt32(eos))) }
        if let unknown { writer.set("tokenizer.ggml.unknown_token_id", .uint32(UInt32(unknown))) }
        if let padding { writer.set("tokenizer.ggml.padding_token_id", .uint32(UInt32(padding))) }
        writer.set("tokenizer.ggml.add_bos_token", .bool(addBOS))
        writer.set("tokenizer.ggml.add_eos_token", .bool(addEOS))
        if let chatTemplate { writer.set("tokenizer.chat_template", .string(chatTemplate)) }
    }
}
