import Foundation
import ModelFormats

/// A Hugging Face `tokenizer.json` tokenizer of the kind Llama-family models ship:
/// a BPE model with a vocabulary and ranked merges (and byte fallback), the
/// normalizer / pre-tokenizer / decoder steps those files use (`Prepend`, `Replace`,
/// `NFC`/`NFKC`…, `Metaspace`, `ByteFallback`, `Fuse`, `Strip`), and added tokens; or a
/// byte-level BPE model (Llama 3, Qwen 2, GPT-2) whose pre-tokenizer is `Split` /
/// `Digits` steps ending in `ByteLevel`, with the `ByteLevel` decoder.
/// The reference is the `tokenizers` library reading the same file.
///
/// As in `tokenizers`, added tokens written in the text (`<s>`, `<|im_start|>`) are
/// matched before anything else unless ``EncodingOptions/parseSpecialTokens`` is
/// `false` (then only non-special added tokens are matched); each stretch of text
/// between them is normalized and pre-tokenized on its own. Text is processed as
/// Unicode scalars and tokens are looked up by their UTF-8 bytes, so canonically
/// equivalent tokens (precomposed "ά" and α + U+0301) stay distinct, as in `tokenizers`.
public final class HuggingFaceTokenizer: Tokenizer {
    let spec: TokenizerJSON
    let idToToken: [String]
    private let table: PieceTable
    private let merges: RankedMerges
    /// The byte-level encoder, for a file whose pre-tokenizer ends in `ByteLevel`.
    let byteLevel: ByteLevelBPE?
    private let byteIDs: [Int?]
    private let idToByte: [Int: UInt8]
    private let unknownID: Int?
    private let addedTokens: [TokenizerJSON.AddedToken]
    private let specialIDs: Set<Int>
    private let addedIDs: Set<Int>
    public let specialTokens: SpecialTokens
    public let addsBOSByDefault: Bool
    public let addsEOSByDefault: Bool
    /// The chat template: `chat_template.jinja` beside `tokenizer.json` (where
    /// transformers saves it since 4.43), else the `chat_template` of
    /// `tokenizer_config.json` (a text, or from a list of named templates the one named
    /// "default"), else that of `chat_template.json`, if any.
    public let chatTemplate: String?
    /// The template for conversations with tools, where the folder has one apart
    /// (transformers chooses it when tools are given): the one named "tool_use" in
    /// `tokenizer_config.json`'s list, or `additional_chat_templates/tool_use.jinja`.
    public let toolUseChatTemplate: String?
    public let source: String

    public var vocabularySize: Int { idToToken.count }

    /// Reads `tokenizer.json`, and `tokenizer_config.json` and `chat_template.jinja` from
    /// the same folder if present.
    public convenience init(contentsOf url: URL) throws {
        let document = try Self.readJSON(url)
        let folder = url.deletingLastPathComponent()
        let configURL = folder.appendingPathComponent("tokenizer_config.json")
        var config = FileManager.default.fileExists(atPath: configURL.path) ? try Self.readJSON(configURL) : .object([])
        func text(_ url: URL) throws -> String? {
            guard FileManager.default.fileExists(atPath: url.path) else { return nil }
            let bytes: Data
            do { bytes = try FileBytes.readRegularFile(url) } catch let error as ModelFormatError {
                throw TokenizerError(.invalidFile, file: url.path, error.problem)
            }
            guard let text = String(data: bytes, encoding: .utf8) else { throw TokenizerError(.invalidFile, file: url.path, "is not UTF-8 text") }
            return text
        }
        if let template = try text(folder.appendingPathComponent("chat_template.jinja")), var members = config.members {
            members.removeAll { $0.key == "chat_template" }
            var named: [OrderedJSON] = [.object([(key: "name", value: .string("default")), (key: "template", value: .string(template))])]
            if let toolUse = try text(folder.appendingPathComponent("additional_chat_templates/tool_use.jinja")) {
                named.append(.object([(key: "name", value: .string("tool_use")), (key: "template", value: .string(toolUse))]))
            }
            config = .object(members + [(key: "chat_template", value: .array(named))])
        } else if config["chat_template"] == nil, var members = config.members,
            let json = try text(folder.appendingPathComponent("chat_template.json")),
            let template = (try? OrderedJSON.parse(Array(json.utf8)))?["chat_template"]
        {
            members.append((key: "chat_template", value: template))
            config = .object(members)
        }
        try self.init(json: document, config: config, source: url.path)
    }

    static func readJSON(_ url: URL) throws -> OrderedJSON {
        let data: Data
        do { data = try FileBytes.readRegularFile(url) } catch let error as ModelFormatError {
            throw TokenizerError(.invalidFile, file: url.path, error.problem)
        }
        do {
            let document = try OrderedJSON.parse([UInt8](data))
            guard document.members != nil else { throw TokenizerError(.invalidFile, file: url.path, "is not a JSON object") }
            return document
        } catch let error as OrderedJSON.ParseError {
            throw TokenizerError(.invalidFile, file: url.path, "is not valid JSON (byte \(error.offset): \(error.message))")
        }
    }

    init(json: OrderedJSON, config: OrderedJSON, source: String) throws {
        spec = try TokenizerJSON(object: json, file: source)
        self.source = source
        var entries = spec.vocabulary
        let vocabularyIDs = Set(entries.map(\.id))
        for token in spec.addedTokens where !vocabularyIDs.contains(token.id) { entries.append((token.content, token.id)) }
        let size = try Self.vocabularySize(ids: entries.map(\.id), file: source)
        var idToToken = [String](repeating: "", count: size)
        for (token, id) in entries { idToToken[id] = token }
        for token in spec.addedTokens { idToToken[token.id] = token.content }
        self.idToToken = idToToken
        // Added tokens first, so that their ids win for their text.
        table = PieceTable(spec.addedTokens.map { (Array($0.content.utf8), $0.id) } + entries.map { (Array($0.token.utf8), $0.id) })
        let model = table

        if let steps = spec.byteLevel {
            do {
                byteLevel = try ByteLevelBPE(
                    tokens: idToToken, merges: spec.merges.map { (Array($0.0.utf8), Array($0.1.utf8)) }, ignoreMerges: spec.ignoreMerges, preTokenizer: steps,
                    unknownToken: spec.unknownToken.flatMap { model.lookup(Array($0.utf8)) }, mergeField: "model.merges",
                    vocabularyField: "model.vocab")
            } catch {
                throw TokenizerError(.invalidFile, file: source, "\(error.field): \(error.message)")
            }
            merges = byteLevel!.merges
        } else {
            byteLevel = nil
            var ranked = RankedMerges(capacity: spec.merges.count)
            for (rank, (left, right)) in spec.merges.enumerated() {
                guard let a = model.lookup(Array(left.utf8)), let b = model.lookup(Array(right.utf8)),
                      let merged = model.lookup(Array(left.utf8) + Array(right.utf8))
                else {
                    throw TokenizerError(.invalidFile, file: source, "merge \(rank) '\(left) \(right)' uses a token missing from the vocabulary")
                }
                ranked.add(left: a, right: b, merged: merged, rank: rank)
            }
            merges = ranked
        }
        var bytes = [Int?](repeating: nil, count: 256)
        var idToByte: [Int: UInt8] = [:]
        for value in 0..<256 {
            if let id = model.lookup(Array(String(format: "<0x%02X>", value).utf8)) {
                bytes[value] = id
                idToByte[id] = UInt8(value)
            }
        }
        byteIDs = bytes
        self.idToByte = idToByte
        unknownID = spec.unknownToken.flatMap { model.lookup(Array($0.utf8)) }
        addedTokens = spec.addedTokens.sorted { $0.content.utf8.count > $1.content.utf8.count }
        specialIDs = Set(spec.addedTokens.filter(\.special).map(\.id))
        addedIDs = Set(spec.addedTokens.map(\.id))

        func tokenID(_ value: OrderedJSON?) -> Int? {
            (value?.string ?? value?["content"]?.string).flatMap { model.lookup(Array($0.utf8)) }
        }
        let bos = tokenID(config["bos_token"]) ?? spec.prefixTokens.first.flatMap { model.lookup(Array($0.utf8)) }
        let eos = tokenID(config["eos_token"]) ?? spec.suffixTokens.first.flatMap { model.lookup(Array($0.utf8)) }
        let endOfTurn = ["<end_of_turn>", "<|im_end|>", "<|eot_id|>", "<|end|>"].compactMap { model.lookup(Array($0.utf8)) }.filter { $0 != eos }
        specialTokens = SpecialTokens(bos: bos, eos: eos, unknown: unknownID, padding: tokenID(config["pad_token"]), endOfTurn: endOfTurn)
        if spec.hasPostProcessor {
            addsBOSByDefault = !spec.prefixTokens.isEmpty
            addsEOSByDefault = !spec.suffixTokens.isEmpty
        } else {
            addsBOSByDefault = config["add_bos_token"]?.bool ?? false
            addsEOSByDefault = config["add_eos_token"]?.bool ?? false
        }
        func named(_ name: String) -> String? {
            config["chat_template"]?.array?.first { $0["name"]?.string == name }?["template"]?.string
        }
        chatTemplate = config["chat_template"]?.string ?? named("default")
        toolUseChatTemplate = named("tool_use")
    }

    /// The most ids a file may leave unused below its largest id. `tokenizers` allows
    /// gaps (an id no token has decodes to nothing); the table of tokens by id is sized
    /// by the largest id, so without a bound one entry with id 2^31 would allocate
    /// gigabytes.
    static let maximumUnusedIDs = 1 << 16

    /// The size of the id space of a file whose tokens have `ids`: one more than the
    /// largest, which must be a valid index that leaves at most ``maximumUnusedIDs`` gaps.
    static func vocabularySize(ids: [Int], file: String) throws -> Int {
        guard let largest = ids.max() else { return 0 }
        if let negative = ids.first(where: { $0 < 0 }) {
            throw TokenizerError(.invalidFile, file: file, "token id \(negative) is negative")
        }
        let distinct = Set(ids).count
        guard largest < Int(Int32.max), largest - distinct < maximumUnusedIDs else {
            throw TokenizerError(
                .invalidFile, file: file,
                "token id \(largest) is too large: the file defines \(distinct) ids, so ids must stay below \(distinct + maximumUnusedIDs)")
        }
        return largest + 1
    }

    // MARK: Encoding

    public func encode(_ text: String, options: EncodingOptions) -> [Int] {
        encode([TextSegment(text, parsesSpecialTokens: options.parseSpecialTokens ?? true)], options: options)
    }

    public func encode(_ segments: [TextSegment], options: EncodingOptions) -> [Int] {
        let (text, allowed) = TextSegment.join(segments) { $0.unicodeScalars.count }
        var ids: [Int] = []
        if options.addBOS ?? addsBOSByDefault, let bos = specialTokens.bos { ids.append(bos) }
        // Non-special added tokens match anywhere, as in `tokenizers`; special ones only
        // inside the segments that allow them.
        // A non-special added token that the markup uses (`<|im_end|>` in some Yi files)
        // and that a plain segment spells would let that text forge markup: it is
        // matched only where special tokens are.
        let guarded = Set(addedTokens.filter { token in
            !token.special && segments.contains { $0.parsesSpecialTokens && $0.text.contains(token.content) }
                && segments.contains { !$0.parsesSpecialTokens && $0.text.contains(token.content) }
        }.map(\.id))
        let candidates = addedTokens.filter { !allowed.isEmpty || !$0.special }
        for fragment in splitOnAddedTokens(Array(text.unicodeScalars), candidates, specialRanges: allowed, guarded: guarded) {
            switch fragment {
            case let .token(id): ids.append(id)
            case let .text(segment, startsInput): ids += encodeSegment(segment, startsInput: startsInput)
            }
        }
        if options.addEOS ?? addsEOSByDefault, let eos = specialTokens.eos { ids.append(eos) }
        return ids
    }

    enum Fragment {
        case text([Unicode.Scalar], startsInput: Bool)
        case token(Int)
    }

    /// Splits the text around added tokens, longest match first, honouring their
    /// `lstrip`/`rstrip` (whitespace next to the token is absorbed by it) and
    /// `single_word` (the token must not touch word characters) flags.
    /// A special token, or one of `guarded`, matches only inside one of `specialRanges`
    /// (scalar offsets).
    func splitOnAddedTokens(
        _ scalars: [Unicode.Scalar], _ tokens: [TokenizerJSON.AddedToken], specialRanges: [Range<Int>],
        guarded: Set<Int> = []
    ) -> [Fragment] {
        guard !scalars.isEmpty else { return [] }
        guard !tokens.isEmpty else { return [.text(scalars, startsInput: true)] }
        let encoded = tokens.map { (Array($0.content.unicodeScalars), $0) }
        var fragments: [Fragment] = []
        var textStart = 0
        var i = 0
        func isWordCharacter(_ index: Int) -> Bool {
            index >= 0 && index < scalars.count
                && (scalars[index].properties.isAlphabetic || scalars[index].properties.numericType != nil || scalars[index] == "_")
        }
        while i < scalars.count {
            var matched: (Int, TokenizerJSON.AddedToken)? = nil
            for (content, token) in encoded where !content.isEmpty && scalars.count - i >= content.count {
                if scalars[i] == content[0], Array(scalars[i..<i + content.count]) == content {
                    if token.singleWord && (isWordCharacter(i - 1) || isWordCharacter(i + content.count)) { continue }
                    if token.special || guarded.contains(token.id),
                       !TextSegment.ranges(specialRanges, contain: i..<i + content.count) { continue }
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
            if textStart < textEnd { fragments.append(.text(Array(scalars[textStart..<textEnd]), startsInput: textStart == 0)) }
            fragments.append(.token(token.id))
            i += length
            if token.rstrip { while i < scalars.count, scalars[i].properties.isWhitespace { i += 1 } }
            textStart = i
        }
        if textStart < scalars.count { fragments.append(.text(Array(scalars[textStart...]), startsInput: textStart == 0)) }
        return fragments
    }

    /// Normalizer, pre-tokenizer and BPE for one stretch of text between added tokens.
    func encodeSegment(_ segment: [Unicode.Scalar], startsInput: Bool) -> [Int] {
        var text = String(String.UnicodeScalarView(segment))
        for step in spec.normalizer {
            switch step {
            case let .prepend(prefix): if !text.isEmpty { text = prefix + text }
            case let .replace(pattern, content): text = text.replacingScalars(pattern, with: content)
            case let .unicode(form):
                switch form {
                case "NFC": text = text.precomposedStringWithCanonicalMapping
                case "NFD": text = text.decomposedStringWithCanonicalMapping
                case "NFKC": text = text.precomposedStringWithCompatibilityMapping
                default: text = text.decomposedStringWithCompatibilityMapping
                }
            }
        }
        if let byteLevel {
            var ids: [Int] = []
            byteLevel.encode(text.unicodeScalars, into: &ids)
            return ids
        }
        var words = [text]
        if let metaspace = spec.preTokenizer {
            text = text.replacingScalars(" ", with: metaspace.replacement)
            let prepend = metaspace.prependScheme == .always || (metaspace.prependScheme == .first && startsInput)
            if prepend, !text.isEmpty, !text.hasScalarPrefix(metaspace.replacement) { text = metaspace.replacement + text }
            words = metaspace.split ? Self.splitBefore(metaspace.replacement, in: text) : [text]
        }
        return words.flatMap(encodeWord)
    }

    /// Splits before every occurrence of `marker` (Metaspace's `split`).
    static func splitBefore(_ marker: String, in text: String) -> [String] {
        let target = Array(marker.unicodeScalars)
        var words: [String] = []
        var current = String.UnicodeScalarView()
        let scalars = Array(text.unicodeScalars)
        var i = 0
        while i < scalars.count {
            if i + target.count <= scalars.count, Array(scalars[i..<i + target.count]) == target, !current.isEmpty {
                words.append(String(current))
                current = String.UnicodeScalarView()
            }
            current.append(scalars[i])
            i += 1
        }
        if !current.isEmpty { words.append(String(current)) }
        return words
    }

    /// The BPE model on one word: characters (or their bytes, or `<unk>`) merged by rank.
    func encodeWord(_ word: String) -> [Int] {
        let bytes = Array(word.utf8)
        guard !bytes.isEmpty else { return [] }
        if spec.ignoreMerges, let id = table.lookup(bytes) { return [id] }
        var symbols: [BytePairMerger.Symbol] = []
        var unknownRun = false
        var position = 0
        bytes.withUnsafeBufferPointer { buffer in
            while position < buffer.count {
                let length = min(UTF8.sequenceLength(lead: buffer[position]), buffer.count - position)
                defer { position += length }
                let character = UnsafeBufferPointer(rebasing: buffer[position..<position + length])
                if let id = table.lookup(character) {
                    symbols.append(.init(start: Int32(position), length: Int32(length), previous: -1, next: -1, id: Int32(id), frozen: false))
                    unknownRun = false
                } else if spec.byteFallback, character.allSatisfy({ byteIDs[Int($0)] != nil }) {
                    for (offset, byte) in character.enumerated() {
                        symbols.append(.init(
                            start: Int32(position + offset), length: 1, previous: -1, next: -1, id: Int32(byteIDs[Int(byte)]!), frozen: false))
                    }
                    unknownRun = false
                } else if let unknown = unknownID {
                    if spec.fuseUnknown && unknownRun {
                        symbols[symbols.count - 1].length += Int32(length)
                    } else {
                        symbols.append(.init(start: Int32(position), length: Int32(length), previous: -1, next: -1, id: Int32(unknown), frozen: false))
                    }
                    unknownRun = true
                }
            }
        }
        var merger = BytePairMerger()
        var ids: [Int] = []
        if !symbols.isEmpty { merges.merge(symbols, using: &merger, into: &ids) }
        return ids
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

    public func id(for piece: String) -> Int? { table.lookup(Array(piece.utf8)) }

    public func isControl(_ id: Int) -> Bool { specialIDs.contains(id) }

    public func makeStreamingDecoder() -> StreamingDecoder {
        makeStreamingDecoder(skipSpecialTokens: true)
    }

    public func makeStreamingDecoder(skipSpecialTokens: Bool) -> StreamingDecoder {
        let steps = spec.decoder
        let tokens = idToToken
        let specials = specialIDs
        if steps.contains(.byteLevel), let byteLevel {
            // `tokenizers`' ByteLevel decoder: the bytes of consecutive model tokens are
            // joined, then decoded lossily; each added token is decoded on its own, so it
            // ends the run before it (a skipped special token is removed first).
            let added = addedIDs
            return StreamingDecoder(vocabularySize: tokens.count, leadingSpace: .keep, byteRuns: .maximalSubparts) { id in
                if specials.contains(id) && skipSpecialTokens { return .invisible }
                if added.contains(id) { return .text(String(decoding: byteLevel.bytes(of: id), as: UTF8.self)) }
                return .bytes(byteLevel.bytes(of: id))
            }
        }
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
                if case let .replace(pattern, content) = step { text = text.replacingScalars(pattern, with: content) }
            }
            if let metaspace { text = text.replacingScalars(metaspace.replacement, with: " ") }
            return .text(text, leadingSpaceEligible: true)
        }
    }

    /// The vocabulary as SentencePiece pieces, for writing it to GGUF: byte tokens are
    /// byte pieces, special added tokens control pieces, other added tokens
    /// user-defined, the unknown token unknown; a merged token's score is minus the rank
    /// of the first merge that forms it (so that merging by highest score merges in
    /// rank order), other tokens score 0.
    public func sentencePiecePieces() -> [SentencePieceModel.Piece] {
        var scores = [Float](repeating: 0, count: idToToken.count)
        var scored = [Bool](repeating: false, count: idToToken.count)
        for (rank, id) in merges.entries.sorted(by: { $0.rank < $1.rank }) where !scored[id] {
            scores[id] = -Float(rank)
            scored[id] = true
        }
        let added = Dictionary(spec.addedTokens.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        return idToToken.enumerated().map { id, token in
            let type: SentencePieceModel.PieceType
            if id == unknownID {
                type = .unknown
            } else if let token = added[id] {
                type = token.special ? .control : .userDefined
            } else if idToByte[id] != nil {
                type = .byte
            } else {
                type = .normal
            }
            return SentencePieceModel.Piece(text: token, score: scores[id], type: type)
        }
    }
}
