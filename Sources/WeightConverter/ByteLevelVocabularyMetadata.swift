import Foundation
import ModelFormats
import Tokenizers

/// The `tokenizer.*` metadata llama.cpp's converter writes for a byte-level BPE
/// `tokenizer.json` (`tokenizer.ggml.model` = `gpt2`: Llama 3, Qwen 2/3, SmolLM): the
/// vocabulary and merges as ``HuggingFaceTokenizer/byteLevelGGUFVocabulary(size:)``
/// gives them, and the special tokens and flags as the `gguf` package's `SpecialVocab`
/// reads them from `tokenizer.json`, `tokenizer_config.json` and `config.json`.
struct ByteLevelVocabularyMetadata {
    var vocabulary: ByteLevelGGUFVocabulary
    /// Special token ids by llama.cpp's kind (`bos`, `eos`, `unk`, `sep`, `pad`, `cls`,
    /// `mask`), in the order they are found.
    var specialIDs: [(kind: String, id: Int)] = []
    /// `add_<kind>_token` flags, in the order they are found.
    var addFlags: [(kind: String, value: Bool)] = []
    var chatTemplates: ChatTemplateMetadata?

    static let kinds = ["bos", "eos", "unk", "sep", "pad", "cls", "mask"]

    /// Reads the folder's tokenizer files; `nil` when its `tokenizer.json` is not byte-level.
    init?(folder: URL, vocabularySize: Int) throws {
        let url = folder.appendingPathComponent("tokenizer.json")
        let tokenizer: HuggingFaceTokenizer
        do { tokenizer = try HuggingFaceTokenizer(contentsOf: url) } catch let error as TokenizerError {
            throw ConversionError.invalidInput(file: url.path, problem: error.description)
        }
        let vocabulary: ByteLevelGGUFVocabulary?
        do { vocabulary = try tokenizer.byteLevelGGUFVocabulary(size: vocabularySize) } catch let error as TokenizerError {
            throw ConversionError.unsupported(error.description)
        }
        guard let vocabulary else { return nil }
        self.vocabulary = vocabulary
        try readSpecialTokens(folder: folder)
    }

    private func json(_ url: URL) throws -> [String: Any]? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let data = try FileBytes.readRegularFile(url)
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ConversionError.invalidInput(file: url.path, problem: "is not a JSON object")
        }
        return object
    }

    private mutating func setFlag(_ kind: String, _ value: Bool, overwrite: Bool = true) {
        if let index = addFlags.firstIndex(where: { $0.kind == kind }) {
            if overwrite { addFlags[index].value = value }
        } else {
            addFlags.append((kind, value))
        }
    }

    /// `SpecialVocab._try_load_from_tokenizer_json` and `_try_load_from_config_json`, for
    /// the post-processors Llama-family files use (`ByteLevel`, `TemplateProcessing`,
    /// `RobertaProcessing`, alone or in a `Sequence`).
    private mutating func readSpecialTokens(folder: URL) throws {
        let tokenizerJSON = try json(folder.appendingPathComponent("tokenizer.json")) ?? [:]
        let tokenizerConfig = try json(folder.appendingPathComponent("tokenizer_config.json"))
        func content(_ value: Any?) -> String? { (value as? String) ?? ((value as? [String: Any])?["content"] as? String) }
        // The special tokens by kind, as `tokenizer_config.json` names them; the
        // post-processor may name more, as the converter lets it.
        var names: [String: String] = [:]
        for kind in Self.kinds { names[kind] = content(tokenizerConfig?["\(kind)_token"]) }
        if names["bos"] == nil, let cls = names["cls"] { names["bos"] = cls }
        if names["eos"] == nil, let sep = names["sep"] { names["eos"] = sep }
        func special(_ item: [String: Any]?) -> String? { (item?["SpecialToken"] as? [String: Any])?["id"] as? String }
        if let post = tokenizerJSON["post_processor"] as? [String: Any] {
            let processors = (post["type"] as? String) == "Sequence" ? (post["processors"] as? [[String: Any]] ?? []) : [post]
            for processor in processors {
                switch processor["type"] as? String {
                case "ByteLevel":
                    setFlag("bos", false, overwrite: false)
                    setFlag("eos", false, overwrite: false)
                case "RobertaProcessing":
                    for kind in ["bos", "eos", "sep"] { setFlag(kind, true) }
                case "TemplateProcessing":
                    let single = processor["single"] as? [[String: Any]] ?? []
                    guard single.count > 1 else { continue }
                    let first = special(single.first), last = special(single.last)
                    if let first {
                        // A leading token that is neither BOS nor CLS becomes whichever is unnamed.
                        if tokenizerConfig != nil, first != names["bos"], first != names["cls"] {
                            if names["bos"] == nil { names["bos"] = first }
                            if names["cls"] == nil { names["cls"] = first }
                        } else if tokenizerConfig == nil {
                            names["bos"] = first
                        }
                        setFlag("bos", first == names["bos"] || first == names["cls"])
                    }
                    if let last {
                        // A trailing token becomes EOS.
                        names["eos"] = last
                        setFlag("eos", true)
                    }
                    var pair = processor["pair"] as? [[String: Any]] ?? []
                    if let first, special(pair.first) == first { pair.removeFirst() }
                    if let last, special(pair.last) == last, !pair.isEmpty { pair.removeLast() }
                    let sequenceA = (pair.first?["Sequence"] as? [String: Any])?["id"] as? String
                    let sequenceB = (pair.last?["Sequence"] as? [String: Any])?["id"] as? String
                    guard sequenceA == "A", sequenceB == "B", pair.count > 2 else { continue }
                    // "A [sep] [eos] B": the tokens between the two sequences of a pair.
                    let inner = Array(pair[1..<(pair.count - 1)])
                    let separators: Set<String?> = [names["sep"], names["eos"]]
                    var addsSeparator = false
                    if let entry = special(inner[0]), separators.contains(entry), last == nil { addsSeparator = true }
                    if inner.count == 2, let entry = special(inner[1]), separators.contains(entry) { addsSeparator = true }
                    setFlag("sep", addsSeparator)
                    if addsSeparator, names["sep"] == nil, tokenizerConfig != nil { names["sep"] = names["eos"] }
                default:
                    continue
                }
            }
        }
        chatTemplates = try ChatTemplateMetadata.read(folder: folder, tokenizerConfig: tokenizerConfig)
        if let tokenizerConfig {
            let addedTokens = tokenizerJSON["added_tokens"] as? [[String: Any]] ?? []
            for kind in Self.kinds {
                if let flag = tokenizerConfig["add_\(kind)_token"] as? Bool { setFlag(kind, flag, overwrite: false) }
                guard let name = names[kind] else { continue }
                // As the converter: the id of the first added token with that content.
                if let id = addedTokens.first(where: { $0["content"] as? String == name })?["id"] as? Int {
                    try setSpecial(kind, id, file: folder.appendingPathComponent("tokenizer.json"))
                }
            }
        }
        try readConfigIDs(folder: folder)
    }

    /// `<kind>_token_id` from `config.json`, for kinds not set yet.
    private mutating func readConfigIDs(folder: URL) throws {
        let url = folder.appendingPathComponent("config.json")
        guard let config = try json(url) else { return }
        for kind in Self.kinds {
            guard let id = config["\(kind)_token_id"] as? Int else { continue }
            try setSpecial(kind, id, file: url)
        }
    }

    private mutating func setSpecial(_ kind: String, _ id: Int, file: URL) throws {
        guard id >= 0 else { throw ConversionError.invalidInput(file: file.path, problem: "\(kind) token id is \(id); token ids are not negative") }
        if !specialIDs.contains(where: { $0.kind == kind }) { specialIDs.append((kind, id)) }
    }

    /// The metadata entries. llama.cpp's writer has no key for a `cls` id and skips it;
    /// `sep`'s key is `seperator` (sic).
    func write(to writer: inout GGUFWriter) {
        writer.set("tokenizer.ggml.model", .string("gpt2"))
        writer.set("tokenizer.ggml.pre", .string(vocabulary.preTokenizer))
        writer.set("tokenizer.ggml.tokens", .array(.string(vocabulary.tokens)))
        writer.set("tokenizer.ggml.token_type", .array(.int32(vocabulary.tokenTypes)))
        writer.set("tokenizer.ggml.merges", .array(.string(vocabulary.merges)))
        let keys = ["bos": "bos_token_id", "eos": "eos_token_id", "unk": "unknown_token_id", "sep": "seperator_token_id",
                    "pad": "padding_token_id", "mask": "mask_token_id"]
        for (kind, id) in specialIDs {
            guard let key = keys[kind] else { continue }
            writer.set("tokenizer.ggml.\(key)", .uint32(UInt32(clamping: id)))
        }
        for (kind, value) in addFlags where ["bos", "eos", "sep"].contains(kind) {
            writer.set("tokenizer.ggml.add_\(kind)_token", .bool(value))
        }
        chatTemplates?.write(to: &writer)
    }
}
