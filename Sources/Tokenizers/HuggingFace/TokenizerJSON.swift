/// The parts of a Hugging Face `tokenizer.json` that Llama-family tokenizers use,
/// read from the JSON document. Anything else is refused with an error naming it.
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
        /// GPT-2's byte alphabet back to bytes (`ByteLevel`).
        case byteLevel
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

    /// The vocabulary in file order (canonically equivalent tokens are distinct).
    var vocabulary: [(token: String, id: Int)]
    /// Merge pairs in rank order.
    var merges: [(String, String)]
    /// Whether the file writes its merges as pairs (`["a", "b"]`, transformers 4.45 and
    /// later) rather than strings (`"a b"`).
    var mergesArePairs = false
    /// The regular expressions of the pre-tokenizer's `Split` steps, in order.
    var splitRegexes: [String] = []
    var unknownToken: String?
    var byteFallback: Bool
    var fuseUnknown: Bool
    var ignoreMerges: Bool
    var normalizer: [NormalizerStep]
    var preTokenizer: Metaspace?
    /// The steps of a byte-level pre-tokenizer (`Split`, `Digits`, ending in `ByteLevel`),
    /// or `nil` when the file's tokenizer is not byte-level.
    var byteLevel: PreTokenizer?
    var decoder: [DecoderStep]
    var addedTokens: [AddedToken]
    /// The tokens the post-processor puts before and after a single sequence.
    var prefixTokens: [String]
    var suffixTokens: [String]
    var hasPostProcessor: Bool

    init(object: OrderedJSON, file: String) throws {
        func fail(_ message: String) -> TokenizerError { TokenizerError(.unsupported, file: file, message) }
        func invalid(_ message: String) -> TokenizerError { TokenizerError(.invalidFile, file: file, message) }

        guard let model = object["model"], model.members != nil else { throw invalid("'model' is missing") }
        let type = model["type"]?.string ?? "BPE"
        guard type == "BPE" else { throw fail("model type '\(type)' is not supported; only BPE is") }
        if let prefix = model["continuing_subword_prefix"]?.string, !prefix.isEmpty {
            throw fail("model.continuing_subword_prefix is not supported")
        }
        if let suffix = model["end_of_word_suffix"]?.string, !suffix.isEmpty {
            throw fail("model.end_of_word_suffix is not supported")
        }
        guard let vocabularyMembers = model["vocab"]?.members else { throw invalid("model.vocab is missing or not an object") }
        vocabulary = try vocabularyMembers.map { member in
            guard let id = member.value.int, id >= 0 else { throw invalid("model.vocab '\(member.key)' is not a non-negative id") }
            return (member.key, id)
        }
        var merges: [(String, String)] = []
        for (index, merge) in (model["merges"]?.array ?? []).enumerated() {
            if let text = merge.string {
                let parts = text.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2 else { throw invalid("model.merges[\(index)] '\(text)' is not two tokens") }
                merges.append((String(parts[0]), String(parts[1])))
            } else if let pair = merge.array, pair.count == 2, let left = pair[0].string, let right = pair[1].string {
                merges.append((left, right))
                mergesArePairs = true
            } else {
                throw invalid("model.merges[\(index)] is neither \"a b\" nor [\"a\", \"b\"]")
            }
        }
        self.merges = merges
        unknownToken = model["unk_token"]?.string
        byteFallback = model["byte_fallback"]?.bool ?? false
        fuseUnknown = model["fuse_unk"]?.bool ?? false
        ignoreMerges = model["ignore_merges"]?.bool ?? false

        normalizer = try Self.normalizerSteps(object["normalizer"], fail: fail)
        if let steps = try Self.byteLevelSteps(object["pre_tokenizer"], fail: fail) {
            byteLevel = steps
            splitRegexes = Self.steps(object["pre_tokenizer"], key: "pretokenizers").compactMap { $0["pattern"]?["Regex"]?.string }
            preTokenizer = nil
        } else {
            byteLevel = nil
            preTokenizer = try Self.metaspace(object["pre_tokenizer"], fail: fail)
        }
        decoder = try Self.decoderSteps(object["decoder"], fail: fail)

        addedTokens = try (object["added_tokens"]?.array ?? []).enumerated().map { index, entry in
            guard let id = entry["id"]?.int, let content = entry["content"]?.string else {
                throw invalid("added_tokens[\(index)] has no integer id or no content")
            }
            guard id >= 0 else { throw invalid("added_tokens[\(index)] ('\(content)') has the negative id \(id)") }
            return AddedToken(
                id: id, content: content, special: entry["special"]?.bool ?? false,
                lstrip: entry["lstrip"]?.bool ?? false, rstrip: entry["rstrip"]?.bool ?? false,
                normalized: entry["normalized"]?.bool ?? false, singleWord: entry["single_word"]?.bool ?? false)
        }

        prefixTokens = []
        suffixTokens = []
        hasPostProcessor = false
        var processors = Self.steps(object["post_processor"], key: "processors")
        if processors.contains(where: { $0["type"]?.string == "ByteLevel" }) {
            // The ByteLevel post-processor only trims offsets; it adds no tokens.
            hasPostProcessor = true
            processors.removeAll { $0["type"]?.string == "ByteLevel" }
        }
        if let post = processors.first, post["type"]?.string == "TemplateProcessing", let single = post["single"]?.array {
            hasPostProcessor = true
            var seenSequence = false
            for item in single {
                if item["Sequence"] != nil {
                    seenSequence = true
                } else if let id = item["SpecialToken"]?["id"]?.string {
                    if seenSequence { suffixTokens.append(id) } else { prefixTokens.append(id) }
                }
            }
        }
    }

    private static func steps(_ value: OrderedJSON?, key: String) -> [OrderedJSON] {
        guard let value, value.members != nil else { return [] }
        if value["type"]?.string == "Sequence" { return value[key]?.array ?? [] }
        return [value]
    }

    private static func pattern(_ object: OrderedJSON) -> String? {
        object["pattern"]?["String"]?.string
    }

    static func normalizerSteps(_ value: OrderedJSON?, fail: (String) -> TokenizerError) throws -> [NormalizerStep] {
        try steps(value, key: "normalizers").map { step in
            switch step["type"]?.string {
            case "Prepend": return .prepend(step["prepend"]?.string ?? "")
            case "Replace":
                guard let pattern = pattern(step) else { throw fail("normalizer Replace with a regex pattern is not supported") }
                return .replace(pattern: pattern, content: step["content"]?.string ?? "")
            case let form? where ["NFC", "NFD", "NFKC", "NFKD"].contains(form): return .unicode(form)
            case let other: throw fail("normalizer '\(other ?? "?")' is not supported")
            }
        }
    }

    static func metaspace(_ value: OrderedJSON?, fail: (String) -> TokenizerError) throws -> Metaspace? {
        let list = steps(value, key: "pretokenizers")
        guard !list.isEmpty else { return nil }
        guard list.count == 1, list[0]["type"]?.string == "Metaspace" else {
            throw fail("pre-tokenizer \(list.compactMap { $0["type"]?.string }) is not supported; only Metaspace is")
        }
        return metaspaceSettings(list[0])
    }

    /// The steps of a pre-tokenizer made of `Split`, `Digits` and `ByteLevel` (which must
    /// come last), or `nil` when it has no `ByteLevel` step.
    static func byteLevelSteps(_ value: OrderedJSON?, fail: (String) -> TokenizerError) throws -> PreTokenizer? {
        let list = steps(value, key: "pretokenizers")
        guard list.contains(where: { $0["type"]?.string == "ByteLevel" }) else { return nil }
        var result: [PreTokenizer.Step] = []
        var seenByteLevel = false
        for (index, step) in list.enumerated() {
            let type = step["type"]?.string ?? "?"
            if seenByteLevel { throw fail("pre_tokenizer: a '\(type)' step after ByteLevel is not supported") }
            switch type {
            case "Split":
                let pattern: SplitPattern
                if let regex = step["pattern"]?["Regex"]?.string {
                    do { pattern = try SplitPattern(regex) } catch {
                        throw fail("pre_tokenizer step \(index) (Split): the pattern \(regex.debugDescription) cannot be used: \(error)")
                    }
                } else if let literal = step["pattern"]?["String"]?.string {
                    pattern = SplitPattern(literal: literal)
                } else {
                    throw fail("pre_tokenizer step \(index) (Split) has no pattern")
                }
                let name = step["behavior"]?.string ?? "Isolated"
                let snake = name.unicodeScalars.enumerated().map { offset, scalar in
                    offset > 0 && scalar.properties.isUppercase ? "_" + String(scalar).lowercased() : String(scalar).lowercased()
                }.joined()
                guard let behavior = PreTokenizer.Behavior(rawValue: snake) else {
                    throw fail("pre_tokenizer step \(index) (Split): behavior '\(name)' is not supported")
                }
                result.append(.split(pattern, behavior: behavior, invert: step["invert"]?.bool ?? false))
            case "Digits":
                let individual = step["individual_digits"]?.bool ?? false
                result.append(.split(try! SplitPattern(individual ? #"\p{N}"# : #"\p{N}+"#), behavior: .isolated, invert: false))
            case "ByteLevel":
                seenByteLevel = true
                if step["add_prefix_space"]?.bool ?? true { result.append(.prefixSpace) }
                if step["use_regex"]?.bool ?? true {
                    result.append(.split(try! SplitPattern(PreTokenizer.gpt2Pattern), behavior: .isolated, invert: false))
                }
            default:
                throw fail("pre-tokenizer '\(type)' is not supported in a byte-level pre-tokenizer (Split, Digits and ByteLevel are)")
            }
        }
        return PreTokenizer(steps: result)
    }

    static func metaspaceSettings(_ object: OrderedJSON) -> Metaspace {
        let scheme: PrependScheme
        if let name = object["prepend_scheme"]?.string, let parsed = PrependScheme(rawValue: name) {
            scheme = parsed
        } else {
            scheme = (object["add_prefix_space"]?.bool ?? true) ? .always : .never
        }
        return Metaspace(replacement: object["replacement"]?.string ?? "\u{2581}", prependScheme: scheme, split: object["split"]?.bool ?? true)
    }

    static func decoderSteps(_ value: OrderedJSON?, fail: (String) -> TokenizerError) throws -> [DecoderStep] {
        try steps(value, key: "decoders").map { step in
            switch step["type"]?.string {
            case "Replace":
                guard let pattern = pattern(step) else { throw fail("decoder Replace with a regex pattern is not supported") }
                return .replace(pattern: pattern, content: step["content"]?.string ?? "")
            case "ByteFallback": return .byteFallback
            case "Fuse": return .fuse
            case "Strip":
                let content = step["content"]?.string?.first ?? " "
                return .strip(content: content, start: step["start"]?.int ?? 0, stop: step["stop"]?.int ?? 0)
            case "Metaspace": return .metaspace(metaspaceSettings(step))
            case "ByteLevel": return .byteLevel
            case let other: throw fail("decoder '\(other ?? "?")' is not supported")
            }
        }
    }
}
