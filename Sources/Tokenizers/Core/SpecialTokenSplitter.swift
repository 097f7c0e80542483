/// Splits text at the occurrences of special tokens (llama.cpp's `parse_special`):
/// at each position the longest special token that matches wins.
enum SpecialTokenSplitter {
    enum Fragment: Equatable {
        case text(String)
        case token(Int)
    }

    /// `specials` must be sorted longest first. With `allowedRanges`, a special token is
    /// recognised only where its bytes lie inside one of those byte ranges of `text`
    /// (the parts a chat template wrote); elsewhere its text stays text. The tokens of
    /// `anywhere` are recognised in all of the text (llama.cpp's user-defined tokens).
    static func split(
        _ text: String, specials: [(text: String, id: Int)], allowedRanges: [Range<Int>]? = nil, anywhere: Set<Int> = []
    ) -> [Fragment] {
        guard !specials.isEmpty else { return [.text(text)] }
        var firstBytes = [Bool](repeating: false, count: 256)
        for special in specials { if let first = special.text.utf8.first { firstBytes[Int(first)] = true } }
        let bytes = Array(text.utf8)
        let encoded = specials.map { (Array($0.text.utf8), $0.id) }
        var fragments: [Fragment] = []
        var textStart = 0
        var i = 0
        while i < bytes.count {
            if firstBytes[Int(bytes[i])],
               let (token, id) = encoded.first(where: { token, id in
                   SentencePieceTokenizer.hasPrefix(bytes, at: i, token)
                       && (allowedRanges.map { TextSegment.ranges($0, contain: i..<i + token.count) } ?? true || anywhere.contains(id))
               }) {
                if textStart < i { fragments.append(.text(String(decoding: bytes[textStart..<i], as: UTF8.self))) }
                fragments.append(.token(id))
                i += token.count
                textStart = i
            } else {
                i += 1
            }
        }
        if textStart < bytes.count { fragments.append(.text(String(decoding: bytes[textStart...], as: UTF8.self))) }
        return fragments
    }
}
