import Foundation
import Jinja
import LLM
import Testing
import TestSupport
import Tokenizers

/// Conversations as the library's types (``ChatMessage``, ``ToolCall``,
/// ``ToolDefinition``) rendered through ``ChatFormat`` with llama.cpp's 70 real
/// templates, against jinja2 given the same conversations as JSON
/// (`Scripts/generate_chat_template_references.py`); and tool calls in the formats the
/// templates write, parsed back.
struct ChatFormatTests {
    static let folder = Fixtures.cacheFolder.appendingPathComponent("llama-cpp-templates")
    static let templates = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasSuffix(".jinja") }.sorted()
    static let conversations: Value.Dictionary = {
        guard case let .dict(d)? = try? Value(json: Fixtures.data("chat-templates/conversations.json")) else { return Value.Dictionary() }
        return d
    }()
    static let expected: Value.Dictionary = {
        guard case let .dict(d)? = try? Value(json: Fixtures.data("chat-templates/llama-cpp-0c1e570-expected.json")) else { return Value.Dictionary() }
        return d
    }()
    static let now = Fixtures.chatTemplateReferenceTime

    static func source(_ name: String) throws -> String {
        try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
    }

    /// A conversation of the fixture as the library's values: messages through their
    /// `Codable` (OpenAI's) form, a tool call's arguments object as its JSON text.
    static func conversation(_ name: String) throws -> (messages: [ChatMessage], tools: [ToolDefinition], generationPrompt: Bool) {
        guard case let .dict(c)? = conversations[name], case let .list(list)? = c["messages"] else { throw CocoaError(.fileReadCorruptFile) }
        var messages: [ChatMessage] = []
        for case let .dict(m) in list {
            var message = ChatMessage(role: ChatMessage.Role(rawValue: m["role"]!.text)!, content: m["content"]?.text ?? "")
            if case let .list(calls)? = m["tool_calls"] {
                for case let .dict(call) in calls {
                    guard case let .dict(function)? = call["function"] else { continue }
                    message.toolCalls.append(ToolCall(id: call["id"]?.text, name: function["name"]!.text, arguments: try function["arguments"]!.jsonText()))
                }
            }
            message.toolCallID = m["tool_call_id"]?.text
            message.name = m["name"]?.text
            messages.append(message)
        }
        var tools: [ToolDefinition] = []
        if let list = c["tools"] { tools = try ToolDefinition.list(json: Data(list.jsonText().utf8)) }
        return (messages, tools, c["add_generation_prompt"]?.isTrue ?? true)
    }

    @Test func everyTemplateAndConversationIsThere() {
        #expect(Self.templates.count == 70, "run Scripts/fetch-llama-cpp-vocabularies.sh")
        #expect(Self.conversations.count == 6)
    }

    @Test(arguments: templates)
    func rendersAsJinja2(template name: String) throws {
        guard case let .dict(expected)? = Self.expected[name] else { Issue.record("\(name): no reference"); return }
        if expected["parse_error"] != nil {
            #expect(throws: (any Error).self) { _ = try ChatFormat(templateSource: Self.source(name)) }
            return
        }
        let format = try ChatFormat(templateSource: Self.source(name))
        for (key, _) in Self.conversations.pairs {
            let (messages, tools, generationPrompt) = try Self.conversation(key.text)
            func render() throws -> String {
                try format.render(messages, tools: tools, addGenerationPrompt: generationPrompt, bosToken: "<s>", eosToken: "</s>", now: Self.now)
            }
            switch expected[key.text] {
            case let .string(text)?: #expect(try render() == text, "\(name) \(key.text)")
            case .dict?: #expect(throws: JinjaError.self, "\(name) \(key.text): jinja2 raised") { _ = try render() }
            default: Issue.record("\(name) \(key.text): no reference")
            }
        }
    }

    /// The tool formats recognised in the templates of the families that call tools.
    @Test func toolCallFormatsAreRecognised() throws {
        let expected: [String: ToolCallFormat] = [
            "Qwen-Qwen2.5-7B-Instruct.jinja": .hermes, "Qwen-Qwen3-0.6B.jinja": .hermes, "Qwen-QwQ-32B.jinja": .hermes,
            "NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja": .hermes, "NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use.jinja": .hermes,
            "meta-llama-Llama-3.1-8B-Instruct.jinja": .llama3, "meta-llama-Llama-3.2-3B-Instruct.jinja": .llama3,
            "meta-llama-Llama-3.3-70B-Instruct.jinja": .llama3, "mistralai-Mistral-Nemo-Instruct-2407.jinja": .mistral,
            "HuggingFaceTB-SmolLM3-3B.jinja": .generic,
        ]
        for (name, format) in expected {
            #expect(try ChatFormat(templateSource: Self.source(name)).toolCallFormat == format, "\(name)")
        }
    }

    /// What a template writes for an assistant's tool call, as the model is trained to
    /// write it, parses back into the call: the reply is the rendering of
    /// [user, assistant with the call] past the rendering of [user] with the generation
    /// prompt, without the turn's closing marker (a special token that ends generation).
    @Test(arguments: [
        "Qwen-Qwen2.5-7B-Instruct.jinja", "Qwen-Qwen3-0.6B.jinja", "Qwen3.5-4B.jinja", "Qwen3-Coder.jinja", "NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja",
        "NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use.jinja", "meta-llama-Llama-3.1-8B-Instruct.jinja",
        "meta-llama-Llama-3.2-3B-Instruct.jinja", "meta-llama-Llama-3.3-70B-Instruct.jinja", "mistralai-Mistral-Nemo-Instruct-2407.jinja",
    ])
    func toolCallsTheTemplatesWriteParseBack(template name: String) throws {
        let format = try ChatFormat(templateSource: Self.source(name))
        let (messages, tools, _) = try Self.conversation("tool_call")
        let call = messages[1]
        #expect(call.toolCalls.count == 1)
        let asked = try format.render([messages[0]], tools: tools, addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", now: Self.now)
        let answered = try format.render(Array(messages[0...1]), tools: tools, addGenerationPrompt: false, bosToken: "<s>", eosToken: "</s>", now: Self.now)
        try #require(answered.hasPrefix(asked), "\(name): the reply does not continue the prompt")
        var reply = String(answered.dropFirst(asked.count))
        for marker in ["<|im_end|>", "<|eot_id|>", "<|eom_id|>", "</s>", "<|end_of_text|>"] {
            reply = reply.trimmingCharacters(in: .whitespacesAndNewlines)
            if reply.hasSuffix(marker) { reply.removeLast(marker.count) }
        }
        let (content, calls) = format.toolCallFormat.parse(reply, tools: tools)
        // Qwen 3 and 3.5 write an empty reasoning block (or its end) before the calls; it stays in the text.
        let reasoning = content.replacingOccurrences(of: "<think>", with: "").replacingOccurrences(of: "</think>", with: "")
        #expect(reasoning.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(name): \(reply)")
        #expect(calls.map(\.name) == ["get_weather"], "\(name): \(reply)")
        #expect(calls.first?.arguments == #"{"city": "Paris"}"#, "\(name): \(reply)")
    }

    @Test func toolCallsAreParsedFromReplies() throws {
        let hermes = ToolCallFormat.hermes.parse(
            "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"get_time\", \"arguments\": {}}")
        #expect(hermes.content == "Let me check.")
        #expect(hermes.toolCalls == [ToolCall(name: "get_weather", arguments: #"{"city": "Paris"}"#), ToolCall(name: "get_time", arguments: "{}")])

        let llama = ToolCallFormat.llama3.parse(#"{"type": "function", "name": "get_weather", "parameters": {"city": "Paris"}}; {"name": "get_time", "parameters": {"zone": "CET"}}"#)
        #expect(llama.toolCalls.map(\.name) == ["get_weather", "get_time"])
        #expect(llama.toolCalls.last?.arguments == #"{"zone": "CET"}"#)
        let builtIn = ToolCallFormat.llama3.parse(#"<|python_tag|>brave_search.call(query="weather in Paris", count=3)"#)
        #expect(builtIn.toolCalls == [ToolCall(name: "brave_search", arguments: #"{"query": "weather in Paris", "count": 3}"#)])
        #expect(ToolCallFormat.llama3.parse(#"wolfram_alpha.call(query='2+2')"#).toolCalls == [ToolCall(name: "wolfram_alpha", arguments: #"{"query": "2+2"}"#)])
        #expect(ToolCallFormat.llama3.parse("Call me at 5.call(now)").toolCalls.isEmpty)

        // Qwen 3.5 / Qwen3-Coder: XML parameters, typed by the tool's schema (llama.cpp's test-chat.cpp cases).
        let schema = try ToolDefinition(
            name: "edit", description: "Edits a file",
            parameters: #"{"type": "object", "properties": {"filename": {"type": "string"}, "line": {"type": "integer"}, "code": {"type": "string"}}}"#)
        let xml = ToolCallFormat.hermes.parse(
            "Let me call it.\n<function=edit>\n<parameter=filename>\n1.c\n</parameter>\n<parameter=line>\n12\n</parameter>\n<parameter=code>\n#include\n\n</parameter>\n</function>\n</tool_call>\n<tool_call>\n<function=special_function>\n<parameter=arg1>\n1\n</parameter>\n</function>\n</tool_call>",
            tools: [schema])
        #expect(xml.content == "Let me call it.")
        #expect(xml.toolCalls == [
            ToolCall(name: "edit", arguments: ##"{"filename": "1.c", "line": 12, "code": "#include\n"}"##),
            ToolCall(name: "special_function", arguments: #"{"arg1": 1}"#),
        ])

        let mistral = ToolCallFormat.mistral.parse(#"[TOOL_CALLS][{"name": "get_weather", "arguments": {"city": "Paris"}, "id": "a1b2c3d4e"}]"#)
        #expect(mistral.toolCalls == [ToolCall(id: "a1b2c3d4e", name: "get_weather", arguments: #"{"city": "Paris"}"#)])
        let newer = ToolCallFormat.mistral.parse(#"[TOOL_CALLS]get_weather[ARGS]{"city": "Paris"}"#)
        #expect(newer.toolCalls == [ToolCall(name: "get_weather", arguments: #"{"city": "Paris"}"#)])

        // Text that only looks like a call stays text.
        for format in ToolCallFormat.allCases {
            let prose = "Use {braces} freely; <tool_call> is a tag name."
            #expect(format.parse(prose).toolCalls.isEmpty && format.parse(prose).content == prose, "\(format)")
        }
        #expect(ToolCallFormat.llama3.parse(#"{"name": "f", "parameters": {"x": 1}} and then some prose"#).toolCalls.isEmpty)
        #expect(ToolCallFormat.generic.parse(#"{"name": "get_time", "arguments": {}}"#).toolCalls.map(\.name) == ["get_time"])
    }

    @Test func toolDefinitionsAreReadAndChecked() throws {
        let bare = try ToolDefinition(json: Data(#"{"name": "f", "description": "d", "parameters": {"type": "object"}}"#.utf8))
        #expect(bare.json == #"{"type": "function", "function": {"name": "f", "description": "d", "parameters": {"type": "object"}}}"#)
        let made = try ToolDefinition(name: "f", description: "d", parameters: #"{"type": "object"}"#)
        #expect(made == bare)
        #expect(throws: ChatFormatError.self) { try ToolDefinition(json: Data(#"{"type": "function", "function": {}}"#.utf8)) }
        #expect(throws: ChatFormatError.self) { try ToolDefinition(json: Data(#"{"type": "retrieval", "function": {"name": "f"}}"#.utf8)) }
        #expect(throws: ChatFormatError.self) { try ToolDefinition.list(json: Data("42".utf8)) }
        #expect(throws: ChatFormatError.self) { try ToolDefinition(name: "f", description: "d", parameters: "{not json") }
    }

    /// OpenAI's message JSON in and out, tool calls included.
    @Test func messagesCodeAsOpenAIMessages() throws {
        let json = #"{"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]}"#
        let message = try JSONDecoder().decode(ChatMessage.self, from: Data(json.utf8))
        #expect(message == .assistant("", toolCalls: [ToolCall(id: "call_1", name: "get_weather", arguments: #"{"city": "Paris"}"#)]))
        #expect(try message.toolCalls[0].decodeArguments(as: [String: String].self) == ["city": "Paris"])
        let again = try JSONDecoder().decode(ChatMessage.self, from: JSONEncoder().encode(message))
        #expect(again == message)
        let tool = try JSONDecoder().decode(ChatMessage.self, from: Data(#"{"role": "tool", "tool_call_id": "call_1", "content": "18"}"#.utf8))
        #expect(tool == .tool("18", callID: "call_1"))
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(ChatMessage.self, from: Data(#"{"role": "wizard", "content": ""}"#.utf8)) }
    }
}
