/// Text operations on Unicode scalars rather than on `Character`s: a space followed by
/// a combining mark is one `Character` (" ́"), so `String.replacingOccurrences(of: " ", …)`
/// and `hasPrefix(" ")` would not see the space; tokenizers work on scalars.
extension String {
    /// The string with every occurrence of `pattern`'s scalars replaced.
    func replacingScalars(_ pattern: String, with replacement: String) -> String {
        let source = Array(unicodeScalars), target = Array(pattern.unicodeScalars)
        guard !target.isEmpty, source.count >= target.count else { return self }
        var result = String.UnicodeScalarView()
        var i = 0
        while i < source.count {
            if source[i] == target[0], i + target.count <= source.count, Array(source[i..<i + target.count]) == target {
                result.append(contentsOf: replacement.unicodeScalars)
                i += target.count
            } else {
                result.append(source[i])
                i += 1
            }
        }
        return String(result)
    }

    /// Whether the first scalars are `prefix`'s.
    func hasScalarPrefix(_ prefix: String) -> Bool {
        unicodeScalars.starts(with: prefix.unicodeScalars)
    }

    /// The string without its first `count` scalars.
    func droppingScalars(_ count: Int) -> String {
        String(String.UnicodeScalarView(unicodeScalars.dropFirst(count)))
    }
}
