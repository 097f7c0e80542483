/// An expression of the template language.
indirect enum Expression: Sendable {
    case literal(Value)
    case name(String)
    case list([Expression])
    case tuple([Expression])
    case dict([(Expression, Expression)])
    case attribute(Expression, String)
    case index(Expression, Expression)
    case slice(Expression, Expression?, Expression?, Expression?)
    case call(Expression, [Expression], [(String, Expression)])
    case filter(Expression, String, [Expression], [(String, Expression)])
    case test(Expression, String, [Expression], negated: Bool)
    case not(Expression)
    case negate(Expression)
    case binary(String, Expression, Expression)
    case conditional(Expression, condition: Expression, otherwise: Expression?)
}

/// A statement (or text) of the template, with the line it starts on.
indirect enum Node: Sendable {
    case text(String)
    case output(Expression, line: Int)
    case conditional([(Expression, [Node])], otherwise: [Node], line: Int)
    case loop(targets: [String], iterable: Expression, filter: Expression?, body: [Node], otherwise: [Node], recursive: Bool, line: Int)
    case assign(targets: [String], attribute: String?, Expression, line: Int)
    case assignBlock(name: String, attribute: String?, filters: [(String, [Expression], [(String, Expression)])], body: [Node], line: Int)
    case macro(name: String, parameters: [(String, Expression?)], body: [Node], line: Int)
    case callBlock(call: Expression, parameters: [(String, Expression?)], body: [Node], line: Int)
    case filterBlock(filters: [(String, [Expression], [(String, Expression)])], body: [Node], line: Int)
    case breakLoop(line: Int)
    case continueLoop(line: Int)
    case generation(body: [Node])
}

/// Builds the statement tree of a template from its pieces.
struct Parser {
    private var pieces: [Piece]
    private var index = 0
    /// Tokens of the current tag and the position in them.
    private var tokens: [Token] = []
    private var position = 0
    private var line = 1
    private var depth = 0

    static let maximumNesting = 200

    init(pieces: [Piece]) { self.pieces = pieces }

    static func parse(_ source: String) throws -> [Node] {
        var parser = Parser(pieces: try Lexer.pieces(source))
        let (body, end) = try parser.block(until: [])
        if let end { throw JinjaError(line: parser.line, "unexpected '{% \(end) %}'") }
        return body
    }

    // MARK: Statements

    /// Parses nodes until a statement tag whose first word is in `ends`, which is left
    /// in `tokens` (its name returned), or the end of the template (`nil`).
    private mutating func block(until ends: Set<String>) throws -> ([Node], String?) {
        depth += 1
        defer { depth -= 1 }
        guard depth < Self.maximumNesting else { throw JinjaError(line: line, "blocks nested deeper than \(Self.maximumNesting)") }
        var nodes: [Node] = []
        while index < pieces.count {
            let piece = pieces[index]
            index += 1
            switch piece {
            case let .text(t):
                nodes.append(.text(t))
            case let .expression(toks, tagLine):
                load(toks, tagLine)
                let e = try expression()
                try expectEnd()
                nodes.append(.output(e, line: tagLine))
            case let .statement(toks, tagLine):
                load(toks, tagLine)
                guard case let .name(keyword)? = next() else { throw JinjaError(line: tagLine, "a statement tag needs a keyword") }
                if ends.contains(keyword) { return (nodes, keyword) }
                nodes.append(try statement(keyword))
            }
        }
        if !ends.isEmpty {
            throw JinjaError(line: line, "the template ends inside a block: expected \(ends.sorted().map { "'{% \($0) %}'" }.joined(separator: " or "))")
        }
        return (nodes, nil)
    }

    private mutating func load(_ toks: [Token], _ tagLine: Int) {
        tokens = toks
        position = 0
        line = tagLine
    }

    private mutating func statement(_ keyword: String) throws -> Node {
        let start = line
        switch keyword {
        case "if":
            var branches: [(Expression, [Node])] = []
            var condition = try expression()
            try expectEnd()
            while true {
                let (body, end) = try block(until: ["elif", "else", "endif"])
                branches.append((condition, body))
                switch end {
                case "elif":
                    condition = try expression()
                    try expectEnd()
                case "else":
                    try expectEnd()
                    let (otherwise, _) = try block(until: ["endif"])
                    try expectEnd()
                    return .conditional(branches, otherwise: otherwise, line: start)
                default:
                    try expectEnd()
                    return .conditional(branches, otherwise: [], line: start)
                }
            }
        case "for":
            var targets = [try name()]
            while accept(.op(",")) { targets.append(try name()) }
            try expectWord("in")
            let iterable = try expression(allowConditional: false)
            var filter: Expression? = nil
            if acceptWord("if") { filter = try expression() }
            let recursive = acceptWord("recursive")
            try expectEnd()
            let (body, end) = try block(until: ["else", "endfor"])
            var otherwise: [Node] = []
            try expectEnd()
            if end == "else" {
                (otherwise, _) = try block(until: ["endfor"])
                try expectEnd()
            }
            return .loop(targets: targets, iterable: iterable, filter: filter, body: body, otherwise: otherwise, recursive: recursive, line: start)
        case "set":
            var targets = [try name()]
            var attribute: String? = nil
            if accept(.op(".")) { attribute = try name() }
            while accept(.op(",")) { targets.append(try name()) }
            if accept(.op("=")) {
                var value = try expression()
                if targets.count == 1, position < tokens.count, tokens[position] == .op(",") {
                    var items = [value]
                    while accept(.op(",")) { items.append(try expression()) }
                    value = .tuple(items)
                }
                try expectEnd()
                return .assign(targets: targets, attribute: attribute, value, line: start)
            }
            var filters: [(String, [Expression], [(String, Expression)])] = []
            while accept(.op("|")) { filters.append(try filterCall()) }
            try expectEnd()
            let (body, _) = try block(until: ["endset"])
            try expectEnd()
            return .assignBlock(name: targets[0], attribute: attribute, filters: filters, body: body, line: start)
        case "macro":
            let macroName = try name()
            let parameters = try parameterList()
            try expectEnd()
            let (body, _) = try block(until: ["endmacro"])
            try skipRest()
            return .macro(name: macroName, parameters: parameters, body: body, line: start)
        case "call":
            var parameters: [(String, Expression?)] = []
            if position < tokens.count, tokens[position] == .op("(") { parameters = try parameterList() }
            let call = try expression()
            guard case .call = call else { throw JinjaError(line: start, "'{% call %}' needs a macro call") }
            try expectEnd()
            let (body, _) = try block(until: ["endcall"])
            try expectEnd()
            return .callBlock(call: call, parameters: parameters, body: body, line: start)
        case "filter":
            var filters = [try filterCall()]
            while accept(.op("|")) { filters.append(try filterCall()) }
            try expectEnd()
            let (body, _) = try block(until: ["endfilter"])
            try expectEnd()
            return .filterBlock(filters: filters, body: body, line: start)
        case "break":
            try expectEnd()
            return .breakLoop(line: start)
        case "continue":
            try expectEnd()
            return .continueLoop(line: start)
        default:
            throw JinjaError(line: start, "unknown statement '\(keyword)'")
        }
    }

    private mutating func parameterList() throws -> [(String, Expression?)] {
        try expect(.op("("))
        var parameters: [(String, Expression?)] = []
        while !accept(.op(")")) {
            if !parameters.isEmpty { try expect(.op(",")) }
            if accept(.op(")")) { break }
            let parameter = try name()
            parameters.append((parameter, accept(.op("=")) ? try expression() : nil))
        }
        return parameters
    }

    private mutating func filterCall() throws -> (String, [Expression], [(String, Expression)]) {
        var filterName = try name()
        while accept(.op(".")) { filterName += "." + (try name()) }
        var args: [Expression] = [], keywords: [(String, Expression)] = []
        if position < tokens.count, tokens[position] == .op("(") { (args, keywords) = try callArguments() }
        return (filterName, args, keywords)
    }

    // MARK: Expressions

    mutating func expression(allowConditional: Bool = true) throws -> Expression {
        depth += 1
        defer { depth -= 1 }
        guard depth < Self.maximumNesting else { throw JinjaError(line: line, "an expression nested deeper than \(Self.maximumNesting)") }
        let value = try or()
        guard allowConditional, acceptWord("if") else { return value }
        let condition = try or()
        let otherwise = acceptWord("else") ? try expression() : nil
        return .conditional(value, condition: condition, otherwise: otherwise)
    }

    private mutating func or() throws -> Expression {
        var left = try and()
        while acceptWord("or") { left = .binary("or", left, try and()) }
        return left
    }

    private mutating func and() throws -> Expression {
        var left = try notExpression()
        while acceptWord("and") { left = .binary("and", left, try notExpression()) }
        return left
    }

    private mutating func notExpression() throws -> Expression {
        if acceptWord("not") {
            try enter()
            defer { depth -= 1 }
            return .not(try notExpression())
        }
        return try comparison()
    }

    /// One more level of nesting, refused beyond ``maximumNesting`` (the caller lowers it).
    private mutating func enter() throws {
        depth += 1
        guard depth < Self.maximumNesting else { throw JinjaError(line: line, "an expression nested deeper than \(Self.maximumNesting)") }
    }

    private mutating func comparison() throws -> Expression {
        var left = try additive()
        while true {
            if case let .op(op)? = peek(), ["==", "!=", "<", ">", "<=", ">="].contains(op) {
                position += 1
                left = .binary(op, left, try additive())
            } else if acceptWord("in") {
                left = .binary("in", left, try additive())
            } else if peek() == .name("not"), position + 1 < tokens.count, tokens[position + 1] == .name("in") {
                position += 2
                left = .not(.binary("in", left, try additive()))
            } else {
                return left
            }
        }
    }

    private mutating func additive() throws -> Expression {
        var left = try concatenation()
        while case let .op(op)? = peek(), op == "+" || op == "-" {
            position += 1
            left = .binary(op, left, try concatenation())
        }
        return left
    }

    private mutating func concatenation() throws -> Expression {
        var left = try multiplicative()
        while accept(.op("~")) { left = .binary("~", left, try multiplicative()) }
        return left
    }

    private mutating func multiplicative() throws -> Expression {
        var left = try power()
        while case let .op(op)? = peek(), ["*", "/", "//", "%"].contains(op) {
            position += 1
            left = .binary(op, left, try power())
        }
        return left
    }

    private mutating func power() throws -> Expression {
        var left = try unary()
        while accept(.op("**")) { left = .binary("**", left, try unary()) }
        return left
    }

    private mutating func unary(withFilters: Bool = true) throws -> Expression {
        var node: Expression
        if accept(.op("-")) {
            try enter()
            defer { depth -= 1 }
            node = .negate(try unary(withFilters: false))
        } else if accept(.op("+")) {
            try enter()
            defer { depth -= 1 }
            node = try unary(withFilters: false)
        } else {
            node = try postfix(try primary())
        }
        guard withFilters else { return node }
        while true {
            if accept(.op("|")) {
                let (filterName, args, keywords) = try filterCall()
                node = .filter(node, filterName, args, keywords)
            } else if acceptWord("is") {
                let negated = acceptWord("not")
                let testName = try name()
                var args: [Expression] = []
                if peek() == .op("(") {
                    (args, _) = try callArguments()
                } else if let token = peek(), startsArgument(token) {
                    args = [try postfix(try primary())]
                }
                node = .test(node, testName, args, negated: negated)
            } else {
                return node
            }
        }
    }

    private func startsArgument(_ token: Token) -> Bool {
        switch token {
        case .string, .int, .float: return true
        case let .name(n): return !["else", "or", "and", "if", "in", "is", "not"].contains(n)
        case let .op(o): return o == "[" || o == "{"
        }
    }

    private mutating func primary() throws -> Expression {
        guard let token = next() else { throw JinjaError(line: line, "an expression is missing") }
        switch token {
        case let .name(n):
            switch n {
            case "true", "True": return .literal(.bool(true))
            case "false", "False": return .literal(.bool(false))
            case "none", "None": return .literal(.none)
            default: return .name(n)
            }
        case var .string(s):
            while case let .string(more)? = peek() { s += more; position += 1 }
            return .literal(.string(s))
        case let .int(i): return .literal(.int(i))
        case let .float(f): return .literal(.float(f))
        case .op("("):
            if accept(.op(")")) { return .tuple([]) }
            let first = try expression()
            if accept(.op(")")) { return first }
            var items = [first]
            while accept(.op(",")) {
                if peek() == .op(")") { break }
                items.append(try expression())
            }
            try expect(.op(")"))
            return .tuple(items)
        case .op("["):
            var items: [Expression] = []
            while !accept(.op("]")) {
                if !items.isEmpty { try expect(.op(",")); if accept(.op("]")) { break } }
                items.append(try expression())
            }
            return .list(items)
        case .op("{"):
            var pairs: [(Expression, Expression)] = []
            while !accept(.op("}")) {
                if !pairs.isEmpty { try expect(.op(",")); if accept(.op("}")) { break } }
                let key = try expression()
                try expect(.op(":"))
                pairs.append((key, try expression()))
            }
            return .dict(pairs)
        default:
            throw JinjaError(line: line, "unexpected \(describe(token)) in an expression")
        }
    }

    private mutating func postfix(_ start: Expression) throws -> Expression {
        var node = start
        while true {
            if accept(.op(".")) {
                guard let token = next() else { throw JinjaError(line: line, "an attribute name is missing after '.'") }
                switch token {
                case let .name(n): node = .attribute(node, n)
                case let .int(i): node = .index(node, .literal(.int(i)))
                default: throw JinjaError(line: line, "unexpected \(describe(token)) after '.'")
                }
            } else if accept(.op("[")) {
                var parts: [Expression?] = [nil]
                var isSlice = false
                while !accept(.op("]")) {
                    if accept(.op(":")) {
                        isSlice = true
                        parts.append(nil)
                        continue
                    }
                    guard parts[parts.count - 1] == nil else { throw JinjaError(line: line, "expected ']'") }
                    parts[parts.count - 1] = try expression()
                }
                if isSlice {
                    guard parts.count <= 3 else { throw JinjaError(line: line, "a slice has at most three parts") }
                    while parts.count < 3 { parts.append(nil) }
                    node = .slice(node, parts[0], parts[1], parts[2])
                } else {
                    guard let index = parts[0] else { throw JinjaError(line: line, "a subscript is empty") }
                    node = .index(node, index)
                }
            } else if peek() == .op("(") {
                let (args, keywords) = try callArguments()
                node = .call(node, args, keywords)
            } else {
                return node
            }
        }
    }

    private mutating func callArguments() throws -> ([Expression], [(String, Expression)]) {
        try expect(.op("("))
        var args: [Expression] = [], keywords: [(String, Expression)] = []
        var first = true
        while !accept(.op(")")) {
            if !first { try expect(.op(",")); if accept(.op(")")) { break } }
            first = false
            if case let .name(n)? = peek(), position + 1 < tokens.count, tokens[position + 1] == .op("=") {
                position += 2
                keywords.append((n, try expression()))
            } else {
                args.append(try expression())
            }
        }
        return (args, keywords)
    }

    // MARK: Tokens

    private func peek() -> Token? { position < tokens.count ? tokens[position] : nil }

    private mutating func next() -> Token? {
        guard position < tokens.count else { return nil }
        position += 1
        return tokens[position - 1]
    }

    private mutating func accept(_ token: Token) -> Bool {
        guard peek() == token else { return false }
        position += 1
        return true
    }

    private mutating func acceptWord(_ word: String) -> Bool { accept(.name(word)) }

    private mutating func expect(_ token: Token) throws {
        guard accept(token) else {
            throw JinjaError(line: line, "expected \(describe(token)), found \(peek().map(describe) ?? "the end of the tag")")
        }
    }

    private mutating func expectWord(_ word: String) throws { try expect(.name(word)) }

    private mutating func name() throws -> String {
        guard case let .name(n)? = next() else {
            throw JinjaError(line: line, "expected a name, found \(position <= tokens.count && position > 0 ? describe(tokens[position - 1]) : "the end of the tag")")
        }
        return n
    }

    private func expectEnd() throws {
        if let token = peek() { throw JinjaError(line: line, "unexpected \(describe(token)) at the end of the tag") }
    }

    private mutating func skipRest() throws { position = tokens.count }

    private func describe(_ token: Token) -> String {
        switch token {
        case let .name(n): "'\(n)'"
        case let .string(s): "the string \(Value.pythonStringRepr(s))"
        case let .int(i): "\(i)"
        case let .float(f): "\(f)"
        case let .op(o): "'\(o)'"
        }
    }
}
