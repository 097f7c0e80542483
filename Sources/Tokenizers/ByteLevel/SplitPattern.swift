/// A regular expression of the kind tokenizer pre-tokenizers split text with (GPT-2's
/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+` and its
/// descendants), matched over Unicode scalars with the semantics of Oniguruma, the engine
/// of the `tokenizers` library: leftmost match, alternatives tried in order, greedy
/// quantifiers that backtrack, `\p{…}` as Unicode general categories, `\s` as Unicode
/// white space.
///
/// The syntax understood: literals and escapes (`\r \n \t \f \v \0 \xHH \x{H…} \uHHHH`, an
/// escaped punctuation character), `.`, classes `[…]` / `[^…]` with ranges, `\p{…}` /
/// `\P{…}`, `\s \S \d \D \w \W`; groups `(…)`, `(?:…)`, `(?i:…)`, `(?i)`; lookahead `(?=…)`,
/// `(?!…)`; quantifiers `? * + {n} {n,} {n,m}` and their lazy forms; anchors `^ $ \A \z \Z
/// \b \B`. Anything else (lookbehind, possessive quantifiers, backreferences, nested
/// classes) is refused when the pattern is parsed, never approximated.
struct SplitPattern: Sendable {
    indirect enum Node: Sendable {
        case set(ScalarSet)
        case sequence([Node])
        case alternation([Node])
        /// `maximum` is `Int.max` for an unbounded repetition.
        case repetition(Node, minimum: Int, maximum: Int, greedy: Bool)
        case lookahead(Node, negated: Bool)
        case assertion(Assertion)
    }

    enum Assertion: Sendable {
        case lineStart, lineEnd, textStart, textEnd, textEndOrFinalNewline, wordBoundary, notWordBoundary
    }

    /// A set of scalars: explicit ranges and classes, possibly negated.
    struct ScalarSet: Sendable {
        var ranges: [ClosedRange<UInt32>] = []
        /// Scalars whose classes intersect this mask belong to the set.
        var classes: ScalarClasses.Mask = 0
        /// Scalars whose classes do not intersect one of these masks belong to the set (`\S`, `\P{L}`).
        var complementedClasses: [ScalarClasses.Mask] = []
        var negated = false

        @inline(__always)
        func contains(_ scalar: UInt32, classes scalarClasses: ScalarClasses.Mask) -> Bool {
            var found = scalarClasses & classes != 0
            if !found {
                for range in ranges where range.contains(scalar) {
                    found = true
                    break
                }
            }
            if !found {
                for mask in complementedClasses where scalarClasses & mask == 0 {
                    found = true
                    break
                }
            }
            return found != negated
        }
    }

    let source: String
    let root: Node

    /// Parses `source`; throws a message saying what is not supported or malformed.
    init(_ source: String) throws(SplitPatternError) {
        self.source = source
        var parser = Parser(scalars: Array(source.unicodeScalars))
        root = try parser.parseAll()
    }

    /// A pattern matching `literal` exactly (a `Split` whose pattern is a string).
    init(literal: String) {
        source = literal
        root = .sequence(literal.unicodeScalars.map { .set(ScalarSet(ranges: [$0.value...$0.value])) })
    }

    /// The non-empty matches inside `range`, in order, as Oniguruma's search finds them
    /// (each search starts where the previous match ended). The text outside `range` is
    /// invisible: lookahead and anchors see its ends as the ends of the text.
    ///
    /// A pattern from a file is untrusted, and a backtracking matcher can take exponential
    /// time on patterns such as `(a|aa)+b`: the search stops when it has taken
    /// ``stepsPerScalar`` steps per scalar of `range` (no real pre-tokenizer pattern comes
    /// near), and the rest of the range is left unmatched.
    func matches(in text: ScalarText, range: Range<Int>) -> [Range<Int>] {
        var found: [Range<Int>] = []
        text.withBuffers { scalars, classes in
            let budget = Budget(remaining: Self.stepsPerScalar * (range.count + 16))
            let matcher = Matcher(scalars: scalars, classes: classes, start: range.lowerBound, end: range.upperBound, budget: budget)
            var position = range.lowerBound
            while position < range.upperBound {
                if let end = matcher.match(root, position, { $0 }), end > position {
                    found.append(position..<end)
                    position = end
                } else {
                    position += 1
                }
            }
        }
        return found
    }

    static let stepsPerScalar = 2_000

    private final class Budget {
        var remaining: Int
        init(remaining: Int) { self.remaining = remaining }
    }

    /// The backtracking matcher over one stretch of text.
    private struct Matcher {
        let scalars: UnsafeBufferPointer<UInt32>
        let classes: UnsafeBufferPointer<ScalarClasses.Mask>
        let start: Int
        let end: Int
        let budget: Budget

        /// Each iteration of a repeated group is a level of recursion; the cap keeps a
        /// long run of text from exhausting a thread's stack.
        static let maximumGroupIterations = 256

        /// Matches `node` at `position`, then the rest of the pattern (`next`); the end of
        /// the whole match, or `nil`.
        func match(_ node: Node, _ position: Int, _ next: (Int) -> Int?) -> Int? {
            budget.remaining -= 1
            guard budget.remaining >= 0 else { return nil }
            switch node {
            case let .set(set):
                guard position < end, set.contains(scalars[position], classes: classes[position]) else { return nil }
                return next(position + 1)
            case let .sequence(items):
                return sequence(items[...], position, next)
            case let .alternation(options):
                for option in options {
                    if let result = match(option, position, next) { return result }
                }
                return nil
            case let .repetition(inner, minimum, maximum, greedy):
                if case let .set(set) = inner {
                    // One scalar at a time: count the run once, then try the rest of the
                    // pattern after each admissible length.
                    var count = 0
                    while count < maximum, position + count < end,
                          set.contains(scalars[position + count], classes: classes[position + count]) {
                        count += 1
                    }
                    budget.remaining -= count
                    guard count >= minimum else { return nil }
                    if greedy {
                        var length = count
                        while length >= minimum {
                            if let result = next(position + length) { return result }
                            length -= 1
                        }
                    } else {
                        for length in minimum...count {
                            if let result = next(position + length) { return result }
                        }
                    }
                    return nil
                }
                return repeatNode(inner, minimum: minimum, maximum: maximum, greedy: greedy, count: 0, position, next)
            case let .lookahead(inner, negated):
                let found = match(inner, position) { $0 } != nil
                return found != negated ? next(position) : nil
            case let .assertion(assertion):
                return holds(assertion, at: position) ? next(position) : nil
            }
        }

        private func sequence(_ items: ArraySlice<Node>, _ position: Int, _ next: (Int) -> Int?) -> Int? {
            guard let first = items.first else { return next(position) }
            return match(first, position) { after in sequence(items.dropFirst(), after, next) }
        }

        private func repeatNode(
            _ inner: Node, minimum: Int, maximum: Int, greedy: Bool, count: Int, _ position: Int, _ next: (Int) -> Int?
        ) -> Int? {
            func more() -> Int? {
                // A cap on the iterations of a repeated group keeps the recursion (one level
                // per iteration) off the end of the stack on a long run of text.
                guard count < maximum, count < Self.maximumGroupIterations else { return nil }
                return match(inner, position) { after in
                    // An iteration that matched nothing ends the repetition (as in Oniguruma).
                    guard after > position else { return nil }
                    return repeatNode(inner, minimum: minimum, maximum: maximum, greedy: greedy, count: count + 1, after, next)
                }
            }
            if count < minimum { return more() }
            if greedy { return more() ?? next(position) }
            return next(position) ?? more()
        }

        private func isWord(_ position: Int) -> Bool {
            position >= start && position < end && classes[position] & ScalarClasses.word != 0
        }

        private func holds(_ assertion: Assertion, at position: Int) -> Bool {
            switch assertion {
            case .lineStart: position == start || scalars[position - 1] == 0x0A
            case .lineEnd: position == end || scalars[position] == 0x0A
            case .textStart: position == start
            case .textEnd: position == end
            case .textEndOrFinalNewline: position == end || (position == end - 1 && scalars[position] == 0x0A)
            case .wordBoundary: isWord(position - 1) != isWord(position)
            case .notWordBoundary: isWord(position - 1) == isWord(position)
            }
        }
    }
}

/// Why a pre-tokenizer pattern cannot be used.
struct SplitPatternError: Error, CustomStringConvertible {
    let offset: Int
    let problem: String
    var description: String { "\(problem) at character \(offset)" }
}

/// Text as Unicode scalar values with their classes, shared by the splitting steps.
struct ScalarText {
    var scalars: [UInt32]
    var classes: [ScalarClasses.Mask]

    init(_ scalars: some Sequence<Unicode.Scalar>) {
        self.scalars = []
        self.classes = []
        self.scalars.reserveCapacity(scalars.underestimatedCount)
        self.classes.reserveCapacity(scalars.underestimatedCount)
        for scalar in scalars {
            self.scalars.append(scalar.value)
            self.classes.append(ScalarClasses.of(scalar))
        }
    }

    var count: Int { scalars.count }

    func withBuffers<R>(_ body: (UnsafeBufferPointer<UInt32>, UnsafeBufferPointer<ScalarClasses.Mask>) -> R) -> R {
        scalars.withUnsafeBufferPointer { s in classes.withUnsafeBufferPointer { c in body(s, c) } }
    }
}

extension SplitPattern {
    fileprivate struct Parser {
        let scalars: [Unicode.Scalar]
        var position = 0
        var caseInsensitive = false

        init(scalars: [Unicode.Scalar]) { self.scalars = scalars }

        func fail(_ problem: String) -> SplitPatternError { SplitPatternError(offset: position, problem: problem) }

        var atEnd: Bool { position >= scalars.count }
        var current: Unicode.Scalar? { atEnd ? nil : scalars[position] }

        mutating func parseAll() throws(SplitPatternError) -> Node {
            let node = try alternation(depth: 0)
            guard atEnd else { throw fail("unbalanced ')'") }
            return node
        }

        mutating func alternation(depth: Int) throws(SplitPatternError) -> Node {
            guard depth < 64 else { throw fail("groups nested too deeply") }
            let saved = caseInsensitive
            defer { caseInsensitive = saved }
            var options = [try sequence(depth: depth)]
            while current == "|" {
                position += 1
                options.append(try sequence(depth: depth))
            }
            return options.count == 1 ? options[0] : .alternation(options)
        }

        mutating func sequence(depth: Int) throws(SplitPatternError) -> Node {
            var items: [Node] = []
            while let scalar = current, scalar != "|", scalar != ")" {
                var atom = try self.atom(depth: depth)
                atom = try quantified(atom)
                if case let .sequence(inner) = atom, inner.isEmpty { continue }
                items.append(atom)
            }
            return items.count == 1 ? items[0] : .sequence(items)
        }

        mutating func quantified(_ atom: Node) throws(SplitPatternError) -> Node {
            var minimum: Int, maximum: Int
            switch current {
            case "?": (minimum, maximum) = (0, 1)
            case "*": (minimum, maximum) = (0, .max)
            case "+": (minimum, maximum) = (1, .max)
            case "{":
                guard let bounds = try braces() else { return atom }
                (minimum, maximum) = bounds
            default: return atom
            }
            position += 1
            if case .assertion = atom { throw fail("a quantifier after an anchor") }
            if case .lookahead = atom { throw fail("a quantifier after a lookahead") }
            var greedy = true
            if current == "?" {
                greedy = false
                position += 1
            } else if current == "+" {
                throw fail("possessive quantifiers are not supported")
            }
            if let next = current, "?*+".unicodeScalars.contains(next) { throw fail("a repeated quantifier") }
            return .repetition(atom, minimum: minimum, maximum: maximum, greedy: greedy)
        }

        /// `{n}`, `{n,}`, `{n,m}` (position on the `{`; left on the `}`), or `nil` when
        /// the brace is a literal.
        mutating func braces() throws(SplitPatternError) -> (Int, Int)? {
            let start = position
            position += 1
            func number() -> Int? {
                var value = 0, digits = 0
                while let scalar = current, let digit = Int(String(scalar)), scalar.isASCII {
                    value = value * 10 + digit
                    digits += 1
                    position += 1
                    if value > 100_000 { return nil }
                }
                return digits > 0 ? value : nil
            }
            guard let low = number() else { position = start; return nil }
            var high = low
            if current == "," {
                position += 1
                high = number() ?? .max
            }
            guard current == "}" else { position = start; return nil }
            guard high >= low else { throw fail("a repetition {\(low),\(high)} whose maximum is below its minimum") }
            return (low, high)
        }

        mutating func atom(depth: Int) throws(SplitPatternError) -> Node {
            let scalar = scalars[position]
            position += 1
            switch scalar {
            case "(":
                return try group(depth: depth)
            case "[":
                return .set(try characterClass())
            case ".":
                return .set(ScalarSet(ranges: [0x0A...0x0A], negated: true))
            case "^":
                return .assertion(.lineStart)
            case "$":
                return .assertion(.lineEnd)
            case "\\":
                return try escape()
            case "*", "+", "?":
                throw fail("a quantifier with nothing to repeat")
            case "{":
                position -= 1
                if try braces() != nil { throw fail("a quantifier with nothing to repeat") }
                position += 1
                return literal(scalar)
            default:
                return literal(scalar)
            }
        }

        func literal(_ scalar: Unicode.Scalar) -> Node {
            .set(ScalarSet(ranges: caseVariants(scalar).map { $0.value...$0.value }))
        }

        /// `scalar` and, when matching ignores case, the scalars that case-fold alike
        /// (Oniguruma folds "ſ" to "s" and "K" (Kelvin) to "k").
        func caseVariants(_ scalar: Unicode.Scalar) -> [Unicode.Scalar] {
            guard caseInsensitive else { return [scalar] }
            var variants: [Unicode.Scalar] = [scalar]
            for mapping in [scalar.properties.lowercaseMapping, scalar.properties.uppercaseMapping] {
                if mapping.unicodeScalars.count == 1, let other = mapping.unicodeScalars.first, !variants.contains(other) {
                    variants.append(other)
                }
            }
            let folds: [UInt32: [UInt32]] = [0x73: [0x17F], 0x53: [0x17F], 0x17F: [0x73, 0x53], 0x6B: [0x212A], 0x4B: [0x212A], 0x212A: [0x6B, 0x4B]]
            for value in folds[scalar.value] ?? [] where !variants.contains(Unicode.Scalar(value)!) {
                variants.append(Unicode.Scalar(value)!)
            }
            return variants
        }

        mutating func group(depth: Int) throws(SplitPatternError) -> Node {
            var lookahead: Bool? = nil
            var scopedCaseInsensitive: Bool? = nil
            if current == "?" {
                position += 1
                switch current {
                case ":": position += 1
                case "=": position += 1; lookahead = false
                case "!": position += 1; lookahead = true
                case "i", "-":
                    let on = current == "i"
                    if current == "-" { position += 1; guard current == "i" else { throw fail("unsupported group flags") } }
                    position += 1
                    if current == ")" {
                        // `(?i)`: the flag holds to the end of the enclosing group.
                        position += 1
                        caseInsensitive = on
                        return .sequence([])
                    }
                    guard current == ":" else { throw fail("unsupported group flags") }
                    position += 1
                    scopedCaseInsensitive = on
                default:
                    throw fail("this kind of group (lookbehind, named or atomic group, other flags) is not supported")
                }
            }
            let saved = caseInsensitive
            if let scopedCaseInsensitive { caseInsensitive = scopedCaseInsensitive }
            let inner = try alternation(depth: depth + 1)
            caseInsensitive = saved
            guard current == ")" else { throw fail("missing ')'") }
            position += 1
            if let negated = lookahead { return .lookahead(inner, negated: negated) }
            return inner
        }

        mutating func escape() throws(SplitPatternError) -> Node {
            guard let scalar = current else { throw fail("a '\\' at the end") }
            switch scalar {
            case "A": position += 1; return .assertion(.textStart)
            case "z": position += 1; return .assertion(.textEnd)
            case "Z": position += 1; return .assertion(.textEndOrFinalNewline)
            case "b": position += 1; return .assertion(.wordBoundary)
            case "B": position += 1; return .assertion(.notWordBoundary)
            default:
                let set = try classEscape()
                if case let .scalar(value) = set { return literal(value) }
                if case let .set(set) = set { return .set(set) }
                throw fail("unreachable")
            }
        }

        enum Escaped { case scalar(Unicode.Scalar), set(ScalarSet) }

        /// An escape after `\` (position on the character after it).
        mutating func classEscape() throws(SplitPatternError) -> Escaped {
            guard let scalar = current else { throw fail("a '\\' at the end") }
            position += 1
            switch scalar {
            case "n": return .scalar("\n")
            case "r": return .scalar("\r")
            case "t": return .scalar("\t")
            case "f": return .scalar("\u{0C}")
            case "v": return .scalar("\u{0B}")
            case "a": return .scalar("\u{07}")
            case "e": return .scalar("\u{1B}")
            case "0": return .scalar("\0")
            case "s": return .set(ScalarSet(classes: ScalarClasses.whitespace))
            case "S": return .set(ScalarSet(complementedClasses: [ScalarClasses.whitespace]))
            case "d": return .set(ScalarSet(classes: ScalarClasses.decimalNumber))
            case "D": return .set(ScalarSet(complementedClasses: [ScalarClasses.decimalNumber]))
            case "w": return .set(ScalarSet(classes: ScalarClasses.word))
            case "W": return .set(ScalarSet(complementedClasses: [ScalarClasses.word]))
            case "p", "P":
                var name = ""
                if current == "{" {
                    position += 1
                    while let c = current, c != "}" { name.unicodeScalars.append(c); position += 1 }
                    guard current == "}" else { throw fail("missing '}' after \\p{") }
                    position += 1
                } else if let c = current {
                    name = String(c)
                    position += 1
                }
                var negated = scalar == "P"
                if name.hasPrefix("^") { negated.toggle(); name.removeFirst() }
                guard let mask = ScalarClasses.mask(named: name) else { throw fail("unknown property \\p{\(name)}") }
                return .set(negated ? ScalarSet(complementedClasses: [mask]) : ScalarSet(classes: mask))
            case "x", "u":
                var digits = ""
                if scalar == "x", current == "{" {
                    position += 1
                    while let c = current, c != "}" { digits.unicodeScalars.append(c); position += 1 }
                    guard current == "}" else { throw fail("missing '}' after \\x{") }
                    position += 1
                } else {
                    let count = scalar == "x" ? 2 : 4
                    for _ in 0..<count {
                        guard let c = current else { break }
                        digits.unicodeScalars.append(c)
                        position += 1
                    }
                }
                guard digits.count <= 8, let value = UInt32(digits, radix: 16), let result = Unicode.Scalar(value) else {
                    throw fail("invalid \\\(scalar) escape")
                }
                return .scalar(result)
            default:
                if scalar.properties.isAlphabetic || scalar.properties.numericType != nil {
                    throw fail("the escape \\\(scalar) is not supported")
                }
                return .scalar(scalar)
            }
        }

        /// A `[…]` class (position after the `[`).
        mutating func characterClass() throws(SplitPatternError) -> ScalarSet {
            var set = ScalarSet()
            if current == "^" {
                set.negated = true
                position += 1
            }
            var first = true
            while true {
                guard let scalar = current else { throw fail("missing ']'") }
                if scalar == "]" && !first { position += 1; break }
                first = false
                if scalar == "[" { throw fail("nested classes are not supported") }
                if scalar == "&", position + 1 < scalars.count, scalars[position + 1] == "&" {
                    throw fail("class intersection (&&) is not supported")
                }
                position += 1
                var low: Unicode.Scalar
                if scalar == "\\" {
                    switch try classEscape() {
                    case let .set(inner):
                        set.classes |= inner.classes
                        set.complementedClasses += inner.complementedClasses
                        continue
                    case let .scalar(value): low = value
                    }
                } else {
                    low = scalar
                }
                var high = low
                if current == "-", position + 1 < scalars.count, scalars[position + 1] != "]" {
                    position += 1
                    let next = scalars[position]
                    position += 1
                    if next == "\\" {
                        guard case let .scalar(value) = try classEscape() else { throw fail("a range ending in a class") }
                        high = value
                    } else {
                        high = next
                    }
                    guard high.value >= low.value else { throw fail("a range whose end is before its start") }
                }
                if caseInsensitive {
                    for value in low.value...high.value {
                        guard let scalar = Unicode.Scalar(value) else { continue }
                        for variant in caseVariants(scalar) where variant != scalar { set.ranges.append(variant.value...variant.value) }
                        if value - low.value > 512 { break }
                    }
                }
                set.ranges.append(low.value...high.value)
            }
            return set
        }
    }
}
