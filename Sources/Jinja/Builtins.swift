import Foundation

/// The globals, operators, filters, tests and methods templates use, with Python's and
/// jinja2's behaviour.
enum Builtins {
    static func function(_ name: String, _ body: @escaping @Sendable (Value.Arguments, Interpreter) throws -> Value) -> Value {
        .callable(Value.Callable(name: name, body: body))
    }

    static let globals: [String: Value] = [
        "range": function("range") { a, i in
            let n = a.positional.map { $0.integer ?? 0 }
            let (start, stop, step) = n.count == 1 ? (0, n[0], 1) : n.count == 2 ? (n[0], n[1], 1) : n.count >= 3 ? (n[0], n[1], n[2]) : (0, 0, 1)
            guard step != 0 else { throw i.fail("range() step must not be zero") }
            let count = step > 0 ? max(0, (stop - start + step - 1) / step) : max(0, (start - stop - step - 1) / -step)
            try i.checkSize(count)
            return .list((0..<count).map { .int(start + $0 * step) })
        },
        "namespace": function("namespace") { a, _ in
            var d = Value.Dictionary()
            if case let .dict(initial)? = a.positional.first { d = initial }
            for (k, v) in a.keyword { d[k] = v }
            return .namespace(Value.Namespace(d))
        },
        "dict": function("dict") { a, i in
            var d = Value.Dictionary()
            if case let .dict(initial)? = a.positional.first { d = initial }
            for (k, v) in a.keyword { d[k] = v }
            return try i.checkNesting(.dict(d))
        },
        "raise_exception": function("raise_exception") { a, i in
            throw JinjaError(line: i.line, a.positional.first?.text ?? "", raisedByTemplate: true)
        },
        "strftime_now": function("strftime_now") { a, i in
            .string(strftime(a.positional.first?.text ?? "", i.now))
        },
    ]

    /// Python's `strftime` for the directives templates use.
    static func strftime(_ format: String, _ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone.current
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: date)
        let months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
        let days = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
        func two(_ n: Int?) -> String { String(format: "%02d", n ?? 0) }
        var out = "", chars = Array(format), i = 0
        while i < chars.count {
            if chars[i] == "%", i + 1 < chars.count {
                let d = chars[i + 1]
                i += 2
                switch d {
                case "Y": out += String(c.year ?? 0)
                case "y": out += two((c.year ?? 0) % 100)
                case "m": out += two(c.month)
                case "d": out += two(c.day)
                case "H": out += two(c.hour)
                case "M": out += two(c.minute)
                case "S": out += two(c.second)
                case "B": out += months[(c.month ?? 1) - 1]
                case "b": out += String(months[(c.month ?? 1) - 1].prefix(3))
                case "A": out += days[(c.weekday ?? 1) - 1]
                case "a": out += String(days[(c.weekday ?? 1) - 1].prefix(3))
                case "%": out += "%"
                default: out += "%" + String(d)
                }
                continue
            }
            out.append(chars[i])
            i += 1
        }
        return out
    }

    // MARK: Operators

    static func binary(_ op: String, _ a: Value, _ b: Value, _ i: Interpreter) throws -> Value {
        switch op {
        case "==": return .bool(a.equals(b))
        case "!=": return .bool(!a.equals(b))
        case "<", ">", "<=", ">=":
            let order = try compare(a, b, i)
            switch op {
            case "<": return .bool(order < 0)
            case ">": return .bool(order > 0)
            case "<=": return .bool(order <= 0)
            default: return .bool(order >= 0)
            }
        case "in": return .bool(try contains(b, a, i))
        case "~": return .string(a.text + b.text)
        case "%":
            if case let .string(format) = a { return .string(try percentFormat(format, b, i)) }
            return try arithmetic(op, a, b, i)
        case "+":
            switch (a, b) {
            case (.markup, _) where b.isString, (_, .markup) where a.isString: return .markup(a.escaped + b.escaped)
            case let (.string(x), .string(y)): return .string(x + y)
            case let (.list(x), .list(y)):
                try i.checkSize(x.count + y.count)
                return .list(x + y)
            default: return try arithmetic(op, a, b, i)
            }
        case "*":
            if case let .string(s) = a, let n = b.integer {
                try i.checkSize(s.count * max(n, 0))
                return .string(String(repeating: s, count: max(n, 0)))
            }
            if case let .list(l) = a, let n = b.integer {
                try i.checkSize(l.count * max(n, 0))
                return .list(Array(repeating: l, count: max(n, 0)).flatMap { $0 })
            }
            return try arithmetic(op, a, b, i)
        default: return try arithmetic(op, a, b, i)
        }
    }

    static func arithmetic(_ op: String, _ a: Value, _ b: Value, _ i: Interpreter) throws -> Value {
        if let x = a.integer, let y = b.integer {
            switch op {
            case "+": let (r, o) = x.addingReportingOverflow(y); if !o { return .int(r) }
            case "-": let (r, o) = x.subtractingReportingOverflow(y); if !o { return .int(r) }
            case "*": let (r, o) = x.multipliedReportingOverflow(by: y); if !o { return .int(r) }
            case "//":
                guard y != 0 else { throw i.fail("integer division by zero") }
                let q = x / y
                return .int((x % y != 0 && (x < 0) != (y < 0)) ? q - 1 : q)
            case "%":
                guard y != 0 else { throw i.fail("integer modulo by zero") }
                let r = x % y
                return .int(r != 0 && (r < 0) != (y < 0) ? r + y : r)
            case "/":
                guard y != 0 else { throw i.fail("division by zero") }
                return .float(Double(x) / Double(y))
            case "**":
                if y >= 0 {
                    var result = 1, overflow = false
                    for _ in 0..<min(y, 64) where !overflow {
                        let (r, o) = result.multipliedReportingOverflow(by: x)
                        result = r
                        overflow = o
                    }
                    if !overflow, y <= 64 || x == 0 || x == 1 { return .int(result) }
                }
                return .float(pow(Double(x), Double(y)))
            default: break
            }
        }
        guard let x = a.number, let y = b.number else {
            throw i.fail("unsupported operand types for \(op): '\(a.typeName)' and '\(b.typeName)'")
        }
        switch op {
        case "+": return .float(x + y)
        case "-": return .float(x - y)
        case "*": return .float(x * y)
        case "/":
            guard y != 0 else { throw i.fail("division by zero") }
            return .float(x / y)
        case "//":
            guard y != 0 else { throw i.fail("division by zero") }
            return .float((x / y).rounded(.down))
        case "%":
            guard y != 0 else { throw i.fail("modulo by zero") }
            let r = x.truncatingRemainder(dividingBy: y)
            return .float(r != 0 && (r < 0) != (y < 0) ? r + y : r)
        case "**": return .float(pow(x, y))
        default: throw i.fail("unknown operator \(op)")
        }
    }

    static func compare(_ a: Value, _ b: Value, _ i: Interpreter) throws -> Int {
        if let x = a.number, let y = b.number { return x < y ? -1 : x > y ? 1 : 0 }
        if case let .string(x) = a, case let .string(y) = b {
            return Array(x.unicodeScalars.map(\.value)).lexicographicallyPrecedes(y.unicodeScalars.map(\.value)) ? -1 : x == y ? 0 : 1
        }
        if let x = a.sequenceItems, let y = b.sequenceItems {
            for (p, q) in zip(x, y) where !p.equals(q) { return try compare(p, q, i) }
            return x.count < y.count ? -1 : x.count > y.count ? 1 : 0
        }
        throw i.fail("'<' not supported between instances of '\(a.typeName)' and '\(b.typeName)'")
    }

    static func contains(_ container: Value, _ item: Value, _ i: Interpreter) throws -> Bool {
        switch container {
        case let .string(s), let .markup(s):
            guard case let .string(needle) = item else { throw i.fail("'in <string>' requires string as left operand, not \(item.typeName)") }
            return needle.isEmpty || s.contains(needle)
        case let .list(items), let .tuple(items), let .generator(items): return items.contains { $0.equals(item) }
        case let .dict(d): return d[value: item] != nil
        case let .namespace(n): return n.attributes[value: item] != nil
        // jinja2's Undefined iterates as empty.
        case .undefined: return false
        default: throw i.fail("argument of type '\(container.typeName)' is not iterable")
        }
    }

    // MARK: Tests

    static func test(_ name: String, _ v: Value, _ args: [Value], _ i: Interpreter) throws -> Bool {
        switch name {
        case "defined": return !v.isUndefined
        case "undefined": return v.isUndefined
        case "none": if case .none = v { return true } else { return false }
        case "string": return v.isString
        case "mapping": if case .dict = v { return true } else if case .namespace = v { return true } else { return false }
        case "iterable":
            switch v { case .list, .tuple, .dict, .string, .markup, .namespace, .generator: return true; default: return false }
        case "sequence":
            switch v { case .list, .tuple, .dict, .string, .markup: return true; default: return false }
        case "number": switch v { case .int, .float, .bool: return true; default: return false }
        case "integer": if case .int = v { return true } else { return false }
        case "float": if case .float = v { return true } else { return false }
        case "boolean": if case .bool = v { return true } else { return false }
        case "true": if case .bool(true) = v { return true } else { return false }
        case "false": if case .bool(false) = v { return true } else { return false }
        case "callable": if case .callable = v { return true } else { return false }
        case "odd": guard let n = v.integer else { throw i.fail("odd needs an integer") }; return n % 2 != 0
        case "even": guard let n = v.integer else { throw i.fail("even needs an integer") }; return n % 2 == 0
        case "divisibleby":
            guard let n = v.integer, let d = args.first?.integer, d != 0 else { throw i.fail("divisibleby needs integers") }
            return n % d == 0
        case "lower": if case let .string(s) = v { return s == s.lowercased() } else { return false }
        case "upper": if case let .string(s) = v { return s == s.uppercased() } else { return false }
        case "eq", "equalto", "==": return v.equals(args.first ?? .none)
        case "ne", "!=": return !v.equals(args.first ?? .none)
        case "lt", "lessthan", "<": return try compare(v, args.first ?? .none, i) < 0
        case "gt", "greaterthan", ">": return try compare(v, args.first ?? .none, i) > 0
        case "le", "<=": return try compare(v, args.first ?? .none, i) <= 0
        case "ge", ">=": return try compare(v, args.first ?? .none, i) >= 0
        case "in": return try contains(args.first ?? .list([]), v, i)
        case "sameas":
            switch (v, args.first ?? .undefined("")) {
            case (.none, .none): return true
            case let (.bool(a), .bool(b)): return a == b
            default: return false
            }
        default: throw i.fail("no test named '\(name)'")
        }
    }

    // MARK: Filters

    static func filter(_ name: String, _ v: Value, _ a: Value.Arguments, _ i: Interpreter) throws -> Value {
        // An undefined value reads as empty text, as jinja2's Undefined prints.
        func string(_ value: Value) throws -> String { value.text }
        switch name {
        case "trim":
            let chars = a.value(0, "chars").map(\.text)
            return .string(strip(try string(v), chars, leading: true, trailing: true))
        case "upper": return .string(try string(v).uppercased())
        case "lower": return .string(try string(v).lowercased())
        case "capitalize":
            let s = try string(v)
            return .string(s.prefix(1).uppercased() + s.dropFirst().lowercased())
        case "title":
            var out = "", previousIsLetter = false
            for ch in try string(v) {
                out += previousIsLetter ? ch.lowercased() : ch.uppercased()
                previousIsLetter = ch.isLetter || ch.isNumber || ch == "'"
            }
            return .string(out)
        case "length", "count":
            switch v {
            case let .string(s), let .markup(s): return .int(s.count)
            case let .list(l), let .tuple(l): return .int(l.count)
            case let .dict(d): return .int(d.count)
            case let .namespace(n): return .int(n.attributes.count)
            case .undefined: return .int(0)
            case .generator: throw i.fail("object of type 'generator' has no len()")
            default: throw i.fail("object of type '\(v.typeName)' has no len()")
            }
        case "string": return .string(v.text)
        case "safe": return .markup(v.text)
        case "e", "escape": return .markup(v.escaped)
        case "tojson":
            let indent = a.value(0, "indent")?.integer
            var itemSeparator: String? = nil, keySeparator: String? = nil
            if case let .list(parts)? = a.value(1, "separators"), parts.count == 2 {
                itemSeparator = parts[0].text
                keySeparator = parts[1].text
            }
            let sortKeys = a.value(2, "sort_keys")?.isTrue ?? false
            do {
                return .string(try v.json(indent: indent, itemSeparator: itemSeparator, keySeparator: keySeparator, sortKeys: sortKeys))
            } catch let error as JinjaError {
                throw i.fail(error.message)
            }
        case "join":
            let separator = a.value(0, "d")?.text ?? ""
            var items = try i.iterate(v)
            if let attribute = a.value(1, "attribute") { items = try items.map { try i.path($0, attribute) } }
            return .string(items.map(\.text).joined(separator: separator))
        case "first": return try i.iterate(v).first ?? .undefined("first")
        case "last":
            if case .generator = v { throw i.fail("'generator' object is not reversible") }
            return try i.iterate(v).last ?? .undefined("last")
        case "replace":
            let s = try string(v), old = a.value(0, "old")?.text ?? "", new = a.value(1, "new")?.text ?? ""
            if let count = a.value(2, "count")?.integer { return .string(replace(s, old, new, count: count)) }
            return .string(replace(s, old, new, count: nil))
        case "default", "d":
            let fallback = a.value(0, "default_value") ?? .string("")
            let boolean = a.value(1, "boolean")?.isTrue ?? false
            if v.isUndefined || (boolean && !v.isTrue) { return fallback }
            return v
        case "items":
            switch v {
            case let .dict(d): return try i.checkNesting(.generator(d.pairs.map { .tuple([$0.0, $0.1]) }))
            case .undefined: return .generator([])
            default: throw i.fail("items needs a mapping, not \(v.typeName)")
            }
        case "list": return .list(try i.iterate(v))
        case "unique":
            var seen: [Value] = []
            for item in try i.iterate(v) where !seen.contains(where: { $0.equals(item) }) { seen.append(item) }
            return .generator(seen)
        case "reverse":
            if case let .string(s) = v { return .string(String(s.reversed())) }
            return .generator(try i.iterate(v).reversed())
        case "int":
            switch v {
            case let .int(n): return .int(n)
            case let .float(f): return f.isFinite && abs(f) < 9e18 ? .int(Int(f)) : .int(0)
            case let .bool(b): return .int(b ? 1 : 0)
            case let .string(s): return .int(Int(s.trimmingCharacters(in: .whitespaces)) ?? Int(Double(s) ?? 0))
            default: return a.value(0, "default") ?? .int(0)
            }
        case "float":
            switch v {
            case let .string(s): return .float(Double(s.trimmingCharacters(in: .whitespaces)) ?? 0)
            default: return .float(v.number ?? 0)
            }
        case "abs":
            if case let .int(n) = v { return .int(abs(n)) }
            return .float(abs(v.number ?? 0))
        case "round":
            let precision = a.value(0, "precision")?.integer ?? 0
            let f = v.number ?? 0, scale = pow(10, Double(precision))
            return .float((f * scale).rounded() / scale)
        case "sum":
            var total = Value.int(0)
            for item in try i.iterate(v) { total = try binary("+", total, item, i) }
            return total
        case "min", "max":
            let items = try i.iterate(v)
            guard var best = items.first else { return .undefined(name) }
            for item in items.dropFirst() where try compare(item, best, i) * (name == "min" ? -1 : 1) > 0 { best = item }
            return best
        case "sort":
            let reverse = a.value(0, "reverse")?.isTrue ?? false
            let attribute = a.value(2, "attribute")
            var items = try i.iterate(v)
            var failure: Error? = nil
            items.sort { x, y in
                do {
                    let p = try attribute.map { try i.path(x, $0) } ?? x, q = try attribute.map { try i.path(y, $0) } ?? y
                    return try compare(p, q, i) * (reverse ? -1 : 1) < 0
                } catch { failure = error; return false }
            }
            if let failure { throw failure }
            return .list(items)
        case "dictsort":
            guard case let .dict(d) = v else { throw i.fail("dictsort needs a mapping") }
            return try i.checkNesting(.list(d.pairs.sorted { $0.0.text < $1.0.text }.map { .tuple([$0.0, $0.1]) }))
        case "map":
            // jinja2 maps nothing over a false value (None, an empty list).
            let items = v.isTrue ? try i.iterate(v) : []
            if let attribute = a.keyword.first(where: { $0.0 == "attribute" })?.1 {
                let fallback = a.keyword.first(where: { $0.0 == "default" })?.1
                return .generator(try items.map { item in
                    let value = try i.path(item, attribute)
                    return value.isUndefined ? (fallback ?? value) : value
                })
            }
            guard let filterName = a.positional.first?.text else { throw i.fail("map needs a filter name or attribute=") }
            let rest = Value.Arguments(positional: Array(a.positional.dropFirst()), keyword: a.keyword)
            return .generator(try items.map { try filter(filterName, $0, rest, i) })
        case "select", "reject", "selectattr", "rejectattr":
            let byAttribute = name.hasSuffix("attr")
            let keep = name.hasPrefix("select")
            var positional = a.positional
            let attribute = byAttribute ? (positional.isEmpty ? Value.undefined("attribute") : positional.removeFirst()) : nil
            let testName = positional.isEmpty ? nil : positional.removeFirst().text
            return .generator(try (v.isTrue ? i.iterate(v) : []).filter { item in
                let subject = try attribute.map { try i.path(item, $0) } ?? item
                let passed = try testName.map { try test($0, subject, positional, i) } ?? subject.isTrue
                return passed == keep
            })
        case "indent":
            let width = a.value(0, "width")
            let prefix: String
            if case let .string(s)? = width { prefix = s } else { prefix = String(repeating: " ", count: width?.integer ?? 4) }
            let first = a.value(1, "first")?.isTrue ?? false, blank = a.value(2, "blank")?.isTrue ?? false
            let lines = try string(v).components(separatedBy: "\n")
            return .string(lines.enumerated().map { index, line in
                if index == 0 && !first { return line }
                if line.isEmpty && !blank { return line }
                return prefix + line
            }.joined(separator: "\n"))
        case "wordcount": return .int(try string(v).split(whereSeparator: { $0.isWhitespace }).count)
        case "center":
            let s = try string(v), width = a.value(0, "width")?.integer ?? 80
            guard s.count < width else { return .string(s) }
            let left = (width - s.count) / 2
            return .string(String(repeating: " ", count: left) + s + String(repeating: " ", count: width - s.count - left))
        case "groupby":
            // jinja2: sorted by the attribute (strings compared lowercased unless
            // case_sensitive), grouped; each group a (grouper, list) tuple whose grouper is
            // the first item's own value.
            guard let attribute = a.value(0, "attribute") else { throw i.fail("groupby needs an attribute") }
            let fallback = a.value(1, "default"), caseSensitive = a.value(2, "case_sensitive")?.isTrue ?? false
            func value(_ item: Value) throws -> Value {
                let found = try i.path(item, attribute)
                if found.isUndefined, let fallback, !fallback.isNone { return fallback }
                return found
            }
            func key(_ item: Value) throws -> Value {
                let found = try value(item)
                if !caseSensitive, case let .string(s) = found { return .string(s.lowercased()) }
                return found
            }
            let keyed = try i.iterate(v).map { (key: try key($0), item: $0) }
            var failure: Error? = nil
            let sorted = keyed.enumerated().sorted { x, y in
                do {
                    let order = try compare(x.element.key, y.element.key, i)
                    return order < 0 || (order == 0 && x.offset < y.offset)
                } catch { failure = error; return false }
            }.map(\.element)
            if let failure { throw failure }
            var groups: [Value] = []
            var start = 0
            while start < sorted.count {
                var end = start + 1
                while end < sorted.count, sorted[end].key.equals(sorted[start].key) { end += 1 }
                groups.append(.tuple([try value(sorted[start].item), .list(sorted[start..<end].map(\.item))]))
                start = end
            }
            return try i.checkNesting(.list(groups))
        case "slice":
            let count = a.value(0, "slices")?.integer ?? 0
            guard count > 0, count <= 1 << 16 else { throw i.fail("slice needs a number of slices from 1 to 65536") }
            let fill = a.value(1, "fill_with")
            let items = try i.iterate(v)
            let perSlice = items.count / count, extra = items.count % count
            var slices: [Value] = [], offset = 0
            for index in 0..<count {
                let size = perSlice + (index < extra ? 1 : 0)
                var slice = Array(items[offset..<offset + size])
                offset += size
                if let fill, !fill.isNone, index >= extra { slice.append(fill) }
                slices.append(.list(slice))
            }
            return try i.checkNesting(.generator(slices))
        case "format":
            guard a.positional.isEmpty || a.keyword.isEmpty else { throw i.fail("format: can't handle positional and keyword arguments at the same time") }
            let values: Value = a.keyword.isEmpty ? .tuple(a.positional) : .dict(Value.Dictionary(a.keyword))
            return .string(try percentFormat(v.text, values, i))
        case "batch":
            let size = max(1, a.value(0, "linecount")?.integer ?? 1)
            let items = try i.iterate(v)
            return try i.checkNesting(.generator(stride(from: 0, to: items.count, by: size).map { .list(Array(items[$0..<min($0 + size, items.count)])) }))
        case "attr":
            return try i.attribute(v, a.value(0, "name")?.text ?? "")
        default:
            throw i.fail("no filter named '\(name)'")
        }
    }

    static func replace(_ s: String, _ old: String, _ new: String, count: Int?) -> String {
        guard let count, count >= 0 else {
            if old.isEmpty { return new + s.map { String($0) + new }.joined() }
            return s.replacingOccurrences(of: old, with: new)
        }
        var result = "", rest = Substring(s), done = 0
        while done < count, let range = rest.range(of: old), !old.isEmpty {
            result += rest[..<range.lowerBound] + new
            rest = rest[range.upperBound...]
            done += 1
        }
        return result + rest
    }

    /// Python's `str.strip` / `lstrip` / `rstrip` (whitespace, or the given characters).
    static func strip(_ s: String, _ chars: String?, leading: Bool, trailing: Bool) -> String {
        let set: (Character) -> Bool = chars.map { c in { c.contains($0) } } ?? { $0.isWhitespace }
        var sub = Substring(s)
        if leading { while let f = sub.first, set(f) { sub = sub.dropFirst() } }
        if trailing { while let l = sub.last, set(l) { sub = sub.dropLast() } }
        return String(sub)
    }

    // MARK: Methods

    /// The method `name` of `target`, bound, or `nil` when it has none. Methods that
    /// change a value (`append`, `update`, …) are refused, as in jinja2's immutable
    /// sandbox that transformers uses.
    static func method(_ target: Value, _ name: String, _ i: Interpreter) -> Value? {
        if case let .markup(text) = target { return method(.string(text), name, i) }
        func bound(_ body: @escaping @Sendable (Value.Arguments, Interpreter) throws -> Value) -> Value { function(name, body) }
        switch target {
        case let .string(s):
            switch name {
            case "strip", "lstrip", "rstrip":
                return bound { a, _ in
                    let chars = a.positional.first.flatMap { $0.equals(.none) ? nil : $0.text }
                    return .string(strip(s, chars, leading: name != "rstrip", trailing: name != "lstrip"))
                }
            case "upper": return bound { _, _ in .string(s.uppercased()) }
            case "lower": return bound { _, _ in .string(s.lowercased()) }
            case "title", "capitalize": return bound { a, i in try filter(name, target, a, i) }
            case "startswith", "endswith":
                return bound { a, _ in
                    let candidates: [Value]
                    if let l = a.positional.first?.sequenceItems { candidates = l } else { candidates = a.positional.prefix(1).map { $0 } }
                    return .bool(candidates.contains { name == "startswith" ? s.hasPrefix($0.text) : s.hasSuffix($0.text) })
                }
            case "split", "rsplit":
                return bound { a, i in
                    let separator = a.value(0, "sep").flatMap { $0.equals(.none) ? nil : $0.text }
                    let limit = a.value(1, "maxsplit")?.integer ?? -1
                    var parts: [String]
                    if let separator {
                        guard !separator.isEmpty else { throw i.fail("empty separator") }
                        parts = s.components(separatedBy: separator)
                        if limit >= 0, parts.count > limit + 1 {
                            if name == "split" {
                                parts = Array(parts.prefix(limit)) + [parts.dropFirst(limit).joined(separator: separator)]
                            } else {
                                parts = [parts.dropLast(limit).joined(separator: separator)] + Array(parts.suffix(limit))
                            }
                        }
                    } else {
                        parts = s.split(whereSeparator: { $0.isWhitespace }).map(String.init)
                    }
                    return .list(parts.map { .string($0) })
                }
            case "replace":
                return bound { a, _ in .string(replace(s, a.value(0, "old")?.text ?? "", a.value(1, "new")?.text ?? "", count: a.value(2, "count")?.integer)) }
            case "find", "index", "rfind":
                return bound { a, i in
                    let needle = a.positional.first?.text ?? ""
                    let range = name == "rfind" ? s.range(of: needle, options: .backwards) : s.range(of: needle)
                    guard let range else {
                        if name == "index" { throw i.fail("substring not found") }
                        return .int(-1)
                    }
                    return .int(s.distance(from: s.startIndex, to: range.lowerBound))
                }
            case "count": return bound { a, _ in .int(s.components(separatedBy: a.positional.first?.text ?? "").count - 1) }
            case "join": return bound { a, i in .string(try i.iterate(a.positional.first ?? .list([])).map(\.text).joined(separator: s)) }
            case "isdigit": return bound { _, _ in .bool(!s.isEmpty && s.allSatisfy { $0.isNumber }) }
            case "isalpha": return bound { _, _ in .bool(!s.isEmpty && s.allSatisfy { $0.isLetter }) }
            case "isspace": return bound { _, _ in .bool(!s.isEmpty && s.allSatisfy { $0.isWhitespace }) }
            case "format":
                return bound { a, _ in
                    var out = s, index = 0
                    while let r = out.range(of: "{}"), index < a.positional.count {
                        out.replaceSubrange(r, with: a.positional[index].text)
                        index += 1
                    }
                    return .string(out)
                }
            default: return nil
            }
        case let .dict(d):
            switch name {
            case "items": return bound { _, i in try i.checkNesting(.list(d.pairs.map { .tuple([$0.0, $0.1]) })) }
            case "keys": return bound { _, _ in .list(d.keys) }
            case "values": return bound { _, _ in .list(d.pairs.map(\.1)) }
            case "get": return bound { a, _ in d[value: a.positional.first ?? .none] ?? a.value(1, "default") ?? .none }
            default: return nil
            }
        case .list, .tuple:
            switch name {
            case "index":
                return bound { a, i in
                    guard let l = target.sequenceItems, let k = l.firstIndex(where: { $0.equals(a.positional.first ?? .none) }) else {
                        throw i.fail("value is not in list")
                    }
                    return .int(k)
                }
            case "count":
                return bound { a, _ in
                    guard let l = target.sequenceItems else { return .int(0) }
                    return .int(l.filter { $0.equals(a.positional.first ?? .none) }.count)
                }
            case "append", "extend", "insert", "pop", "remove", "sort", "reverse", "clear":
                return bound { _, i in throw i.fail("access to attribute '\(name)' of 'list' object is unsafe") }
            default: return nil
            }
        default:
            return nil
        }
    }
}
