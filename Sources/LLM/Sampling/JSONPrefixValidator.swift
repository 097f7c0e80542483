/// Follows text character by character and says whether it is still the beginning of
/// a JSON object (RFC 8259, with whitespace before it allowed), and when the object is
/// complete. Generation with ``OutputFormat/jsonObject`` uses it to reject every token
/// that would make the text invalid, as llama.cpp's JSON grammar does.
///
/// The state is a small value: copy it to try a continuation without committing to it.
struct JSONPrefixValidator: Equatable, Sendable {
    private enum Container: Equatable { case object, array }

    private enum Mode: Equatable {
        /// Before the top-level object.
        case start
        /// After `{`: a key or `}`.
        case objectKeyOrEnd
        /// After `,` in an object: a key.
        case objectKey
        /// After a key: `:`.
        case colon
        /// Where a value must come (after `:`, `,` in an array).
        case value
        /// After `[`: a value or `]`.
        case valueOrArrayEnd
        /// After a value in a container: `,` or the container's end.
        case commaOrEnd
        /// In a string (a key when `key`); `escape` after a backslash, `hexDigits` left
        /// of a `\u` escape.
        case string(key: Bool, escape: Bool, hexDigits: Int)
        /// In a number, at the part named.
        case number(NumberPart)
        /// In `true`, `false` or `null`, with the characters still to come.
        case literal(Substring)
        /// The top-level object is closed.
        case done
    }

    private enum NumberPart: Equatable {
        case sign, zero, integer, fractionStart, fraction, exponentStart, exponentSign, exponent
        /// Whether the number may end here.
        var isComplete: Bool { self == .zero || self == .integer || self == .fraction || self == .exponent }
    }

    private var mode = Mode.start
    private var stack: [Container] = []
    /// The deepest nesting accepted, so that a model cannot grow the stack without bound.
    static let maximumDepth = 64

    /// Whether the top-level object is complete.
    var isComplete: Bool { mode == .done }

    /// Feeds `text`; returns false (leaving the state undefined) when the text cannot
    /// continue a JSON object.
    mutating func accept(_ text: some StringProtocol) -> Bool {
        for scalar in text.unicodeScalars where !accept(scalar) { return false }
        return true
    }

    private static func isWhitespace(_ c: Unicode.Scalar) -> Bool { c == " " || c == "\n" || c == "\r" || c == "\t" }

    private mutating func accept(_ c: Unicode.Scalar) -> Bool {
        switch mode {
        case .start:
            if Self.isWhitespace(c) { return true }
            guard c == "{" else { return false }
            return open(.object)
        case .done:
            return false
        case .objectKeyOrEnd, .objectKey:
            if Self.isWhitespace(c) { return true }
            if c == "\"" {
                mode = .string(key: true, escape: false, hexDigits: 0)
                return true
            }
            return mode == .objectKeyOrEnd && c == "}" && close(.object)
        case .colon:
            if Self.isWhitespace(c) { return true }
            guard c == ":" else { return false }
            mode = .value
            return true
        case .value, .valueOrArrayEnd:
            if Self.isWhitespace(c) { return true }
            if mode == .valueOrArrayEnd, c == "]" { return close(.array) }
            return startValue(c)
        case .commaOrEnd:
            if Self.isWhitespace(c) { return true }
            switch (c, stack.last) {
            case (",", .object):
                mode = .objectKey
                return true
            case (",", .array):
                mode = .value
                return true
            case ("}", .object): return close(.object)
            case ("]", .array): return close(.array)
            default: return false
            }
        case let .string(key, escape, hexDigits):
            if hexDigits > 0 {
                guard c.properties.isASCIIHexDigit else { return false }
                mode = .string(key: key, escape: false, hexDigits: hexDigits - 1)
                return true
            }
            if escape {
                switch c {
                case "\"", "\\", "/", "b", "f", "n", "r", "t": mode = .string(key: key, escape: false, hexDigits: 0)
                case "u": mode = .string(key: key, escape: false, hexDigits: 4)
                default: return false
                }
                return true
            }
            if c == "\\" {
                mode = .string(key: key, escape: true, hexDigits: 0)
                return true
            }
            if c == "\"" {
                mode = key ? .colon : .commaOrEnd
                return true
            }
            return c.value >= 0x20
        case let .number(part):
            if let next = Self.numberStep(part, c) {
                mode = .number(next)
                return true
            }
            guard part.isComplete else { return false }
            mode = .commaOrEnd
            return accept(c)
        case let .literal(rest):
            guard let first = rest.unicodeScalars.first, first == c else { return false }
            let remaining = rest.dropFirst()
            mode = remaining.isEmpty ? .commaOrEnd : .literal(remaining)
            return true
        }
    }

    private mutating func startValue(_ c: Unicode.Scalar) -> Bool {
        switch c {
        case "{": return open(.object)
        case "[": return open(.array)
        case "\"": mode = .string(key: false, escape: false, hexDigits: 0)
        case "-": mode = .number(.sign)
        case "0": mode = .number(.zero)
        case "1"..."9": mode = .number(.integer)
        case "t": mode = .literal("rue")
        case "f": mode = .literal("alse")
        case "n": mode = .literal("ull")
        default: return false
        }
        return true
    }

    private static func numberStep(_ part: NumberPart, _ c: Unicode.Scalar) -> NumberPart? {
        let digit = ("0"..."9").contains(c)
        switch part {
        case .sign: return c == "0" ? .zero : digit ? .integer : nil
        case .zero: return c == "." ? .fractionStart : (c == "e" || c == "E") ? .exponentStart : nil
        case .integer:
            return digit ? .integer : c == "." ? .fractionStart : (c == "e" || c == "E") ? .exponentStart : nil
        case .fractionStart: return digit ? .fraction : nil
        case .fraction: return digit ? .fraction : (c == "e" || c == "E") ? .exponentStart : nil
        case .exponentStart: return digit ? .exponent : (c == "+" || c == "-") ? .exponentSign : nil
        case .exponentSign, .exponent: return digit ? .exponent : nil
        }
    }

    private mutating func open(_ container: Container) -> Bool {
        guard stack.count < Self.maximumDepth else { return false }
        stack.append(container)
        mode = container == .object ? .objectKeyOrEnd : .valueOrArrayEnd
        return true
    }

    private mutating func close(_ container: Container) -> Bool {
        guard stack.last == container else { return false }
        stack.removeLast()
        mode = stack.isEmpty ? .done : .commaOrEnd
        return true
    }
}
