import Foundation

/// A value of a Jinja template: what a chat template's variables (`messages`, `tools`,
/// `bos_token`, …) and expressions hold. The kinds and their behaviour (truthiness,
/// equality, printing) are Python's, as jinja2 evaluates templates with Python objects.
public indirect enum Value: Sendable {
    /// A name or key that does not exist (jinja2's `Undefined`): prints as nothing, is
    /// false, iterates as empty; taking an attribute of it is an error.
    case undefined(String)
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    /// Text marked safe (`|safe`, markupsafe's `Markup`): `+` with it escapes the other
    /// operand for HTML, as in jinja2.
    case markup(String)
    /// A Python list.
    case list([Value])
    /// A Python tuple: a list that prints with parentheses (`(1, 2)`; dict items).
    case tuple([Value])
    /// What jinja2's `map`, `select`, `unique`, … filters return: a generator. It can be
    /// iterated (once is enough here), or turned into a list with `|list`; it has no
    /// length and is not JSON, as in Python.
    case generator([Value])
    /// A Python dict, keys in insertion order.
    case dict(Dictionary)
    /// A `namespace()`, whose attributes `set` may change.
    case namespace(Namespace)
    /// A macro, a built-in function or a bound method.
    case callable(Callable)

    /// An insertion-ordered dictionary (a Python dict: the JSON objects templates get,
    /// and dict literals, whose keys may also be numbers).
    public struct Dictionary: Sendable {
        /// The keys in insertion order.
        public private(set) var keys: [Value] = []
        private var values: [String: Value] = [:]

        public init() {}

        public init(_ pairs: [(String, Value)]) {
            for (key, value) in pairs { self[key] = value }
        }

        /// Python's key identity: `1`, `1.0` and `True` are one key.
        private static func storageKey(_ key: Value) -> String {
            switch key {
            case let .string(s): return "s" + s
            case let .int(i): return "i\(i)"
            case let .bool(b): return b ? "i1" : "i0"
            case let .float(f): return f == f.rounded() && abs(f) < 9e18 ? "i\(Int(f))" : "f\(f)"
            case .none: return "n"
            default: return "r" + key.repr
            }
        }

        public subscript(key: String) -> Value? {
            get { self[value: .string(key)] }
            set { self[value: .string(key)] = newValue }
        }

        public subscript(value key: Value) -> Value? {
            get { values[Self.storageKey(key)] }
            set {
                let storage = Self.storageKey(key)
                if let newValue {
                    if values[storage] == nil { keys.append(key) }
                    values[storage] = newValue
                } else if values.removeValue(forKey: storage) != nil {
                    keys.removeAll { Self.storageKey($0) == storage }
                }
            }
        }

        public var count: Int { keys.count }
        public var pairs: [(Value, Value)] { keys.map { ($0, values[Self.storageKey($0)]!) } }
    }

    /// The attributes of a `namespace()`.
    public final class Namespace: @unchecked Sendable {
        // Only the interpreter rendering one template touches it, on one thread.
        var attributes = Dictionary()
        init(_ attributes: Dictionary) { self.attributes = attributes }
    }

    /// Something a template can call.
    public struct Callable: Sendable {
        let name: String
        let body: @Sendable (Arguments, Interpreter) throws -> Value
    }

    /// Arguments of a call: positional, then keyword.
    public struct Arguments: Sendable {
        public var positional: [Value] = []
        public var keyword: [(String, Value)] = []

        /// The argument at `index`, or the keyword `name`, or `nil`.
        func value(_ index: Int, _ name: String) -> Value? {
            if index < positional.count { return positional[index] }
            return keyword.first { $0.0 == name }?.1
        }
    }
}

// MARK: - Python semantics

extension Value {
    public var isUndefined: Bool { if case .undefined = self { return true } else { return false } }
    var isNone: Bool { if case .none = self { return true } else { return false } }

    /// The items of a list or tuple.
    var sequenceItems: [Value]? {
        switch self {
        case let .list(l), let .tuple(l): l
        default: nil
        }
    }

    var isString: Bool {
        switch self {
        case .string, .markup: true
        default: false
        }
    }

    /// markupsafe's `escape`: text for HTML, a `Markup` as it is.
    var escaped: String {
        if case let .markup(s) = self { return s }
        return text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: "'", with: "&#39;")
            .replacingOccurrences(of: "\"", with: "&#34;")
    }

    /// How `json.dumps` writes a non-string key.
    var jsonKey: String {
        switch self {
        case let .bool(b): b ? "true" : "false"
        case .none: "null"
        default: text
        }
    }

    /// Python truthiness.
    public var isTrue: Bool {
        switch self {
        case .undefined, .none: false
        case let .bool(b): b
        case let .int(i): i != 0
        case let .float(f): f != 0
        case let .string(s), let .markup(s): !s.isEmpty
        case let .list(l), let .tuple(l): !l.isEmpty
        case let .dict(d): d.count > 0
        case .namespace, .callable, .generator: true
        }
    }

    /// The number as a Double, for arithmetic and comparison (bools are numbers in Python).
    var number: Double? {
        switch self {
        case let .int(i): Double(i)
        case let .float(f): f
        case let .bool(b): b ? 1 : 0
        default: nil
        }
    }

    var integer: Int? {
        switch self {
        case let .int(i): i
        case let .bool(b): b ? 1 : 0
        default: nil
        }
    }

    /// Python's `==`.
    public func equals(_ other: Value) -> Bool {
        switch (self, other) {
        case (.undefined, .undefined), (.none, .none): return true
        case let (.string(a), .string(b)), let (.markup(a), .markup(b)), let (.string(a), .markup(b)), let (.markup(a), .string(b)):
            return a == b
        case let (.list(a), .list(b)), let (.tuple(a), .tuple(b)): return a.count == b.count && zip(a, b).allSatisfy { $0.equals($1) }
        case let (.dict(a), .dict(b)):
            return a.count == b.count && a.pairs.allSatisfy { key, value in b[value: key].map { value.equals($0) } ?? false }
        case let (.namespace(a), .namespace(b)): return a === b
        default:
            if let a = number, let b = other.number { return a == b }
            return false
        }
    }

    /// The type name Python would give, for messages.
    var typeName: String {
        switch self {
        case .undefined: "undefined"
        case .none: "NoneType"
        case .bool: "bool"
        case .int: "int"
        case .float: "float"
        case .string: "str"
        case .markup: "Markup"
        case .list: "list"
        case .tuple: "tuple"
        case .generator: "generator"
        case .dict: "dict"
        case .namespace: "Namespace"
        case .callable: "function"
        }
    }

    /// Python's `str()`: what `{{ value }}` prints.
    public var text: String {
        switch self {
        case .undefined: ""
        case let .string(s), let .markup(s): s
        default: repr
        }
    }

    /// Python's `repr()`.
    var repr: String {
        switch self {
        case .undefined: ""
        case .none: "None"
        case let .bool(b): b ? "True" : "False"
        case let .int(i): String(i)
        case let .float(f): Self.pythonFloat(f)
        case let .string(s): Self.pythonStringRepr(s)
        case let .markup(s): "Markup(" + Self.pythonStringRepr(s) + ")"
        case let .list(l): "[" + l.map(\.repr).joined(separator: ", ") + "]"
        case let .tuple(l): "(" + l.map(\.repr).joined(separator: ", ") + (l.count == 1 ? ",)" : ")")
        case .generator: "<generator object>"
        case let .dict(d): "{" + d.pairs.map { $0.0.repr + ": " + $0.1.repr }.joined(separator: ", ") + "}"
        case .namespace: "<Namespace>"
        case let .callable(c): "<function \(c.name)>"
        }
    }

    /// Python's `repr(float)`: the shortest digits that read back, `1.0` for whole
    /// numbers, an exponent from 1e16 and below 1e-4.
    static func pythonFloat(_ f: Double) -> String {
        if f.isNaN { return "nan" }
        if f.isInfinite { return f < 0 ? "-inf" : "inf" }
        if f == f.rounded(), abs(f) < 1e16 { return String(format: "%.1f", f) }
        let swift = "\(f)"  // shortest round-trip digits, Swift's own spelling
        guard let e = swift.firstIndex(where: { $0 == "e" || $0 == "E" }) else { return swift }
        // Swift writes 1e-05 as "1e-05"; Python as "1e-05" too, but "1.5e-07" vs "1.5e-07".
        let mantissa = String(swift[..<e]), exponent = Int(swift[swift.index(after: e)...])!
        let sign = exponent < 0 ? "-" : "+"
        let digits = String(abs(exponent))
        return mantissa + "e" + sign + (digits.count < 2 ? "0" + digits : digits)
    }

    /// Python's `repr(str)`: single quotes unless the text has one and no double quote.
    static func pythonStringRepr(_ s: String) -> String {
        let quote: Character = s.contains("'") && !s.contains("\"") ? "\"" : "'"
        var out = String(quote)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if Character(scalar) == quote {
                    out += "\\" + String(quote)
                } else if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += String(format: "\\x%02x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + String(quote)
    }
}

// MARK: - JSON

extension Value {
    /// Reads JSON (a UTF-8 document) as template values: objects keep their key order,
    /// numbers without a fraction or exponent are ints.
    public init(json: Data) throws {
        var parser = JSONReader(bytes: [UInt8](json))
        self = try parser.document()
    }

    /// The value as JSON text, as Python's `json.dumps(value, ensure_ascii=False)` writes
    /// it (`{"a": 1, "b": [true, null]}`); an error for what JSON cannot hold.
    public func jsonText() throws -> String { try json(indent: nil) }

    /// Python's `json.dumps(value, ensure_ascii=False, indent=indent, separators=…,
    /// sort_keys=…)`, as transformers' `tojson` filter calls it.
    func json(indent: Int?, itemSeparator: String? = nil, keySeparator: String? = nil, sortKeys: Bool = false, depth: Int = 0) throws -> String {
        let item = itemSeparator ?? (indent == nil ? ", " : ","), key = keySeparator ?? ": "
        func newline(_ level: Int) -> String { indent.map { "\n" + String(repeating: " ", count: $0 * level) } ?? "" }
        guard depth < 128 else { throw JinjaError(line: 0, "tojson: nesting deeper than 128") }
        switch self {
        case .undefined: throw JinjaError(line: 0, "tojson: an undefined value is not JSON serializable")
        case .none: return "null"
        case let .bool(b): return b ? "true" : "false"
        case let .int(i): return String(i)
        case let .float(f):
            if f.isNaN { return "NaN" }
            if f.isInfinite { return f < 0 ? "-Infinity" : "Infinity" }
            return Self.pythonFloat(f)
        case let .string(s), let .markup(s): return Self.jsonString(s)
        case let .list(l), let .tuple(l):
            if l.isEmpty { return "[]" }
            return "[" + newline(depth + 1)
                + (try l.map { try $0.json(indent: indent, itemSeparator: itemSeparator, keySeparator: keySeparator, sortKeys: sortKeys, depth: depth + 1) })
                .joined(separator: item + newline(depth + 1)) + newline(depth) + "]"
        case let .dict(d):
            if d.count == 0 { return "{}" }
            var pairs = d.pairs
            if sortKeys { pairs.sort { $0.0.text < $1.0.text } }
            return "{" + newline(depth + 1)
                + (try pairs.map {
                    Self.jsonString($0.0.text == $0.0.repr || $0.0.isString ? $0.0.text : $0.0.jsonKey) + key
                        + (try $0.1.json(indent: indent, itemSeparator: itemSeparator, keySeparator: keySeparator, sortKeys: sortKeys, depth: depth + 1))
                }).joined(separator: item + newline(depth + 1)) + newline(depth) + "}"
        case let .namespace(n): return try Value.dict(n.attributes).json(indent: indent, itemSeparator: itemSeparator, keySeparator: keySeparator, sortKeys: sortKeys, depth: depth)
        case .callable: throw JinjaError(line: 0, "tojson: Object of type function is not JSON serializable")
        case .generator: throw JinjaError(line: 0, "tojson: Object of type generator is not JSON serializable")
        }
    }

    static func jsonString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 { out += String(format: "\\u%04x", scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }
}

/// A small JSON reader that keeps object key order and tells ints from floats.
struct JSONReader {
    let bytes: [UInt8]
    var index = 0
    var depth = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func document() throws -> Value {
        let value = try parse()
        skipSpace()
        guard index == bytes.count else { throw fail("unexpected text after the JSON value") }
        return value
    }

    func fail(_ message: String) -> JinjaError { JinjaError(line: 0, "JSON at byte \(index): \(message)") }

    mutating func skipSpace() {
        while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
    }

    mutating func parse() throws -> Value {
        skipSpace()
        guard index < bytes.count else { throw fail("unexpected end") }
        depth += 1
        defer { depth -= 1 }
        guard depth < 512 else { throw fail("nesting deeper than 512") }
        switch bytes[index] {
        case UInt8(ascii: "{"):
            index += 1
            var dict = Value.Dictionary()
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; return .dict(dict) }
            while true {
                skipSpace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail("expected a key") }
                let key = try string()
                skipSpace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                index += 1
                dict[key] = try parse()
                skipSpace()
                guard index < bytes.count else { throw fail("unexpected end") }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                if bytes[index] == UInt8(ascii: "}") { index += 1; return .dict(dict) }
                throw fail("expected ',' or '}'")
            }
        case UInt8(ascii: "["):
            index += 1
            var list: [Value] = []
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; return .list(list) }
            while true {
                list.append(try parse())
                skipSpace()
                guard index < bytes.count else { throw fail("unexpected end") }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                if bytes[index] == UInt8(ascii: "]") { index += 1; return .list(list) }
                throw fail("expected ',' or ']'")
            }
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .none)
        default: return try number()
        }
    }

    mutating func literal(_ word: String, _ value: Value) throws -> Value {
        let w = Array(word.utf8)
        guard index + w.count <= bytes.count, Array(bytes[index..<index + w.count]) == w else { throw fail("unexpected character") }
        index += w.count
        return value
    }

    mutating func number() throws -> Value {
        let start = index
        var isFloat = false
        while index < bytes.count, let c = Optional(bytes[index]),
              (c >= 0x30 && c <= 0x39) || c == UInt8(ascii: "-") || c == UInt8(ascii: "+") || c == UInt8(ascii: ".")
                || c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
            if c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E") { isFloat = true }
            index += 1
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        if !isFloat, let i = Int(text) { return .int(i) }
        guard !text.isEmpty, let f = Double(text) else { throw fail("invalid number '\(text)'") }
        return .float(f)
    }

    mutating func string() throws -> String {
        index += 1
        var scalars = String.UnicodeScalarView()
        var run = index
        func flush(_ end: Int) { scalars.append(contentsOf: String(decoding: bytes[run..<end], as: UTF8.self).unicodeScalars) }
        while index < bytes.count {
            let c = bytes[index]
            if c == UInt8(ascii: "\"") {
                flush(index)
                index += 1
                return String(scalars)
            }
            if c == UInt8(ascii: "\\") {
                flush(index)
                index += 1
                guard index < bytes.count else { break }
                let e = bytes[index]
                index += 1
                switch e {
                case UInt8(ascii: "n"): scalars.append("\n")
                case UInt8(ascii: "t"): scalars.append("\t")
                case UInt8(ascii: "r"): scalars.append("\r")
                case UInt8(ascii: "b"): scalars.append("\u{08}")
                case UInt8(ascii: "f"): scalars.append("\u{0C}")
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xD800..<0xDC00).contains(code), index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"),
                       bytes[index + 1] == UInt8(ascii: "u") {
                        index += 2
                        let low = try hex4()
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    scalars.append(Unicode.Scalar(code) ?? "\u{FFFD}")
                default: scalars.append(Unicode.Scalar(e))
                }
                run = index
                continue
            }
            index += 1
        }
        throw fail("unterminated string")
    }

    mutating func hex4() throws -> UInt32 {
        guard index + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16) else {
            throw fail("invalid \\u escape")
        }
        index += 4
        return v
    }
}
