/// A byte-level `tokenizer.json` as llama.cpp's `convert_hf_to_gguf.py` writes it into a
/// GGUF file (`tokenizer.ggml.model = gpt2`).
public struct ByteLevelGGUFVocabulary: Sendable, Equatable {
    /// `tokenizer.ggml.pre`: llama.cpp's name of the pre-tokenizer.
    public var preTokenizer: String
    /// `tokenizer.ggml.tokens`, by id; an id no token has is `[PAD<id>]`.
    public var tokens: [String]
    /// `tokenizer.ggml.token_type`, llama.cpp's values: 1 normal, 3 control, 4
    /// user-defined, 5 unused.
    public var tokenTypes: [Int32]
    /// `tokenizer.ggml.merges`: each merge as its two tokens joined by a space.
    public var merges: [String]
}

extension HuggingFaceTokenizer {
    /// llama.cpp's `tokenizer.ggml.pre` names this library can tell apart, one per
    /// pre-tokenizer (their aliases behave the same), in the order they are tried.
    static let preTokenizerCandidates = [
        "llama-bpe", "dbrx", "glm4", "qwen2", "qwen35", "gpt-2", "smollm", "falcon", "deepseek-llm", "deepseek-coder",
        "deepseek-v3", "tekken", "gpt-4o", "bloom", "viking", "seed-coder", "default",
    ]

    /// The text llama.cpp's converter tokenizes to recognise a pre-tokenizer
    /// (`get_vocab_base_pre`'s `chktxt`): whitespace runs, emoji sequences, digit runs,
    /// Khmer, Chinese, Cyrillic, punctuation runs and English contractions.
    static let preTokenizerCheckText =
        "\n \n\n \n\n\n \t \t\t \t\n  \n   \n    \n     \n🚀 (normal) 😶\u{200D}🌫️ (multiple emojis concatenated) ✅ 🦙🦙 3 33 333 3333 33333 333333 3333333 33333333 3.3 3..3 3...3 កាន់តែពិសេសអាច😁 ?我想在apple工作1314151天～ ------======= нещо на Български ''''''```````\"\"\"\"......!!!!!!?????? I've been 'told he's there, 'RE you sure? 'M not sure I'll make it, 'D you like some tea? We'Ve a'lL"

    /// The vocabulary of a byte-level tokenizer as llama.cpp's converter writes it to GGUF,
    /// `size` tokens long (the model's `vocab_size`), or `nil` for a tokenizer that is not
    /// byte-level.
    ///
    /// Token types follow the converter: an added token is control when it is special or
    /// looks special (`<|…|>`, `<｜…｜>`, `<pad>`, `<mask>`, `<unused…>`), user-defined
    /// otherwise; ids without a token are `[PAD<id>]`, unused. Merges keep the file's
    /// string form, or join a pair with a space after writing spaces inside the tokens as
    /// U+0120, as the converter does.
    ///
    /// llama.cpp recognises the pre-tokenizer by hashing the tokens of a check text; this
    /// library instead encodes that text and a few more with each pre-tokenizer it
    /// implements (with the file's `ignore_merges`) and keeps those whose tokens equal the
    /// file's own encoding. A small vocabulary may not tell two apart (without tokens of
    /// several digits, Llama 3's `\p{N}{1,3}` and Qwen 2's `\p{N}` split alike); then the
    /// one whose patterns are the file's `Split` patterns is taken, else the first. A file
    /// none of them reproduces is an error naming the file, since a GGUF file with the
    /// wrong name would tokenize differently.
    public func byteLevelGGUFVocabulary(size: Int) throws -> ByteLevelGGUFVocabulary? {
        guard byteLevel != nil else { return nil }
        guard size >= idToToken.count else {
            throw TokenizerError(.invalidFile, file: source, "has \(idToToken.count) tokens, more than the model's vocab_size \(size)")
        }
        let added = Dictionary(spec.addedTokens.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let known = Set(spec.vocabulary.map(\.id)).union(added.keys)
        var tokens: [String] = [], types: [Int32] = []
        tokens.reserveCapacity(size)
        types.reserveCapacity(size)
        for id in 0..<size {
            guard known.contains(id) else {
                tokens.append("[PAD\(id)]")
                types.append(5)
                continue
            }
            let token = idToToken[id]
            tokens.append(token)
            if let entry = added[id] {
                types.append(entry.special || Self.looksSpecial(token) ? 3 : 4)
            } else {
                types.append(1)
            }
        }
        let merges = spec.merges.map { left, right in
            spec.mergesArePairs
                ? left.replacingOccurrences(of: " ", with: "\u{120}") + " " + right.replacingOccurrences(of: " ", with: "\u{120}")
                : left + " " + right
        }
        return ByteLevelGGUFVocabulary(
            preTokenizer: try llamaCppPreTokenizerName(), tokens: tokens, tokenTypes: types, merges: merges)
    }

    /// llama.cpp's `does_token_look_special`.
    static func looksSpecial(_ token: String) -> Bool {
        ["<pad>", "<mask>", "<2mass>", "[@BOS@]"].contains(token)
            || (token.hasPrefix("<|") && token.hasSuffix("|>")) || (token.hasPrefix("<｜") && token.hasSuffix("｜>"))
            || (token.hasPrefix("<unused") && token.hasSuffix(">"))
    }

    /// The ``preTokenizerCandidates`` whose pre-tokenizer, with this file's vocabulary,
    /// merges and `ignore_merges`, encodes the check texts as this tokenizer does (without
    /// special tokens): the one with the file's `Split` patterns, else the first.
    func llamaCppPreTokenizerName() throws -> String {
        let texts = [
            Self.preTokenizerCheckText, "Hello world! How's it going? 12345 + 678 = 13023.",
            "def f(x):\n    return x ** 2  # square\n\n\tprint(f(3))", "Ünïcödé — «quotes» 日本語のテキスト 한국어 ١٢٣",
        ]
        let options = EncodingOptions(addBOS: false, addEOS: false, parseSpecialTokens: false)
        let expected = texts.map { encode($0, options: options) }
        let rawMerges = spec.merges.map { (Array($0.0.utf8), Array($0.1.utf8)) }
        var matching: [(name: String, patterns: [String])] = []
        for name in Self.preTokenizerCandidates {
            guard let family = ByteLevelPreTokenizerFamily.named(name), family.ignoreMerges == spec.ignoreMerges,
                  let preTokenizer = try? family.preTokenizer(),
                  let candidate = try? ByteLevelBPE(
                      tokens: idToToken, merges: rawMerges, ignoreMerges: family.ignoreMerges, preTokenizer: preTokenizer,
                      unknownToken: nil, mergeField: "model.merges", vocabularyField: "model.vocab")
            else { continue }
            let matches = zip(texts, expected).allSatisfy { text, ids in
                var candidateIDs: [Int] = []
                candidate.encode(text.unicodeScalars, into: &candidateIDs)
                return candidateIDs == ids
            }
            if matches { matching.append((name, family.patterns)) }
        }
        if let exact = matching.first(where: { $0.patterns == spec.splitRegexes }) { return exact.name }
        if let first = matching.first { return first.name }
        throw TokenizerError(
            .unsupported, file: source,
            "its byte-level pre-tokenizer splits text like none of llama.cpp's that this library implements ("
                + Self.preTokenizerCandidates.joined(separator: ", ") + "), so no tokenizer.ggml.pre can be written for it")
    }
}
