/// The steps that cut a text into words before byte-level BPE merges each word on its
/// own: `tokenizers`' `Split`, `ByteLevel` (with `use_regex`, GPT-2's pattern) and
/// `Digits` pre-tokenizers, in order, each applied to every piece the previous ones left.
struct PreTokenizer: Sendable {
    /// What a `Split` step does with the matches of its pattern (`SplitDelimiterBehavior`).
    enum Behavior: String, Sendable {
        case removed, isolated, mergedWithPrevious = "merged_with_previous", mergedWithNext = "merged_with_next", contiguous
    }

    enum Step: Sendable {
        case split(SplitPattern, behavior: Behavior, invert: Bool)
        /// `add_prefix_space`: a space is put before every piece that does not start with one.
        case prefixSpace
    }

    var steps: [Step]

    /// GPT-2's pattern, which the `ByteLevel` pre-tokenizer splits with when `use_regex` is set.
    static let gpt2Pattern = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#

    /// The pieces of `text`: the text the pieces index (a prefix space may have been added)
    /// and their ranges in order.
    func split(_ text: ScalarText) -> (ScalarText, [Range<Int>]) {
        var text = text
        var pieces = text.count > 0 ? [0..<text.count] : []
        for step in steps {
            switch step {
            case let .split(pattern, behavior, invert):
                var next: [Range<Int>] = []
                next.reserveCapacity(pieces.count)
                for piece in pieces {
                    Self.split(piece, matches: pattern.matches(in: text, range: piece), behavior: behavior, invert: invert, into: &next)
                }
                pieces = next
            case .prefixSpace:
                guard pieces.contains(where: { text.scalars[$0.lowerBound] != 0x20 }) else { continue }
                var scalars: [Unicode.Scalar] = []
                scalars.reserveCapacity(text.count + pieces.count)
                var next: [Range<Int>] = []
                for piece in pieces {
                    let start = scalars.count
                    if text.scalars[piece.lowerBound] != 0x20 { scalars.append(" ") }
                    for index in piece { scalars.append(Unicode.Scalar(text.scalars[index])!) }
                    next.append(start..<scalars.count)
                }
                text = ScalarText(scalars)
                pieces = next
            }
        }
        return (text, pieces)
    }

    /// `tokenizers`' `NormalizedString::split`: the matches and the text between them,
    /// combined by `behavior`; empty pieces are dropped.
    static func split(
        _ piece: Range<Int>, matches: [Range<Int>], behavior: Behavior, invert: Bool, into output: inout [Range<Int>]
    ) {
        var parts: [(Range<Int>, Bool)] = []
        var previous = piece.lowerBound
        for match in matches {
            if previous < match.lowerBound { parts.append((previous..<match.lowerBound, invert)) }
            parts.append((match, !invert))
            previous = match.upperBound
        }
        if previous < piece.upperBound { parts.append((previous..<piece.upperBound, invert)) }
        switch behavior {
        case .isolated:
            output += parts.map(\.0)
        case .removed:
            output += parts.filter { !$0.1 }.map(\.0)
        case .mergedWithPrevious:
            var merged: [Range<Int>] = []
            var previousMatch = false
            for (range, isMatch) in parts {
                if isMatch && !previousMatch, let last = merged.last {
                    merged[merged.count - 1] = last.lowerBound..<range.upperBound
                } else {
                    merged.append(range)
                }
                previousMatch = isMatch
            }
            output += merged
        case .mergedWithNext:
            var merged: [Range<Int>] = []
            var previousMatch = false
            for (range, isMatch) in parts.reversed() {
                if isMatch && !previousMatch, let last = merged.last {
                    merged[merged.count - 1] = range.lowerBound..<last.upperBound
                } else {
                    merged.append(range)
                }
                previousMatch = isMatch
            }
            output += merged.reversed()
        case .contiguous:
            var merged: [Range<Int>] = []
            var previousMatch = false
            for (range, isMatch) in parts {
                if isMatch == previousMatch, let last = merged.last {
                    merged[merged.count - 1] = last.lowerBound..<range.upperBound
                } else {
                    merged.append(range)
                }
                previousMatch = isMatch
            }
            output += merged
        }
    }
}

/// The pre-tokenizers llama.cpp names in a GGUF file's `tokenizer.ggml.pre`, with the
/// settings it ties to each name (llama.cpp `llama-vocab.cpp`, `llm_tokenizer_bpe`). The
/// patterns are the models' own `tokenizer.json` patterns where llama.cpp rewrote them for
/// `std::regex` (`(?i:'s|…)` rather than `'[sS]|…`), since this matcher handles them exactly.
struct ByteLevelPreTokenizerFamily: Sendable {
    /// The patterns, applied in order, each isolating its matches.
    var patterns: [String]
    /// Whether a word that is a token is emitted whole, before any merge.
    var ignoreMerges = false
    /// Whether BOS is added when the file does not say (`tokenizer.ggml.add_bos_token`).
    var addsBOS = false

    private static let llama3 = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    private static let qwen2 = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    private static let qwen35 = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    private static let gpt2 = PreTokenizer.gpt2Pattern
    private static let tekken = #"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    private static let gpt4o = #"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    private static let bloom = #" ?[^(\s|.,!?\#u{2026}\#u{3002}\#u{FF0C}\#u{3001}\#u{964}\#u{6D4}\#u{60C})]+"#
    private static let deepseekLetters = "\\s?[A-Za-z\u{B5}\u{C0}-\u{D6}\u{D8}-\u{F6}\u{F8}-\u{1BA}\u{1BC}-\u{1BF}\u{1C4}-\u{293}\u{295}-\u{2AF}\u{370}-\u{373}\u{376}\u{377}\u{37B}-\u{37D}\u{37F}\u{386}\u{388}-\u{38A}\u{38C}\u{38E}-\u{3A1}\u{3A3}-\u{3F5}\u{3F7}-\u{481}\u{48A}-\u{52F}\u{531}-\u{556}\u{10A0}-\u{10C5}\u{13A0}-\u{13F5}\u{13F8}-\u{13FD}\u{1C90}-\u{1CBA}\u{1CBD}-\u{1CBF}\u{1D00}-\u{1D2B}\u{1D6B}-\u{1D77}\u{1D79}-\u{1D9A}\u{1E00}-\u{1F15}\u{1F18}-\u{1F1D}\u{1F20}-\u{1F45}\u{1F48}-\u{1F4D}\u{1F50}-\u{1F57}\u{1F59}\u{1F5B}\u{1F5D}\u{1F5F}-\u{1F7D}\u{1F80}-\u{1FB4}\u{1FB6}-\u{1FBC}\u{1FBE}\u{1FC2}-\u{1FC4}\u{1FC6}-\u{1FCC}\u{1FD0}-\u{1FD3}\u{1FD6}-\u{1FDB}\u{1FE0}-\u{1FEC}\u{1FF2}-\u{1FF4}\u{1FF6}-\u{1FFC}\u{2102}\u{2107}\u{210A}-\u{2113}\u{2115}\u{2119}-\u{211D}\u{2124}\u{2126}\u{2128}\u{212A}-\u{212D}\u{212F}-\u{2134}\u{2139}\u{213C}-\u{213F}\u{2145}-\u{2149}\u{214E}\u{2183}\u{2184}\u{2C00}-\u{2C7B}\u{2C7E}-\u{2CE4}\u{2CEB}-\u{2CEE}\u{2CF2}\u{2CF3}\u{A640}-\u{A66D}\u{A680}-\u{A69B}\u{A722}-\u{A76F}\u{A771}-\u{A787}\u{A78B}-\u{A78E}\u{AB70}-\u{ABBF}\u{FB00}-\u{FB06}\u{FB13}-\u{FB17}\u{FF21}-\u{FF3A}\u{FF41}-\u{FF5A}\u{10400}-\u{1044F}\u{104B0}-\u{104D3}\u{104D8}-\u{104FB}\u{10C80}-\u{10CB2}\u{10CC0}-\u{10CF2}\u{118A0}-\u{118DF}\u{1E900}-\u{1E943}]+"

    /// The family of a `tokenizer.ggml.pre` value, or `nil` for a name this library does not know.
    static func named(_ name: String) -> ByteLevelPreTokenizerFamily? {
        switch name {
        case "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2":
            ByteLevelPreTokenizerFamily(patterns: [llama3], ignoreMerges: true, addsBOS: true)
        case "dbrx", "smaug-bpe", "chatglm-bpe":
            ByteLevelPreTokenizerFamily(patterns: [llama3])
        case "glm4":
            ByteLevelPreTokenizerFamily(patterns: [llama3], ignoreMerges: true)
        case "qwen2", "deepseek-r1-qwen", "stablelm2", "megrez", "hunyuan", "grok-2":
            ByteLevelPreTokenizerFamily(patterns: [qwen2])
        case "qwen35":
            ByteLevelPreTokenizerFamily(patterns: [qwen35])
        case "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "jina-v1-en", "jina-v2-code",
             "roberta-bpe", "mellum", "mpt", "olmo", "jais", "trillion", "granite-docling", "exaone4", "a.x-4.0", "modern-bert":
            ByteLevelPreTokenizerFamily(patterns: [gpt2])
        case "starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b", "mellum2":
            ByteLevelPreTokenizerFamily(patterns: [#"\p{N}"#, gpt2])
        case "falcon":
            ByteLevelPreTokenizerFamily(patterns: [#"[\p{P}\$\+<=>\^~\|`]+"#, gpt2, "[0-9][0-9][0-9]"])
        case "deepseek-llm":
            ByteLevelPreTokenizerFamily(patterns: [
                "[\r\n]", deepseekLetters, "\\s?[!-/:-~\u{FF01}-\u{FF0F}\u{FF1A}-\u{FF5E}\u{2018}-\u{201F}\u{3000}-\u{3002}]+", #"\s+$"#, "[\u{4E00}-\u{9FA5}\u{800}-\u{4E00}\u{AC00}-\u{D7FF}]+", #"\p{N}+"#,
            ])
        case "deepseek-coder":
            ByteLevelPreTokenizerFamily(patterns: ["[\r\n]", #"\s?\p{L}+"#, #"\s?\p{P}+"#, "[\u{4E00}-\u{9FA5}\u{800}-\u{4E00}\u{AC00}-\u{D7FF}]+", #"\p{N}"#])
        case "deepseek-v3", "hunyuan-dense", "joyai-llm":
            ByteLevelPreTokenizerFamily(patterns: [
                #"\p{N}{1,3}"#, "[\u{4E00}-\u{9FA5}\u{3040}-\u{309F}\u{30A0}-\u{30FF}]+",
                ##"[!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"##,
            ])
        case "tekken":
            ByteLevelPreTokenizerFamily(patterns: [tekken], ignoreMerges: true, addsBOS: true)
        case "gpt-4o", "llama4", "minimax-m2":
            ByteLevelPreTokenizerFamily(patterns: [gpt4o])
        case "poro-chat", "bloom", "gpt3-finnish":
            ByteLevelPreTokenizerFamily(patterns: [bloom])
        case "viking":
            ByteLevelPreTokenizerFamily(patterns: [bloom, #"\p{N}"#])
        case "seed-coder":
            ByteLevelPreTokenizerFamily(patterns: [
                #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+"#,
            ])
        case "default":
            ByteLevelPreTokenizerFamily(patterns: [#"[\p{P}\$\+<=>\^~\|]+"#, gpt2, #"\p{N}+"#, "[0-9][0-9][0-9]"])
        default:
            nil
        }
    }

    /// The names ``named(_:)`` knows.
    static let knownNames: [String] = [
        "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "dbrx", "smaug-bpe",
        "chatglm-bpe", "glm4", "qwen2", "deepseek-r1-qwen", "stablelm2", "megrez", "hunyuan", "grok-2", "qwen35", "gpt-2",
        "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "jina-v1-en", "jina-v2-code", "roberta-bpe",
        "mellum", "mpt", "olmo", "jais", "trillion", "granite-docling", "exaone4", "a.x-4.0", "modern-bert", "starcoder",
        "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b", "mellum2", "falcon", "deepseek-llm",
        "deepseek-coder", "deepseek-v3", "hunyuan-dense", "joyai-llm", "tekken", "gpt-4o", "llama4", "minimax-m2",
        "poro-chat", "bloom", "gpt3-finnish", "viking", "seed-coder", "default",
    ]

    /// The pre-tokenizer of the family.
    func preTokenizer() throws(SplitPatternError) -> PreTokenizer {
        PreTokenizer(steps: try patterns.map { pattern throws(SplitPatternError) in .split(try SplitPattern(pattern), behavior: .isolated, invert: false) })
    }
}
