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
    var chatTemplates: ChatTemplateMetadata?

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
    mutating func apply(folder: URL) throws {
        func json(_ name: String) -> [String: Any] {
            guard let data = try? FileBytes.readRegularFile(folder.appendingPathComponent(name)) else { return [:] }
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
        for name in ["config.json", "generation_config.json"] {
            let config = json(name)
            func tokenID(_ key: String) throws -> Int? {
                let value = (config[key] as? Int) ?? (config[key] as? [Int])?.first
                guard let value else { return nil }
                // As llama.cpp's converter: a negative id is an error, except a padding id
                // of −1, which some checkpoints write for "none".
                if value < 0, key == "pad_token_id" { return nil }
                guard value >= 0 else {
                    throw ConversionError.invalidInput(
                        file: folder.appendingPathComponent(name).path, problem: "\(key) is \(value); token ids are not negative")
                }
                return value
            }
            bos = try tokenID("bos_token_id") ?? bos
            eos = try tokenID("eos_token_id") ?? eos
            padding = try tokenID("pad_token_id") ?? padding
        }
        addBOS = tokenizerConfig["add_bos_token"] as? Bool ?? addBOS
        addEOS = tokenizerConfig["add_eos_token"] as? Bool ?? addEOS
        chatTemplates = try ChatTemplateMetadata.read(folder: folder, tokenizerConfig: tokenizerConfig)
    }

    /// Pads the vocabulary to the model's size with unused `[PAD{i}]` pieces, as
    /// llama.cpp's converter does when the embedding has more rows than pieces.
    mutating func pad(to size: Int) {
        while pieces.count < size { pieces.append(.init(text: "[PAD\(pieces.count)]", score: 0, type: .unused)) }
    }

    /// The metadata entries, in llama.cpp's order. A special id beyond the vocabulary is
    /// left out, as llama.cpp's converter skips it.
    func write(to writer: inout GGUFWriter) {
        func valid(_ id: Int?) -> UInt32? { id.flatMap { pieces.indices.contains($0) ? UInt32($0) : nil } }
        writer.set("tokenizer.ggml.model", .string("llama"))
        writer.set("tokenizer.ggml.pre", .string("default"))
        writer.set("tokenizer.ggml.tokens", .array(.string(pieces.map(\.text))))
        writer.set("tokenizer.ggml.scores", .array(.float32(pieces.map(\.score))))
        writer.set("tokenizer.ggml.token_type", .array(.int32(pieces.map { Int32($0.type.rawValue) })))
        if let bos = valid(bos) { writer.set("tokenizer.ggml.bos_token_id", .uint32(bos)) }
        if let eos = valid(eos) { writer.set("tokenizer.ggml.eos_token_id", .uint32(eos)) }
        if let unknown = valid(unknown) { writer.set("tokenizer.ggml.unknown_token_id", .uint32(unknown)) }
        if let padding = valid(padding) { writer.set("tokenizer.ggml.padding_token_id", .uint32(padding)) }
        writer.set("tokenizer.ggml.add_bos_token", .bool(addBOS))
        writer.set("tokenizer.ggml.add_eos_token", .bool(addEOS))
        chatTemplates?.write(to: &writer)
    }
}
