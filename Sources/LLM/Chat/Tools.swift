import Foundation
import Jinja
import Tokenizers

/// A tool the model may call, in OpenAI's form:
/// `{"type": "function", "function": {"name", "description", "parameters": JSON schema}}`.
/// Chat templates print the definitions into the prompt (most as JSON).
public struct ToolDefinition: Sendable, Equatable {
    /// The function's name.
    public let name: String
    /// The definition as JSON text, keys in their given order.
    public let json: String

    /// A definition from its JSON (OpenAI's object, or a bare `{"name", "description",
    /// "parameters"}`, which is wrapped into OpenAI's). An error says what is missing.
    public init(json data: Data) throws {
        try self.init(value: Value(json: data))
    }

    /// A function named `name`, described by `description`, whose parameters
    /// `parameters` (JSON text) is a JSON schema: `{"type": "object", "properties": …}`.
    public init(name: String, description: String, parameters: String = #"{"type": "object", "properties": {}}"#) throws {
        let schema: Value
        do { schema = try Value(json: Data(parameters.utf8)) } catch {
            throw ChatFormatError("the parameters of tool '\(name)' are not JSON: \(error)")
        }
        try self.init(value: .dict(Value.Dictionary([
            ("type", .string("function")),
            ("function", .dict(Value.Dictionary([("name", .string(name)), ("description", .string(description)), ("parameters", schema)]))),
        ])))
    }

    init(value: Value) throws {
        guard case let .dict(object) = value else { throw ChatFormatError("a tool definition is not a JSON object") }
        var definition = object
        if object["function"] == nil {
            guard object["name"] != nil else { throw ChatFormatError("a tool definition has neither \"function\" nor \"name\"") }
            definition = Value.Dictionary([("type", .string("function")), ("function", value)])
        }
        guard case let .dict(function)? = definition["function"], case let .string(name)? = function["name"], !name.isEmpty else {
            throw ChatFormatError("a tool definition's \"function\" has no \"name\" string")
        }
        if let type = definition["type"], type.text != "function" {
            throw ChatFormatError("tool '\(name)' has type '\(type.text)'; only \"function\" tools are known")
        }
        self.name = name
        json = try Value.dict(definition).jsonText()
    }

    /// The definitions in a JSON document: a list of them, or an object holding the list
    /// under `"tools"`.
    public static func list(json data: Data) throws -> [ToolDefinition] {
        let value = try Value(json: data)
        switch value {
        case let .list(items): return try items.map(ToolDefinition.init(value:))
        case let .dict(object):
            guard case let .list(items)? = object["tools"] else { throw ChatFormatError("expected a list of tools, or an object with \"tools\"") }
            return try items.map(ToolDefinition.init(value:))
        default: throw ChatFormatError("expected a list of tools, or an object with \"tools\"")
        }
    }

    func value() throws -> Value { try Value(json: Data(json.utf8)) }
}

/// How a model writes the tools it calls into its reply, recognised from its chat
/// template's markup; ``parse(_:tools:)`` takes the calls out of a reply.
public enum ToolCallFormat: String, Sendable, CaseIterable {
    /// `<tool_call>{"name": …, "arguments": {…}}</tool_call>`, once per call: Hermes 2/3,
    /// Qwen 2.5 and Qwen 3, SmolLM3 and the many models trained on Hermes' format.
    case hermes
    /// Llama 3.1–3.3: the reply is a JSON object `{"name": …, "parameters": {…}}` (or
    /// several, separated by `;`), after an optional `<|python_tag|>`; the built-in tools
    /// of 3.1 as `<|python_tag|>brave_search.call(query="…")` (the tag, a special token, is
    /// usually not in the decoded text).
    case llama3
    /// Mistral: `[TOOL_CALLS]` then a JSON list of `{"name", "arguments", "id"}` (or,
    /// in the newer format, `[TOOL_CALLS]name[ARGS]{…}` per call).
    case mistral
    /// For a template that shows no tool format: Hermes' tags if the reply has them, else
    /// a reply that is nothing but a JSON object with `name` and `arguments` or `parameters`.
    case generic

    /// The format a chat template's source writes tool calls in.
    public init(recognizing templateSource: String) {
        if templateSource.contains("<tool_call>") {
            self = .hermes
        } else if templateSource.contains("[TOOL_CALLS]") {
            self = .mistral
        } else if templateSource.contains("<|python_tag|>") || (templateSource.contains("<|start_header_id|>") && templateSource.contains("parameters")) {
            self = .llama3
        } else {
            self = .generic
        }
    }

    /// The tool calls in `reply` and the text around them (trimmed). A reply whose calls
    /// do not parse as this format's JSON is all text, with no calls. `tools` are the
    /// definitions the model was given: a parameter written as bare text (Qwen 3.5's and
    /// Qwen3-Coder's `<parameter=…>`) stays text where its schema says `string`, and is
    /// read as JSON (`1`, `true`, `[…]`) where it parses as JSON otherwise.
    public func parse(_ reply: String, tools: [ToolDefinition] = []) -> (content: String, toolCalls: [ToolCall]) {
        switch self {
        case .hermes: return Self.parseTagged(reply, tools: tools) ?? (reply, [])
        case .llama3: return Self.parseLlama3(reply) ?? (reply, [])
        case .mistral: return Self.parseMistral(reply) ?? (reply, [])
        case .generic: return Self.parseTagged(reply, tools: tools) ?? Self.parseJSONObjects(reply, separator: ";") ?? (reply, [])
        }
    }

    // MARK: - Formats

    /// `<tool_call>` … `</tool_call>` blocks (the last may be cut off by the end of the
    /// reply), each one JSON object or one `<function=NAME>` block of
    /// `<parameter=KEY>\nVALUE\n</parameter>` (Qwen 3.5, Qwen3-Coder; the first
    /// `<tool_call>` may be missing before it); the text outside them is the content.
    static func parseTagged(_ reply: String, tools: [ToolDefinition]) -> (String, [ToolCall])? {
        let open = "<tool_call>", close = "</tool_call>", function = "<function="
        guard reply.contains(open) || reply.contains(function) else { return nil }
        var content = "", calls: [ToolCall] = []
        var rest = reply[...]
        while true {
            let tagged = rest.range(of: open), bare = calls.isEmpty ? rest.range(of: function) : nil
            let start: Range<Substring.Index>
            let body: Substring
            if let tagged, bare == nil || tagged.lowerBound <= bare!.lowerBound {
                start = tagged
                body = rest[tagged.upperBound...]
            } else if let bare {
                start = bare
                body = rest[bare.lowerBound...]
            } else {
                break
            }
            content += rest[..<start.lowerBound]
            let end = body.range(of: close)
            let inner = body[..<(end?.lowerBound ?? body.endIndex)]
            let trimmed = inner.drop { $0.isWhitespace }
            guard let call = trimmed.hasPrefix(function) ? xmlCall(trimmed, tools: tools) : toolCall(fromJSON: inner) else { return nil }
            calls.append(call)
            rest = end.map { body[$0.upperBound...] } ?? body[body.endIndex...]
        }
        content += rest
        return (content.trimmingCharacters(in: .whitespacesAndNewlines), calls)
    }

    /// `<function=NAME>` then `<parameter=KEY>\nVALUE\n</parameter>` per argument, then
    /// `</function>` (which a cut-off reply may lack).
    static func xmlCall(_ text: Substring, tools: [ToolDefinition]) -> ToolCall? {
        var rest = text.dropFirst("<function=".count)
        guard let nameEnd = rest.firstIndex(of: ">") else { return nil }
        let name = rest[..<nameEnd].trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty, !name.contains("<") else { return nil }
        rest = rest[rest.index(after: nameEnd)...]
        let schema = tools.first { $0.name == name }.flatMap { try? $0.value() }
        var pairs: [(String, Value)] = []
        while true {
            rest = rest.drop { $0.isWhitespace }
            if rest.isEmpty || rest.hasPrefix("</function>") { break }
            guard rest.hasPrefix("<parameter="), let keyEnd = rest.firstIndex(of: ">") else { return nil }
            let key = String(rest[rest.index(rest.startIndex, offsetBy: "<parameter=".count)..<keyEnd])
            rest = rest[rest.index(after: keyEnd)...]
            let valueEnd = rest.range(of: "</parameter>")
            var value = rest[..<(valueEnd?.lowerBound ?? rest.endIndex)]
            if value.hasPrefix("\n") { value = value.dropFirst() }
            if value.hasSuffix("\n") { value = value.dropLast() }
            pairs.append((key, typed(String(value), parameter: key, schema: schema)))
            guard let valueEnd else { break }
            rest = rest[valueEnd.upperBound...]
        }
        guard let arguments = try? Value.dict(Value.Dictionary(pairs)).jsonText() else { return nil }
        return ToolCall(name: name, arguments: arguments)
    }

    /// A parameter written as text: text where the tool's schema says `string`, else its
    /// JSON value if it is JSON.
    static func typed(_ text: String, parameter: String, schema: Value?) -> Value {
        if case let .dict(definition)? = schema, case let .dict(function)? = definition["function"],
            case let .dict(parameters)? = function["parameters"], case let .dict(properties)? = parameters["properties"],
            case let .dict(property)? = properties[parameter], property["type"]?.text == "string"
        {
            return .string(text)
        }
        return (try? Value(json: Data(text.utf8))) ?? .string(text)
    }

    static func parseLlama3(_ reply: String) -> (String, [ToolCall])? {
        // `<|python_tag|>` is a special token: decoded replies usually come without it.
        var text = reply.trimmingCharacters(in: .whitespacesAndNewlines)[...]
        if text.hasPrefix("<|python_tag|>") { text = text.dropFirst("<|python_tag|>".count) }
        if let call = builtInCall(text.trimmingCharacters(in: .whitespacesAndNewlines)) { return ("", [call]) }
        return parseJSONObjects(String(text), separator: ";")
    }

    static func parseMistral(_ reply: String) -> (String, [ToolCall])? {
        guard let marker = reply.range(of: "[TOOL_CALLS]") else { return nil }
        let content = reply[..<marker.lowerBound].trimmingCharacters(in: .whitespacesAndNewlines)
        let rest = reply[marker.upperBound...].trimmingCharacters(in: .whitespacesAndNewlines)
        if rest.hasPrefix("[") {
            guard case let .list(items)? = try? Value(json: Data(rest.utf8)) else { return nil }
            var calls: [ToolCall] = []
            for item in items {
                guard let call = toolCall(from: item) else { return nil }
                calls.append(call)
            }
            return (content, calls)
        }
        // name[ARGS]{…}[TOOL_CALLS]name[ARGS]{…}
        var calls: [ToolCall] = []
        for part in rest.components(separatedBy: "[TOOL_CALLS]") {
            guard let args = part.range(of: "[ARGS]") else { return nil }
            let name = part[..<args.lowerBound].trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty, let arguments = jsonObjectText(part[args.upperBound...]) else { return nil }
            calls.append(ToolCall(name: name, arguments: arguments))
        }
        return (content, calls)
    }

    /// A reply that is nothing but JSON objects naming functions, separated by
    /// `separator` or whitespace.
    static func parseJSONObjects(_ reply: String, separator: Character) -> (String, [ToolCall])? {
        var rest = reply.trimmingCharacters(in: .whitespacesAndNewlines)[...]
        guard rest.first == "{" else { return nil }
        var calls: [ToolCall] = []
        while !rest.isEmpty {
            guard let end = jsonObjectEnd(rest), let call = toolCall(fromJSON: rest[..<end]) else { return nil }
            calls.append(call)
            rest = rest[end...].drop { $0.isWhitespace || $0 == separator }
        }
        return ("", calls)
    }

    /// `name.call(key="value", n=1)`, Llama 3.1's built-in tools.
    static func builtInCall(_ text: String) -> ToolCall? {
        guard let dot = text.range(of: ".call("), text.hasSuffix(")") else { return nil }
        let name = String(text[..<dot.lowerBound])
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { return nil }
        var body = text[dot.upperBound..<text.index(before: text.endIndex)]
        var pairs: [(String, Value)] = []
        while true {
            body = body.drop(while: { $0.isWhitespace || $0 == "," })
            if body.isEmpty { break }
            guard let equals = body.firstIndex(of: "=") else { return nil }
            let key = body[..<equals].trimmingCharacters(in: .whitespaces)
            body = body[body.index(after: equals)...].drop(while: \.isWhitespace)
            let valueEnd: Substring.Index
            if let quote = body.first, quote == "\"" || quote == "'" {
                guard let close = body.dropFirst().firstIndex(of: quote) else { return nil }
                pairs.append((key, .string(String(body[body.index(after: body.startIndex)..<close]))))
                valueEnd = body.index(after: close)
            } else {
                valueEnd = body.firstIndex(of: ",") ?? body.endIndex
                let literal = body[..<valueEnd].trimmingCharacters(in: .whitespaces)
                pairs.append((key, (try? Value(json: Data(literal.utf8))) ?? .string(literal)))
            }
            body = body[valueEnd...]
        }
        guard let arguments = try? Value.dict(Value.Dictionary(pairs)).jsonText() else { return nil }
        return ToolCall(name: name, arguments: arguments)
    }

    // MARK: - JSON

    static func toolCall(fromJSON text: Substring) -> ToolCall? {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let value = try? Value(json: Data(trimmed.utf8)) else { return nil }
        return toolCall(from: value)
    }

    /// `{"name", "arguments" | "parameters", "id"?}`, or OpenAI's `{"type": "function",
    /// "function": {…}}`.
    static func toolCall(from value: Value) -> ToolCall? {
        guard case var .dict(object) = value else { return nil }
        let id = object["id"].flatMap { if case let .string(s) = $0 { return s } else { return nil } }
        if case let .dict(function)? = object["function"] { object = function }
        guard case let .string(name)? = object["name"], !name.isEmpty else { return nil }
        let arguments: String
        switch object["arguments"] ?? object["parameters"] {
        case nil, .none?: arguments = "{}"
        case let .string(text)?: arguments = text
        case let other?:
            guard let text = try? other.jsonText() else { return nil }
            arguments = text
        }
        return ToolCall(id: id, name: name, arguments: arguments)
    }

    /// The JSON text of the object at the start of `text`, if one is there.
    static func jsonObjectText(_ text: Substring) -> String? {
        let trimmed = text.drop(while: \.isWhitespace)
        guard let end = jsonObjectEnd(trimmed) else { return nil }
        return String(trimmed[..<end])
    }

    /// Where the JSON object that `text` starts with ends (past its closing brace):
    /// braces and brackets counted outside strings.
    static func jsonObjectEnd(_ text: Substring) -> Substring.Index? {
        guard text.first == "{" else { return nil }
        var depth = 0, inString = false, escaped = false
        var index = text.startIndex
        while index < text.endIndex {
            let c = text[index]
            if inString {
                if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { inString = false }
            } else if c == "\"" {
                inString = true
            } else if c == "{" || c == "[" {
                depth += 1
            } else if c == "}" || c == "]" {
                depth -= 1
                if depth == 0 { return text.index(after: index) }
            }
            index = text.index(after: index)
        }
        return nil
    }
}
