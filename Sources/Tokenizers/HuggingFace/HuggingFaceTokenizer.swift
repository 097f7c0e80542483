import Foundation

/// A Hugging Face `tokenizer.json` tokenizer of the kind Llama-family models ship:
/// a BPE model with a vocabulary and ranked merges (and byte fallback), the
/// normalizer / pre-tokenizer / decoder steps those files use (`Prepend`, `Replace`,
/// `NFC`/`NFKC`…, `Metaspace`, `ByteFallback`, `Fuse`, `Strip`), and added tokens.
/// The reference is the `tokenizers` library reading the same file.
///
/// As in `tokenizers`, added tokens written in the text (`<s>`, `<|im_start|>`) are
/// matched before anything else unless ``EncodingOptions/parseSpecialTokens`` is
/// `false` (then only non-special added tokens are matched); each stretch of text
/// between them is normalized and pre-tokenized on its own.
public final class HuggingFaceTokenizer: Tokenizer {
    private let spec: TokenizerJSON
    private let idToToken: [String]
    private let vocabulary: [String: Int]
    private let merges: [UInt64: (rank: Int32, id: Int32)]
    private let byteIDs: [Int?]
    private let idToByte: [Int: UInt8]
    private let unknownID: Int?
    private let addedTokens: [TokenizerJSON.AddedToken]
    private let specialIDs: Set<Int>
    public let specialTokens: SpecialTokens
    public let addsBOSByDefault: Bool
    public let addsEOSByDefault: Bool
    /// The `chat_template` of `tokenizer_config.json`, if any.
    public let chatTemplate: String?
    public let source: String

    public var vocabularySize: Int { idToToken.count }

    /// Reads `tokenizer.json`, and `tokenizer_config.json` from the same folder if present.
    public convenience init(contentsOf url: URL) throws {
        let object = try Self.readJSON(url)
        let configURL = url.deletingLastPathComponent().appendingPathComponent("tokenizer_config.json")
        let config = FileManager.default.fileExists(atPath: configURL.path) ? try Self.readJSON(configURL) : [:]
        try self.init(json: object, config: config, source: url.path)
    }

    static func readJSON(_ url: URL) throws -> [String: Any] {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw TokenizerError(.invalidFile, file: url.path, "cannot read: \(error.localizedDescription)")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw TokenizerError(.invalidFile, file: url.path, "is not a JSON object")
        }
        return object
    }

    public init(json: [String: Any], config: [String: Any], source: String) throws {
        spec = try TokenizerJSON(object: json, file: source)
        self.source = source
        var vocabulary = spec.vocabulary
        for token in spec.addedTokens { vocabulary[token.content] = token.id }
        self.vocabulary = vocabulary
        let size = (vocabulary.values.max() ?? -1) + 1
        var idToToken = [String](repeating: "", count: size)
        for (token, id) in vocabulary where id >= 0 { idToToken[id] = token }
        self.idToToken = idToToken

        var merges: [UInt64: (Int32, Int32)] = [:]
        for (rank, (left, right)) in spec.merges.enumerated() {
            guard let a = spec.vocabulary[left], let b = spec.vocabulary[right], let merged = spec.vocabulary[left + right] else {
                throw TokenizerError(.invalidFile, file: source, "merge \(rank) '\(left) \(right)' uses a token missing from the vocabulary")
            }
            let key = UInt64(UInt32(a)) << 32 | UInt64(UInt32(b))
            if merges[key] == nil { merges[key] = (Int32(rank), Int32(merged)) }
        }
        self.merges = merges
        var bytes = [Int?](repeating: nil, count: 256)
        var idToByte: [Int: UInt8] = [:]
        for value in 0..<256 {
            let name = "<0x" + String(format: "%02X", value) + ">"
            if let id = spec.vocabulary[name] {
                bytes[value] = id
                idToByte[id] = UInt8(value)
            }
        }
        byteIDs = bytes
        self.idToByte = idToByte
        unknownID = spec.unknownToken.flatMap { vocabulary[$0] }
        addedTokens = spec.addedTokens.sorted { $0.content.utf8.count > $1.content.utf8.count }
        specialIDs = Set(spec.addedTokens.filter(\.special).map(\.id))

        func tokenName(_ value: Any?) -> String? {
            (value as? String) ?? ((value as? [String: Any])?["content"] as? String)
        }
        let bos = tokenName(config["bos_token"]).flatMap { vocabulary[$0] } ?? spec.prefixTokens.first.flatMap { vocabulary[$0] }
        let eos = tokenName(config["eos_token"]).flatMap { vocabulary[$0] } ?? spec.suffixTokens.first.flatMap { vocabulary[$0] }
        let padding = tokenName(config["pad_token"]).flatMap { vocabulary[$0] }
        let endOfTurn = ["<end_of_turn>", "<|im_end|>", "<|eot_id|>", "<|end|>"].compactMap { vocabulary[$0] }.filter { $0 != eos }
        specialTokens = SpecialTokens(bos: bos, eos: eos, unknown: unknownID, padding: padding, endOfTurn: endOfTurn)
        if spec.hasPostProcessor {
            addsBOSByDefault = !spec.prefixTokens.isEmpty
            addsEOSByDefault = !spec.suffixTokens.isEmpty
        } else {
            addsBOSByDefault = config["add_bos_token"] as? Bool ?? false
            addsEOSByDefault = config["add_eos_token"] as? Bool ?? false
        }
        chatTemplate = config["chat_template"] as? String
    }

    // MARK: Encoding

    public func encode(_ text: String, options: EncodingOptions) -> [Int] {
        var ids: [Int] = []
        if options.addBOS ?? addsBOSByDefault, let bos = specialTokens.bos { ids.append(bos) }
        let matchSpecial = options.parseSpecialTokens ?? true
        let candidates = addedTokens.filter { matchSpecial || !$0.special }
        let fragments = splitOnAddedTokens(text, candidates)
        for (index, fragment) in fragments.enumerated() {
            switch fragment {
            case let .token(id):
                ids.append(id)
            case let .text(segment, startsInput):
                ids += encodeSegment(segment, isFirst: startsInput && index == 0)
            }
        }
        if options.addEOS ?? addsEOSByDefault, let eos = specialTokens.eos { ids.append(eos) }
        return ids
    }

    enum Fragment {
        case text(String, startsInput: Bool)
        case token(Int)
    }

    /// Splits `text` around added tokens, longest match first, honouring their
    /// `lstrip`/`rstrip` (whitespace next to the token is absorbed by it) and
    /// `single_word` (the token must not touch word characters) flags.
    func splitOnAddedTokens(_ text: String, _ tokens: [TokenizerJSON.AddedToken]) -> [Fragment] {
        guard !tokens.isEmpty, !text.isEmpty else { return text.isEmpty ? [] : [.text(text, startsInput: true)] }
        let scalars = Array(text.unicodeScalars)
        let encoded = tokens.map { (Array($0.content.unicodeScalars), $0) }
        var fragments: [Fragment] = []
        var textStart = 0
        var i = 0
        func isWordCharacter(_ index: Int) -> Bool {
            index >= 0 && index < scalars.count && (scalars[index].properties.isAlphabetic || scalars[index].properties.numericType != nil || scalars[index] == "_")
        }
        while i < scalars.count {
            var matched: (Int, TokenizerJSON.AddedToken)? = nil
            for (content, token) in encoded where !content.isEmpty && scalars.count - i >= content.count {
                if scalars[i] == content[0], Array(scalars[i..<i + content.count]) == content {
                    if token.singleWord && (isWordCharacter(i - 1) || isWordCharacter(i + content.count)) { continue }
                    matched = (content.count, token)
                    break
                }
            }
            guard let (length, token) = matched else {
                i += 1
                continue
            }
            var textEnd = i
            if token.lstrip { while textEnd > textStart, scalars[textEnd - 1].properties.isWhitespace { textEnd -= 1 } }
            if textStart < textEnd {
                fragments.append(.text(String(String.UnicodeScalarView(scalars[textStart..<textEnd])), startsInput: textStart == 0))
            }
            fragments.append(.token(token.id))
            i += length
            if token.rstrip { while i < scalars.count, scalars[i].properties.isWhitespace { i += 1 } }
            textStart = i
        }
        if textStart < scalars.count {
            fragments.append(.text(String(String.UnicodeScalarView(scalars[textStart...])), startsInput: textStart == 0))
        }
        return fragments
    }

    /// Normalizer, pre-tokenizer and BPE for one stretch of text between added tokens.
    func encodeSegment(_ segment: String, isFirst: Bool) -> [Int] {
        var text = segment
        for step in spec.normalizer {
            switch step {
            case let .prepend(prefix): if !text.isEmpty { text = prefix + text }
            case let .replace(pattern, content): text = text.replacingOccurrences(of: pattern, with: content)
            case let .unicode(form):
                switch form {
                case "NFC": text = text.precomposedStringWithCanonicalMapping
                case "NFD": text = text.decomposedStringWithCanonicalMapping
                case "NFKC": text = text.precomposedStringWithCompatibilityMapping
                default: text = text.decomposedStringWithCompatibilityMapping
                }
            }
        }
        var words = [text]
        if let metaspace = spec.preTokenizer {
            text = text.replacingOccurrences(of: " ", with: metaspace.replacement)
            let prepend = metaspace.prependScheme == .always || (metaspace.prependScheme == .first && isFirst)
            if prepend, !text.hasPrefix(metaspace.replacement), !text.isEmpty { text = metaspace.replacement + text }
            words = metaspace.split ? Self.splitBefore(metaspace.replacement, in: text) : [text]
        }
        return words.flatMap(encodeWord)
    }

    /// Splits before every occurrence of `marker` (Metaspace's `split`).
    static func splitBefore(_ marker: String, in text: String) -> [String] {
        var words: [String] = []
        var current = ""
        for character in text {
            if String(character) == marker, !current.isEmpty {
                words.append(current)
                current = ""
            }
            current.append(character)
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    /// The BPE model on one word: characters (or their bytes, or `<unk>`) merged by rank.
    func encodeWord(_ word: String) -> [Int] {
        guard !word.isEmpty else { return [] }
        if spec.ignoreMerges, let id = spec.vocabulary[word] { return [id] }
        var symbols: [BytePairMerger.Symbol] = []
        var unknownRun = false
        var position: Int32 = 0
        for scalar in word.unicodeScalars {
            let character = String(scalar)
            let length = Int32(character.utf8.count)
            defer { position += length }
            if let id = spec.vocabulary[character] {
                symbols.append(.init(start: position, length: length, previous: -1, next: -1, id: Int32(id), frozen: false))
                unknownRun = false
            } else if spec.byteFallback, character.utf8.allSatisfy({ byteIDs[Int($0)] != nil }) {
                for (offset, byte) in character.utf8.enumerated() {
                    symbols.append(.init(
                        start: position + Int32(offset), length: 1, previous: -1, next: -1, id: Int32(byteIDs[Int(byte)]!), frozen: false))
                }
                unknownRun = false
            } else if let unknown = unknownID {
                if spec.fuseUnknown && unknownRun {
                    symbols[symbols.count - 1].length += length
                } else {
                    symbols.append(.init(start: position, length: length, previous: -1, next: -1, id: Int32(unknown), frozen: false))
                }
                unknownRun = true
            }
        }
        var merger = BytePairMerger()
        merger.reset(symbols)
        merger.run(candidate: { left, right in
            guard left.id >= 0, right.id >= 0,
                  let merge = self.merges[UInt64(UInt32(left.id)) << 32 | UInt64(UInt32(right.id))] else { return nil }
            return (-Float(merge.rank), merge.id)
        })
        return merger.result.map { Int($0.id) }
    }

    // MARK: Decoding

    public func decode(_ ids: [Int]) throws -> String {
        try decode(ids, skipSpecialTokens: true)
    }

    /// The text of `ids` as `tokenizers` decodes it; with `skipSpecialTokens` false,
    /// special added tokens appear as their text (`<s>`).
    public func decode(_ ids: [Int], skipSpecialTokens: Bool) throws -> String {
        let decoder = makeStreamingDecoder(skipSpecialTokens: skipSpecialTokens)
        var text = ""
        for id in ids { text += try decoder.append(id) }
        return text + decoder.finish()
    }

    public func piece(for id: Int) -> String? {
        idToToken.indices.contains(id) ? idToToken[id] : nil
    }

    public func id(for piece: String) -> Int? { vocabulary[piece] }

    public func isControl(_ id: Int) -> Bool { specialIDs.contains(id) }

    public func makeStreamingDecoder() -> StreamingDecoder {
        makeStreamingDecoder(skipSpecialTokens: true)
    }

    public func makeStreamingDecoder(skipSpecialTokens: Bool) -> StreamingDecoder {
        let steps = spec.decoder
        let tokens = idToToken
        let specials = specialIDs
        let bytes = steps.contains(.byteFallback) ? idToByte : [:]
        var rule = StreamingDecoder.LeadingSpaceRule.keep
        var metaspace: TokenizerJSON.Metaspace? = nil
        for step in steps {
            switch step {
            case let .strip(" ", start, _) where start > 0: rule = .stripFirstCharacter
            case let .metaspace(settings):
                metaspace = settings
                if settings.prependScheme != .never { rule = .stripFirstPiece }
            default: break
            }
        }
        return StreamingDecoder(vocabularySize: tokens.count, leadingSpace: rule, byteRuns: .wholeRun) { id in
            if specials.contains(id) { return skipSpecialTokens ? .invisible : .text(tokens[id]) }
            if let byte = bytes[id] { return .byte(byte) }
            var text = tokens[id]
            for step in steps {
                if case let .replace(pattern, content) = step { text = text.replacingOccurrences(of: pattern, with: content) }
            }
            if let metaspace { text = text.replacingOccurrences(of: metaspace.replacement, with: " ") }
            return .text(text, leadingSpaceEligible: true)
        }
    }
}
