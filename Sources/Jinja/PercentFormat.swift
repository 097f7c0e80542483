import Foundation

extension Builtins {
    /// Python's printf-style `format % values` (the `%` operator on a string, and the
    /// `format` filter): conversions `s r d i u f F e E g G x X o c %`, with an optional
    /// `(key)` into a mapping, flags `- + space 0 #`, a width and a precision. `values` is
    /// a tuple of the arguments, a mapping for `(key)` conversions, or one value.
    static func percentFormat(_ format: String, _ values: Value, _ i: Interpreter) throws -> String {
        let positional: [Value]
        if case let .tuple(items) = values { positional = items } else { positional = [values] }
        var next = 0
        var out = ""
        var chars = Array(format)[...]
        func take() throws -> Value {
            guard next < positional.count else { throw i.fail("not enough arguments for format string") }
            defer { next += 1 }
            return positional[next]
        }
        var usedMapping = false
        while let c = chars.popFirst() {
            guard c == "%" else {
                out.append(c)
                continue
            }
            var key: String? = nil
            if chars.first == "(" {
                chars.removeFirst()
                var depth = 1, name = ""
                while let k = chars.popFirst() {
                    if k == "(" { depth += 1 } else if k == ")" { depth -= 1; if depth == 0 { break } }
                    name.append(k)
                }
                guard depth == 0 else { throw i.fail("incomplete format key") }
                key = name
            }
            var left = false, plus = false, space = false, zero = false, alternate = false
            while let f = chars.first, "-+ 0#".contains(f) {
                chars.removeFirst()
                switch f {
                case "-": left = true
                case "+": plus = true
                case " ": space = true
                case "0": zero = true
                default: alternate = true
                }
            }
            func number() throws -> Int? {
                if chars.first == "*" { throw i.fail("* width or precision is not supported") }
                var digits = ""
                while let d = chars.first, d.isASCII, d.isNumber { digits.append(chars.removeFirst()) }
                guard !digits.isEmpty else { return nil }
                guard let n = Int(digits), n <= 4096 else { throw i.fail("format width or precision over 4096") }
                return n
            }
            let width = try number() ?? 0
            var precision: Int? = nil
            if chars.first == "." {
                chars.removeFirst()
                precision = try number() ?? 0
            }
            guard let conversion = chars.popFirst() else { throw i.fail("incomplete format") }
            if conversion == "%" && key == nil {
                out += "%"
                continue
            }
            let value: Value
            if let key {
                guard case let .dict(d) = values else { throw i.fail("format requires a mapping") }
                guard let found = d[key] else { throw i.fail("KeyError: '\(key)'") }
                usedMapping = true
                value = found
            } else {
                value = try take()
            }
            var sign = "", body: String
            func integer() throws -> Int {
                if let n = value.integer { return n }
                if case let .float(f) = value, f.isFinite, abs(f) < 9.2e18 { return Int(f) }
                throw i.fail("%\(conversion) format: a real number is required, not \(value.typeName)")
            }
            func real() throws -> Double {
                guard let x = value.number else { throw i.fail("%\(conversion) format: a real number is required, not \(value.typeName)") }
                return x
            }
            func signed(_ negative: Bool) -> String { negative ? "-" : plus ? "+" : space ? " " : "" }
            switch conversion {
            case "s", "r", "a":
                body = conversion == "s" ? value.text : value.repr
                if let precision { body = String(body.prefix(precision)) }
            case "d", "i", "u":
                let n = try integer()
                sign = signed(n < 0)
                body = String(n.magnitude)
                if let precision, body.count < precision { body = String(repeating: "0", count: precision - body.count) + body }
            case "x", "X", "o":
                let n = try integer()
                sign = signed(n < 0)
                body = String(n.magnitude, radix: conversion == "o" ? 8 : 16, uppercase: conversion == "X")
                if let precision, body.count < precision { body = String(repeating: "0", count: precision - body.count) + body }
                if alternate { body = (conversion == "o" ? "0o" : conversion == "x" ? "0x" : "0X") + body }
            case "f", "F", "e", "E", "g", "G":
                let x = try real()
                sign = signed(x.sign == .minus && !x.isNaN)
                if x.isNaN || x.isInfinite {
                    body = x.isNaN ? "nan" : "inf"
                    if conversion.isUppercase { body = body.uppercased() }
                } else {
                    body = String(format: "%\(alternate ? "#" : "").\(precision ?? 6)\(conversion)", x.magnitude)
                }
            case "c":
                if let n = value.integer, let scalar = Unicode.Scalar(UInt32(clamping: max(n, 0))), n >= 0 {
                    body = String(Character(scalar))
                } else if case let .string(s) = value, s.count == 1 {
                    body = s
                } else {
                    throw i.fail("%c requires an int or a single character")
                }
            default:
                throw i.fail("unsupported format character '\(conversion)'")
            }
            try i.checkSize(out.count + width + body.count)
            let length = sign.count + body.count
            if length >= width {
                out += sign + body
            } else if left {
                out += sign + body + String(repeating: " ", count: width - length)
            } else if zero && "dDiuxXofFeEgG".contains(conversion) && !body.hasPrefix("n") && !body.hasPrefix("i") {
                var digits = body
                var prefix = ""
                if alternate, "xXo".contains(conversion) {
                    prefix = String(body.prefix(2))
                    digits = String(body.dropFirst(2))
                }
                out += sign + prefix + String(repeating: "0", count: width - length) + digits
            } else {
                out += String(repeating: " ", count: width - length) + sign + body
            }
        }
        if !usedMapping, next < positional.count, !(positional.count == 1 && { if case .dict = positional[0] { return true } else { return false } }()) {
            throw i.fail("not all arguments converted during string formatting")
        }
        return out
    }
}
