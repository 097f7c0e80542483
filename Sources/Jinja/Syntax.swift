/// An error rendering or parsing a template: the template line and what failed.
public struct JinjaError: Error, CustomStringConvertible, Sendable {
    /// The 1-based line of the template (0 when unknown).
    public var line: Int
    public var message: String
    /// Set for an error the template raised itself (`raise_exception`).
    public var raisedByTemplate = false

    init(line: Int, _ message: String, raisedByTemplate: Bool = false) {
        self.line = line
        self.message = message
        self.raisedByTemplate = raisedByTemplate
    }

    public var description: String { line > 0 ? "template line \(line): \(message)" : message }
}

/// A token inside `{{ }}` or `{% %}`.
enum Token: Equatable {
    case name(String)
    case string(String)
    case int(Int)
    case float(Double)
    case op(String)
}

/// A piece of the template: text, or the tokens of a tag, with the tag's line.
enum Piece {
    case text(String)
    case expression([Token], line: Int)
    case statement([Token], line: Int)
}

/// Splits a template into text and tags, applying whitespace control (`{%-`, `-%}`,
/// `{%+`, `+%}`) and `trim_blocks` / `lstrip_blocks`, both on as transformers sets up
/// jinja2: the first newline after a block or comment tag is dropped, and spaces and
/// tabs from the start of a line up to a block or comment tag are dropped.
struct Lexer {
    static func pieces(_ source: String) throws -> [Piece] {
        let s = Array(source.unicodeScalars)
        var pieces: [Piece] = []
        var text = String.UnicodeScalarView()
        var i = 0, line = 1
        // Whether the text since the last tag starts a line (jinja2's `line_starting`: the
        // template's start, or a tag whose match ended with a newline).
        var lineStarting = true

        func flushText() {
            if !text.isEmpty { pieces.append(.text(String(text))) }
            text = String.UnicodeScalarView()
        }
        while i < s.count {
            let c = s[i]
            if c == "{", i + 1 < s.count, ["{", "%", "#"].contains(s[i + 1]) {
                let kind = s[i + 1]
                let tagLine = line
                var j = i + 2
                var leftModifier: Unicode.Scalar? = nil
                if j < s.count, s[j] == "-" || s[j] == "+" { leftModifier = s[j]; j += 1 }
                // Whitespace before the tag.
                if leftModifier == "-" {
                    while let last = text.last, last.properties.isWhitespace { text.removeLast() }
                } else if kind != "{", leftModifier != "+" {
                    // lstrip_blocks: whitespace between the last newline (or the start of a
                    // line) and the tag.
                    var start = text.endIndex
                    var foundNewline = false
                    while start > text.startIndex {
                        let prev = text.index(before: start)
                        if text[prev] == "\n" { foundNewline = true; break }
                        start = prev
                    }
                    if foundNewline || lineStarting, text[start...].allSatisfy({ $0.properties.isWhitespace }) {
                        text.removeSubrange(start..<text.endIndex)
                    }
                }
                let closer: [Unicode.Scalar] = kind == "{" ? ["}", "}"] : kind == "%" ? ["%", "}"] : ["#", "}"]
                // Find the end of the tag (strings may hold the closer).
                var end = -1, quote: Unicode.Scalar? = nil
                var k = j
                while k + 1 < s.count {
                    let ch = s[k]
                    if kind != "#" {
                        if let q = quote {
                            if ch == "\\" { k += 2; continue }
                            if ch == q { quote = nil }
                            k += 1
                            continue
                        }
                        if ch == "'" || ch == "\"" { quote = ch; k += 1; continue }
                    }
                    if ch == closer[0], s[k + 1] == closer[1] { end = k; break }
                    k += 1
                }
                guard end >= 0 else {
                    throw JinjaError(line: tagLine, "unclosed \(kind == "{" ? "'{{'" : kind == "%" ? "'{%'" : "'{#'")")
                }
                var innerEnd = end
                var rightModifier: Unicode.Scalar? = nil
                if innerEnd > j, s[innerEnd - 1] == "-" || s[innerEnd - 1] == "+" {
                    rightModifier = s[innerEnd - 1]
                    innerEnd -= 1
                }
                let inner = String(String.UnicodeScalarView(s[j..<max(j, innerEnd)]))
                for ch in s[i..<end + 2] where ch == "\n" { line += 1 }
                flushText()
                if kind == "%" {
                    let tokens = try tokenize(inner, line: tagLine)
                    if tokens.first == .name("raw") {
                        // {% raw %} … {% endraw %}: the text as it is.
                        var m = end + 2
                        var found = -1
                        while m + 1 < s.count {
                            if s[m] == "{", s[m + 1] == "%" {
                                var n = m + 2
                                if n < s.count, s[n] == "-" || s[n] == "+" { n += 1 }
                                while n < s.count, s[n] == " " { n += 1 }
                                let word = "endraw".unicodeScalars.map { $0 }
                                if n + word.count <= s.count, Array(s[n..<n + word.count]) == word { found = m; break }
                            }
                            m += 1
                        }
                        guard found >= 0 else { throw JinjaError(line: tagLine, "missing {% endraw %}") }
                        var rawText = String.UnicodeScalarView(s[end + 2..<found])
                        if rightModifier != "+", rawText.first == "\n" { rawText.removeFirst() }
                        pieces.append(.text(String(rawText)))
                        var close = found
                        while close + 1 < s.count, !(s[close] == "%" && s[close + 1] == "}") { close += 1 }
                        for ch in s[end + 2..<min(s.count, close + 2)] where ch == "\n" { line += 1 }
                        i = min(s.count, close + 2)
                        i = Self.afterTag(s, i, &line, &lineStarting, strip: close > 0 && s[close - 1] == "-", trimNewline: true)
                        continue
                    }
                    pieces.append(.statement(tokens, line: tagLine))
                } else if kind == "{" {
                    pieces.append(.expression(try tokenize(inner, line: tagLine), line: tagLine))
                }
                i = end + 2
                i = Self.afterTag(s, i, &line, &lineStarting, strip: rightModifier == "-",
                                  trimNewline: kind != "{" && rightModifier != "+")
                continue
            }
            if c == "\n" { line += 1 }
            text.append(c)
            i += 1
        }
        flushText()
        return pieces
    }

    /// Consumes what follows a tag ending at `i`: all whitespace after `-%}`, the first
    /// newline after a block or comment tag (`trim_blocks`); sets `lineStarting` when what
    /// was consumed ended with a newline. Returns the new position.
    static func afterTag(
        _ s: [Unicode.Scalar], _ start: Int, _ line: inout Int, _ lineStarting: inout Bool, strip: Bool, trimNewline: Bool
    ) -> Int {
        var i = start
        lineStarting = false
        if strip {
            while i < s.count, s[i].properties.isWhitespace {
                if s[i] == "\n" { line += 1 }
                lineStarting = s[i] == "\n"
                i += 1
            }
        } else if trimNewline, i < s.count, s[i] == "\n" {
            line += 1
            lineStarting = true
            i += 1
        }
        return i
    }

    /// The tokens of a tag's inside.
    static func tokenize(_ source: String, line: Int) throws -> [Token] {
        let s = Array(source.unicodeScalars)
        var tokens: [Token] = []
        var i = 0
        let operators = ["//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "|", ".", ",", "(", ")", "[", "]", "{", "}",
                         ":", "=", "<", ">"]
        while i < s.count {
            let c = s[i]
            if c.properties.isWhitespace { i += 1; continue }
            if c == "_" || c.properties.isAlphabetic {
                var j = i
                while j < s.count, s[j] == "_" || s[j].properties.isAlphabetic || ("0"..."9").contains(s[j]) { j += 1 }
                tokens.append(.name(String(String.UnicodeScalarView(s[i..<j]))))
                i = j
                continue
            }
            if ("0"..."9").contains(c) {
                var j = i, isFloat = false
                while j < s.count, ("0"..."9").contains(s[j]) || s[j] == "_" { j += 1 }
                if j + 1 < s.count, s[j] == ".", ("0"..."9").contains(s[j + 1]) {
                    isFloat = true
                    j += 1
                    while j < s.count, ("0"..."9").contains(s[j]) { j += 1 }
                }
                if j < s.count, s[j] == "e" || s[j] == "E" {
                    var k = j + 1
                    if k < s.count, s[k] == "+" || s[k] == "-" { k += 1 }
                    if k < s.count, ("0"..."9").contains(s[k]) {
                        isFloat = true
                        j = k
                        while j < s.count, ("0"..."9").contains(s[j]) { j += 1 }
                    }
                }
                let text = String(String.UnicodeScalarView(s[i..<j])).replacingOccurrences(of: "_", with: "")
                if isFloat {
                    guard let f = Double(text) else { throw JinjaError(line: line, "invalid number \(text)") }
                    tokens.append(.float(f))
                } else {
                    guard let n = Int(text) else { throw JinjaError(line: line, "the number \(text) is too large") }
                    tokens.append(.int(n))
                }
                i = j
                continue
            }
            if c == "'" || c == "\"" {
                var j = i + 1
                var value = String.UnicodeScalarView()
                var closed = false
                while j < s.count {
                    let ch = s[j]
                    if ch == c { closed = true; j += 1; break }
                    if ch == "\\", j + 1 < s.count {
                        let e = s[j + 1]
                        j += 2
                        switch e {
                        case "n": value.append("\n")
                        case "t": value.append("\t")
                        case "r": value.append("\r")
                        case "\\": value.append("\\")
                        case "'": value.append("'")
                        case "\"": value.append("\"")
                        case "0": value.append("\0")
                        case "x", "u", "U":
                            let length = e == "x" ? 2 : e == "u" ? 4 : 8
                            guard j + length <= s.count,
                                  let code = UInt32(String(String.UnicodeScalarView(s[j..<j + length])), radix: 16),
                                  let scalar = Unicode.Scalar(code)
                            else { throw JinjaError(line: line, "invalid \\\(e) escape in a string") }
                            value.append(scalar)
                            j += length
                        case "\n": break
                        default:
                            value.append("\\")
                            value.append(e)
                        }
                        continue
                    }
                    value.append(ch)
                    j += 1
                }
                guard closed else { throw JinjaError(line: line, "unterminated string") }
                tokens.append(.string(String(value)))
                i = j
                continue
            }
            var matched = false
            for op in operators {
                let o = Array(op.unicodeScalars)
                if i + o.count <= s.count, Array(s[i..<i + o.count]) == o {
                    tokens.append(.op(op))
                    i += o.count
                    matched = true
                    break
                }
            }
            guard matched else { throw JinjaError(line: line, "unexpected character '\(c)'") }
        }
        return tokens
    }
}
