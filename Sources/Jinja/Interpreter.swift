import Foundation

/// The bounds of one rendering: a template is untrusted text, so neither a loop, nor
/// recursion, nor the output may grow without limit.
public struct RenderLimits: Sendable {
    /// Loop iterations and macro calls, over the whole rendering.
    public var steps = 1_000_000
    /// Nested macro calls.
    public var callDepth = 100
    /// Characters of output (including captured blocks), in UTF-8 bytes.
    public var outputBytes = 16 << 20
    /// Elements any one list or string built by the template may have (`range`, `*`).
    public var collectionSize = 1 << 20
    /// How deep lists, tuples and dicts the template builds may nest (a deeper value
    /// would take as deep a recursion to print, compare or free).
    public var nesting = 256

    public init() {}
}

private enum LoopControl: Error {
    case breakLoop, continueLoop
}

/// Evaluates a parsed template against its variables.
public final class Interpreter {
    private var scopes: [[String: Value]]
    private var output = ""
    private var outputBytes = 0
    private let limits: RenderLimits
    private var steps = 0
    private var callDepth = 0
    private(set) var line = 0
    /// The time `strftime_now` formats.
    let now: Date

    init(variables: [String: Value], limits: RenderLimits, now: Date) {
        self.limits = limits
        self.now = now
        scopes = [Builtins.globals, variables, [:]]
    }

    func render(_ nodes: [Node]) throws -> String {
        try run(nodes)
        return output
    }

    func fail(_ message: String) -> JinjaError { JinjaError(line: line, message) }

    // MARK: Output

    private func emit(_ text: String) throws {
        outputBytes += text.utf8.count
        guard outputBytes <= limits.outputBytes else { throw fail("the output exceeds \(limits.outputBytes) bytes") }
        output += text
    }

    /// Runs `body` writing to a fresh buffer and returns what it wrote.
    func capture(_ body: () throws -> Void) throws -> String {
        let saved = output
        output = ""
        defer { output = saved }
        try body()
        return output
    }

    private func step() throws {
        steps += 1
        guard steps <= limits.steps else { throw fail("the template runs more than \(limits.steps) loop iterations and calls") }
    }

    /// Checks that `value`, just built from other values, nests at most `limits.nesting`
    /// deep. Every container element looked at counts as a step, so that building
    /// around a large value again and again stays bounded too.
    func checkNesting(_ value: Value) throws -> Value {
        var stack: [(Value, Int)] = [(value, 1)]
        while let (current, depth) = stack.popLast() {
            let children: [Value]
            switch current {
            case let .list(l), let .tuple(l), let .generator(l): children = l
            case let .dict(d): children = d.pairs.flatMap { [$0.0, $0.1] }
            default: continue
            }
            guard depth <= limits.nesting else { throw fail("values nested deeper than \(limits.nesting)") }
            steps += children.count
            guard steps <= limits.steps else { throw fail("the template runs more than \(limits.steps) loop iterations and calls") }
            for child in children {
                switch child {
                case .list, .tuple, .generator, .dict: stack.append((child, depth + 1))
                default: break
                }
            }
        }
        return value
    }

    func checkSize(_ count: Int) throws {
        guard count <= limits.collectionSize else { throw fail("a list or string of \(count) elements exceeds \(limits.collectionSize)") }
    }

    // MARK: Scopes

    func lookup(_ name: String) -> Value {
        for scope in scopes.reversed() { if let value = scope[name] { return value } }
        return .undefined(name)
    }

    private func assign(_ name: String, _ value: Value) { scopes[scopes.count - 1][name] = value }

    // MARK: Statements

    private func run(_ nodes: [Node]) throws {
        for node in nodes { try run(node) }
    }

    private func run(_ node: Node) throws {
        switch node {
        case let .text(t):
            try emit(t)
        case let .output(e, l):
            line = l
            try emit(try evaluate(e).text)
        case let .conditional(branches, otherwise, l):
            line = l
            for (condition, body) in branches where try evaluate(condition).isTrue {
                try run(body)
                return
            }
            try run(otherwise)
        case let .loop(targets, iterable, filter, body, otherwise, recursive, l):
            line = l
            try loop(targets: targets, iterable: try evaluate(iterable), filter: filter, body: body, otherwise: otherwise, recursive: recursive)
        case let .assign(targets, attribute, e, l):
            line = l
            let value = try evaluate(e)
            try store(targets: targets, attribute: attribute, value)
        case let .assignBlock(name, attribute, filters, body, l):
            line = l
            var value = Value.string(try capture { try run(body) })
            for (filterName, args, keywords) in filters {
                value = try applyFilter(filterName, value, try arguments(args, keywords))
            }
            try store(targets: [name], attribute: attribute, value)
        case let .macro(name, parameters, body, _):
            assign(name, makeMacro(name: name, parameters: parameters, body: body))
        case let .callBlock(callExpression, parameters, body, l):
            line = l
            guard case let .call(callee, args, keywords) = callExpression else { return }
            let caller = makeMacro(name: "caller", parameters: parameters, body: body)
            var callArguments = try arguments(args, keywords)
            callArguments.keyword.append(("caller", caller))
            try emit(try call(try evaluate(callee), callArguments).text)
        case let .filterBlock(filters, body, l):
            line = l
            var value = Value.string(try capture { try run(body) })
            for (filterName, args, keywords) in filters {
                value = try applyFilter(filterName, value, try arguments(args, keywords))
            }
            try emit(value.text)
        case let .breakLoop(l):
            line = l
            throw LoopControl.breakLoop
        case let .continueLoop(l):
            line = l
            throw LoopControl.continueLoop
        case let .generation(body):
            try run(body)
        }
    }

    private func store(targets: [String], attribute: String?, _ value: Value) throws {
        if let attribute {
            guard case let .namespace(namespace) = lookup(targets[0]) else {
                throw fail("cannot set '\(attribute)' on '\(targets[0])', which is not a namespace")
            }
            namespace.attributes[attribute] = value
            return
        }
        if targets.count == 1 { assign(targets[0], value); return }
        let items = try iterate(value)
        guard items.count == targets.count else { throw fail("cannot unpack \(items.count) values into \(targets.count) names") }
        for (target, item) in zip(targets, items) { assign(target, item) }
    }

    /// A `for` loop. A `recursive` one's `loop` can be called with another iterable
    /// (`loop(item.children)`): the same body renders it one level deeper (`loop.depth`),
    /// and the call returns that output.
    private func loop(
        targets: [String], iterable: Value, filter: Expression?, body: [Node], otherwise: [Node], recursive: Bool = false, depth: Int = 1
    ) throws {
        var items = try iterate(iterable)
        scopes.append([:])
        defer { scopes.removeLast() }
        func bind(_ item: Value) throws {
            if targets.count == 1 {
                assign(targets[0], item)
            } else {
                let parts = try iterate(item)
                guard parts.count == targets.count else { throw fail("cannot unpack \(parts.count) values into \(targets.count) names") }
                for (target, part) in zip(targets, parts) { assign(target, part) }
            }
        }
        if let filter {
            items = try items.filter { item in
                try bind(item)
                return try evaluate(filter).isTrue
            }
        }
        let outer = lookup("loop")
        for (index, item) in items.enumerated() {
            try step()
            try bind(item)
            var loop = Value.Dictionary()
            loop["index"] = .int(index + 1)
            loop["index0"] = .int(index)
            loop["revindex"] = .int(items.count - index)
            loop["revindex0"] = .int(items.count - index - 1)
            loop["first"] = .bool(index == 0)
            loop["last"] = .bool(index == items.count - 1)
            loop["length"] = .int(items.count)
            loop["previtem"] = index > 0 ? items[index - 1] : .undefined("previtem")
            loop["nextitem"] = index + 1 < items.count ? items[index + 1] : .undefined("nextitem")
            loop["depth"] = .int(depth)
            loop["depth0"] = .int(depth - 1)
            if !outer.isUndefined { loop["parent"] = outer }
            let cycleItems = index
            loop["cycle"] = .callable(Value.Callable(name: "cycle") { arguments, _ in
                guard !arguments.positional.isEmpty else { return .undefined("cycle") }
                return arguments.positional[cycleItems % arguments.positional.count]
            })
            if recursive {
                loop[Self.callKey] = .callable(Value.Callable(name: "loop") { arguments, interpreter in
                    guard arguments.positional.count == 1, arguments.keyword.isEmpty else { throw interpreter.fail("loop() takes one iterable") }
                    interpreter.callDepth += 1
                    defer { interpreter.callDepth -= 1 }
                    guard interpreter.callDepth <= interpreter.limits.callDepth else {
                        throw interpreter.fail("recursive loop calls nested deeper than \(interpreter.limits.callDepth)")
                    }
                    return .string(try interpreter.capture {
                        try interpreter.loop(
                            targets: targets, iterable: arguments.positional[0], filter: filter, body: body, otherwise: otherwise,
                            recursive: true, depth: depth + 1)
                    })
                })
            }
            assign("loop", .dict(loop))
            do {
                try run(body)
            } catch LoopControl.continueLoop {
                continue
            } catch LoopControl.breakLoop {
                break
            }
        }
        if items.isEmpty { try run(otherwise) }
    }

    private func makeMacro(name: String, parameters: [(String, Expression?)], body: [Node]) -> Value {
        .callable(Value.Callable(name: name) { arguments, interpreter in
            try interpreter.callMacro(parameters: parameters, body: body, arguments: arguments)
        })
    }

    /// Runs a macro's body in a scope of its own above the template's top scope (so that
    /// it sees the template's variables as they are when it is called), with its
    /// parameters, `varargs`, `kwargs` and `caller`.
    fileprivate func callMacro(parameters: [(String, Expression?)], body: [Node], arguments: Value.Arguments) throws -> Value {
        callDepth += 1
        defer { callDepth -= 1 }
        guard callDepth <= limits.callDepth else { throw fail("macro calls nested deeper than \(limits.callDepth)") }
        try step()
        var local: [String: Value] = [:]
        for (index, (name, defaultValue)) in parameters.enumerated() {
            if let value = arguments.value(index, name) {
                local[name] = value
            } else if let defaultValue {
                local[name] = try evaluate(defaultValue)
            } else {
                local[name] = .undefined(name)
            }
        }
        local["varargs"] = .list(Array(arguments.positional.dropFirst(parameters.count)))
        var extra = Value.Dictionary()
        for (key, value) in arguments.keyword where !parameters.contains(where: { $0.0 == key }) && key != "caller" { extra[key] = value }
        local["kwargs"] = .dict(extra)
        if let caller = arguments.keyword.first(where: { $0.0 == "caller" })?.1 { local["caller"] = caller }
        let saved = scopes
        scopes = [saved[0], saved[1], saved[2], local]
        defer { scopes = saved }
        return .string(try capture { try run(body) })
    }

    // MARK: Expressions

    func evaluate(_ expression: Expression) throws -> Value {
        switch expression {
        case let .literal(v): return v
        case let .name(n): return lookup(n)
        case let .list(items): return try checkNesting(.list(try items.map(evaluate)))
        case let .tuple(items): return try checkNesting(.tuple(try items.map(evaluate)))
        case let .dict(pairs):
            var d = Value.Dictionary()
            for (k, v) in pairs { d[value: try evaluate(k)] = try evaluate(v) }
            return try checkNesting(.dict(d))
        case let .attribute(target, name):
            return try attribute(try evaluate(target), name)
        case let .index(target, index):
            return try item(try evaluate(target), try evaluate(index))
        case let .slice(target, start, stop, stride):
            return try slice(try evaluate(target), start.map(evaluate), stop.map(evaluate), stride.map(evaluate))
        case let .call(callee, args, keywords):
            return try call(try evaluate(callee), try arguments(args, keywords))
        case let .filter(value, name, args, keywords):
            return try applyFilter(name, try evaluate(value), try arguments(args, keywords))
        case let .test(value, name, args, negated):
            let result = try Builtins.test(name, try evaluate(value), try args.map(evaluate), self)
            return .bool(result != negated)
        case let .not(e): return .bool(!(try evaluate(e).isTrue))
        case let .negate(e):
            let v = try evaluate(e)
            switch v {
            case let .int(i): return .int(-i)
            case let .float(f): return .float(-f)
            case let .bool(b): return .int(b ? -1 : 0)
            default: throw fail("bad operand type for unary -: '\(v.typeName)'")
            }
        case let .binary(op, l, r):
            if op == "and" {
                let left = try evaluate(l)
                return left.isTrue ? try evaluate(r) : left
            }
            if op == "or" {
                let left = try evaluate(l)
                return left.isTrue ? left : try evaluate(r)
            }
            return try Builtins.binary(op, try evaluate(l), try evaluate(r), self)
        case let .conditional(value, condition, otherwise):
            if try evaluate(condition).isTrue { return try evaluate(value) }
            return try otherwise.map(evaluate) ?? .undefined("conditional")
        }
    }

    private func arguments(_ args: [Expression], _ keywords: [(String, Expression)]) throws -> Value.Arguments {
        Value.Arguments(positional: try args.map(evaluate), keyword: try keywords.map { ($0.0, try evaluate($0.1)) })
    }

    /// The entry of a recursive loop's `loop` that calling it runs.
    static let callKey = "__call__"

    func call(_ callee: Value, _ arguments: Value.Arguments) throws -> Value {
        if case let .dict(d) = callee, let function = d[Self.callKey] { return try call(function, arguments) }
        guard case let .callable(function) = callee else {
            if case let .undefined(name) = callee { throw fail("'\(name)' is undefined") }
            throw fail("'\(callee.typeName)' object is not callable")
        }
        return try function.body(arguments, self)
    }

    func applyFilter(_ name: String, _ value: Value, _ arguments: Value.Arguments) throws -> Value {
        try Builtins.filter(name, value, arguments, self)
    }

    func attribute(_ target: Value, _ name: String) throws -> Value {
        switch target {
        case let .undefined(undefinedName):
            throw fail("'\(undefinedName)' is undefined")
        case let .dict(d):
            if let v = d[name] { return v }
            if let method = Builtins.method(target, name, self) { return method }
            return .undefined(name)
        case let .namespace(n):
            return n.attributes[name] ?? .undefined(name)
        case let .tuple(pair) where pair.count == 2 && (name == "grouper" || name == "list"):
            // groupby's groups are (grouper, list) named tuples.
            return pair[name == "grouper" ? 0 : 1]
        default:
            if let method = Builtins.method(target, name, self) { return method }
            return .undefined(name)
        }
    }

    /// An attribute path of jinja2's filters (`attribute="a.b"`, `"items.0"`): each
    /// dotted part an item, digits as an index.
    func path(_ target: Value, _ attribute: Value) throws -> Value {
        guard case let .string(path) = attribute else { return try item(target, attribute) }
        var value = target
        for part in path.split(separator: ".", omittingEmptySubsequences: false) {
            value = try item(value, Int(part).map(Value.int) ?? .string(String(part)))
            if value.isUndefined { return value }
        }
        return value
    }

    func item(_ target: Value, _ index: Value) throws -> Value {
        switch (target, index) {
        case let (.undefined(name), _):
            throw fail("'\(name)' is undefined")
        case let (.list(items), _), let (.tuple(items), _):
            guard let i = index.integer else {
                if case let .string(s) = index { return try attribute(target, s) }
                throw fail("list indices must be integers, not \(index.typeName)")
            }
            let k = i < 0 ? items.count + i : i
            return items.indices.contains(k) ? items[k] : .undefined("[\(i)]")
        case let (.string(s), _), let (.markup(s), _):
            guard let i = index.integer else { throw fail("string indices must be integers") }
            let chars = Array(s)
            let k = i < 0 ? chars.count + i : i
            return chars.indices.contains(k) ? .string(String(chars[k])) : .undefined("[\(i)]")
        case let (.dict(d), _):
            return d[value: index] ?? .undefined(index.text)
        case let (.namespace(n), .string(key)):
            return n.attributes[key] ?? .undefined(key)
        default:
            if case let .string(key) = index { return try attribute(target, key) }
            return .undefined("[\(index.text)]")
        }
    }

    func slice(_ target: Value, _ start: Value?, _ stop: Value?, _ stride: Value?) throws -> Value {
        func bound(_ v: Value?) throws -> Int? {
            guard let v, !(v.isUndefined), !(v.equals(.none)) else { return nil }
            guard let i = v.integer else { throw fail("slice indices must be integers") }
            return i
        }
        let step = try bound(stride) ?? 1
        guard step != 0 else { throw fail("slice step cannot be zero") }
        func indices(_ count: Int) throws -> [Int] {
            func clamp(_ i: Int, _ low: Int, _ high: Int) -> Int { min(max(i, low), high) }
            var result: [Int] = []
            if step > 0 {
                var a = try bound(start).map { $0 < 0 ? $0 + count : $0 } ?? 0
                var b = try bound(stop).map { $0 < 0 ? $0 + count : $0 } ?? count
                a = clamp(a, 0, count)
                b = clamp(b, 0, count)
                var i = a
                while i < b { result.append(i); i += step }
            } else {
                var a = try bound(start).map { $0 < 0 ? $0 + count : $0 } ?? count - 1
                var b = try bound(stop).map { $0 < 0 ? $0 + count : $0 } ?? -1
                a = clamp(a, -1, count - 1)
                b = clamp(b, -1, count - 1)
                var i = a
                while i > b { result.append(i); i += step }
            }
            return result
        }
        switch target {
        case let .list(items): return .list(try indices(items.count).map { items[$0] })
        case let .tuple(items): return .tuple(try indices(items.count).map { items[$0] })
        case let .string(s), let .markup(s):
            let chars = Array(s)
            return .string(String(try indices(chars.count).map { chars[$0] }))
        case let .undefined(name): throw fail("'\(name)' is undefined")
        default: throw fail("'\(target.typeName)' object is not subscriptable")
        }
    }

    /// The items a `for` loop or a filter goes through: a list's items, a dict's keys, a
    /// string's characters; nothing for undefined.
    func iterate(_ value: Value) throws -> [Value] {
        switch value {
        case .undefined: return []
        case let .list(items), let .tuple(items), let .generator(items): return items
        case let .dict(d): return d.keys
        case let .string(s), let .markup(s): return s.map { .string(String($0)) }
        case let .namespace(n): return n.attributes.keys
        default: throw fail("'\(value.typeName)' object is not iterable")
        }
    }
}

/// A parsed template.
public struct JinjaTemplate: @unchecked Sendable {
    // The tree is never changed after parsing.
    let nodes: [Node]

    /// Parses `source`; a syntax error names the line.
    public init(_ source: String) throws {
        nodes = try Parser.parse(source)
    }

    /// Renders the template with `variables` (and the built-in globals: `range`,
    /// `namespace`, `dict`, `raise_exception`, `strftime_now`, which formats `now`).
    public func render(_ variables: [String: Value], now: Date = Date(), limits: RenderLimits = RenderLimits()) throws -> String {
        try Interpreter(variables: variables, limits: limits, now: now).render(nodes)
    }
}
