import Foundation

/// The parts of a Hugging Face `tokenizer.json` that Llama-family tokenizers use,
/// read from the JSON object. Anything else is refused with an error naming it.
struct TokenizerJSON {
    enum NormalizerStep: Equatable {
        case prepend(String)
        case replace(pattern: String, content: String)
        case unicode(String)  // NFC, NFD, NFKC, NFKD
    }

    enum PrependScheme: String { case always, first, never }

    struct Metaspace: Equatable {
        var replacement: String
        var prependScheme: PrependScheme
        var split: Bool
    }

    enum DecoderStep: Equatable {
        case replace(pattern: String, content: String)
        case byteFallback
        case fuse
        case strip(content: Character, start: Int, stop: Int)
        case metaspace(Metaspace)
    }

    struct AddedToken {
        var id: Int
        var content: String
        var special: Bool
        var lstrip: Bool
        var rstrip: Bool
        var normalized: Bool
        var singleWord: Bool
    }

    var vocabulary: [String: Int]
    /// Merge pairs in rank order.
    var merges: [(String, String)]
    var unknownToken: String?
    var byteFallback: Bool
    var fuseUnknown: Bool
    var ignoreMerges: Bool
    var normalizer: [NormalizerStep]
    var preTokenizer: Metaspace?
    var decoder: [DecoderStep]
    var addedTokens: [AddedToken]
    /// The tokens the post-processor puts before and after a single sequence.
    var prefixTokens: [String]
    var suffixTokens: [String]
    var hasPostProcessor: Bool

    init(object: [String: Any], file: String) throws {
        func fail(_ message: String) -> TokenizerError { TokenizerError(.unsupported, file: file, message) }
        func invalid(_ message: String) -> TokenizerError { TokenizerError(.invalidFile, file: file, message) }

        guard let model = object["model"] as? [String: Any] else { throw invalid("'model' is missing") }
        let type = model["type"] as? String ?? "BPE"
        guard type == "BPE" else { throw fail("model type '\(type)' is not supported; only BPE is") }
        if let prefix = model["continuing_subword_prefix"] as? String, !prefix.isEmpty {
            throw fail("model.continuing_subword_prefix is not supported")
        }
        if let suffix = model["end_of_word_suffix"] as? String, !suffix.isEmpty {
            throw fail("model.end_of_word_suffix is not supported")
        }
        guard let vocabulary = model["vocab"] as? [String: Int] else { throw invalid("model.vocab is missing or not an object of ids") }
        self.vocabulary = vocabulary
        var merges: [(String, String)] = []
        for (index, merge) in ((model["merges"] as? [Any]) ?? []).enumerated() {
            if let text = merge as? String {
                let parts = text.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2 else { throw invalid("model.merges[\(index)] '\(text)' is not two tokens") }
                merges.append((String(parts[0]), String(parts[1])))
            } else if let pair = merge as? [String], pair.count == 2 {
                merges.append((pair[0], pair[1]))
            } else {
                throw invalid("model.merges[\(index)] is neither \"a b\" nor [\"a\", \"b\"]")
            }
        }
        self.merges = merges
        unknownToken = model["unk_token"] as? String
        byteFallback = model["byte_fallback"] as? Bool ?? false
        fuseUnknown = model["fuse_unk"] as? Bool ?? false
        ignoreMerges = model["ignore_merges"] as? Bool ?? false

        normalizer = try Self.normalizerSteps(object["normalizer"], fail: fail)
        preTokenizer = try Self.metaspace(object["pre_tokenizer"], fail: fail)
        decoder = try Self.decoderSteps(object["decoder"], fail: fail)

        addedTokens = try ((object["added_tokens"] as? [[String: Any]]) ?? []).map { entry in
            guard let id = entry["id"] as? Int, let content = entry["content"] as? String else {
                throw invalid("an entry of added_tokens has no id or content")
            }
            return AddedToken(
                id: id, content: content, special: entry["special"] as? Bool ?? false,
                lstrip: entry["lstrip"] as? Bool ?? false, rstrip: entry["rstrip"] as? Bool ?? false,
                normalized: entry["normalized"] as? Bool ?? false, singleWord: entry["single_word"] as? Bool ?? false)
        }

        prefixTokens = []
        suffixTokens = []
        hasPostProcessor = false
        if let post = object["post_processor"] as? [String: Any], post["type"] as? String == "TemplateProcessing",
           let single = post["single"] as? [[String: Any]] {
            hasPostProcessor = true
            var seenSequence = false
            for item in single {
                if item["Sequence"] != nil {
                    seenSequence = true
                } else if let special = item["SpecialToken"] as? [String: Any], let id = special["id"] as? String {
                    if seenSequence { suffixTokens.append(id) } else { prefixTokens.append(id) }
                }
            }
        }
    }

    private static func steps(_ value: Any?, key: String) -> [[String: Any]] {
        guard let object = value as? [String: Any] else { return [] }
        if object["type"] as? String == "Sequence" { return (object[key] as? [[String: Any]]) ?? [] }
        return [object]
    }

    private static func pattern(_ object: [String: Any]) -> String? {
        (object["pattern"] as? [String: Any])?["String"] as? String
    }

    static func normalizerSteps(_ value: Any?, fail: (String) -> TokenizerError) throws -> [NormalizerStep] {
        try steps(value, key: "normalizers").map { step in
            switch step["type"] as? String {
            case "Prepend": return .prepend(step["prepend"] as? String ?? "")
            case "Replace":
                guard let pattern = pattern(step) else { throw fail("normalizer Replace with a regex pattern is not supported") }
                return .replace(pattern: pattern, content: step["content"] as? String ?? "")
            case let form? where ["NFC", "NFD", "NFKC", "NFKD"].contains(form): return .unicode(form)
            case let other: throw fail("normalizer '\(other ?? "?")' is not supported")
            }
        }
    }

    static func metaspace(_ value: Any?, fail: (String) -> TokenizerError) throws -> Metaspace? {
        let list = steps(value, key: "pretokenizers")
        guard !list.isEmpty else { return nil }
        guard list.count == 1, list[0]["type"] as? String == "Metaspace" else {
            throw fail("pre-tokenizer \(list.compactMap { $0["type"] as? String }) is not supported; only Metaspace is")
        }
        return metaspaceSettings(list[0])
    }

    static func metaspaceSettings(_ object: [String: Any]) -> Metaspace {
        let scheme: PrependScheme
        if let name = object["prepend_scheme"] as? String, let parsed = PrependScheme(rawValue: name) {
            scheme = parsed
        } else {
            scheme = (object["add_prefix_space"] as? Bool ?? true) ? .always : .never
        }
        return Metaspace(replacement: object["replacement"] as? String ?? "\u{2581}", prependScheme: scheme, split: object["split"] as? Bool ?? true)
    }

    static func decoderSteps(_ value: Any?, fail: (String) -> TokenizerError) throws -> [DecoderStep] {
        try steps(value, key: "decoders").map { step in
            switch step["type"] as? String {
            case "Replace":
                guard let pattern = pattern(step) else { throw fail("decoder Replace with a regex pattern is not supported") }
                return .replace(pattern: pattern, content: step["content"] as? String ?? "")
            case "ByteFallback": return .byteFallback
            case "Fuse": return .fuse
            case "Strip":
                let content = (step["content"] as? String)?.first ?? " "
                return .strip(content: content, start: step["start"] as? Int ?? 0, stop: step["stop"] as? Int ?? 0)
            case "Metaspace": return .metaspace(metaspaceSettings(step))
            case let other: throw fail("decoder '\(other ?? "?")' is not supported")
            }
        }
    }
}
