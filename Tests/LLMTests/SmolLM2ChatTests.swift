import Foundation
import LLM
import Testing
import TestSupport
import Tokenizers

/// Chat sessions with SmolLM2-135M-Instruct and its own Jinja template: the prompts
/// are llama.cpp's (`Tests/Fixtures/smollm2/reference.json`), the cache is reused
/// across turns without changing a reply (each is the greedy continuation of its whole
/// prompt processed afresh), a conversation that outgrows the context loses its oldest turns, and
/// tool definitions and answers reach the prompt through a tool-calling template.
/// Skipped, saying so, when the model is not in the cache (see ``SmolLM2Tests``).
struct SmolLM2ChatTests {
    static let enabled = SmolLM2Tests.modelURL != nil

    static func turn(_ session: ChatSession, _ message: ChatMessage) async throws -> (String, GenerationInfo) {
        try await ChatSessionTests.turn(session, message)
    }

    static func reference(_ name: String) throws -> SmolLM2Tests.Reference.Prompt {
        try #require(SmolLM2Tests.reference.prompts.first { $0.name == name })
    }

    @Test(.enabled(if: enabled, "SmolLM2-135M-Instruct is not in the cache"))
    func sessionsGiveLlamaCppsPromptsAndReuseTheCache() async throws {
        let model = try SmolLM2Tests.load("blas")
        var parameters = GenerateParameters.greedy
        parameters.maxTokens = 40
        let session = try ChatSession(model: model, parameters: parameters)
        #expect(session.format.builtIn == nil, "the file's Jinja template")

        // The reply to a prompt processed from scratch, with nothing in the cache.
        func fresh(_ prompt: [Int]) async throws -> [Int] {
            try await model.generateText(promptTokens: prompt, parameters: parameters).1.generatedTokens
        }

        let single = try Self.reference("chat_single_turn")
        let (reply, first) = try await Self.turn(session, .user("What is the capital of France?"))
        #expect(first.promptTokens == single.ids)
        #expect(reply == "The capital of France is Paris.")

        // A conversation restored from its messages, continued: llama.cpp's prompt and greedy reply.
        let multi = try Self.reference("chat_multi_turn")
        let messages = try #require(multi.messages)
        await session.replaceMessages(with: Array(messages.dropLast()))
        let (_, second) = try await Self.turn(session, try #require(messages.last))
        #expect(second.promptTokens == multi.ids)
        #expect(second.processedPromptTokenCount < second.promptTokens.count, "the default system message was cached")
        #expect(try await second.generatedTokens == fresh(multi.ids))

        // A follow-up processes only what the cache does not hold, and replies as from scratch.
        let (_, third) = try await Self.turn(session, .user("Thanks! And what is my name again?"))
        #expect(third.processedPromptTokenCount < third.promptTokens.count / 3)
        #expect(try await third.generatedTokens == fresh(third.promptTokens))
        #expect(await session.messages.count == 6)
    }

    @Test(.enabled(if: enabled, "SmolLM2-135M-Instruct is not in the cache"))
    func theOldestTurnsGoWhenTheContextIsFull() async throws {
        let model = try SmolLM2Tests.load("blas")
        var parameters = GenerateParameters.greedy
        parameters.maxTokens = 24
        parameters.context = 160
        let session = try ChatSession(model: model, systemPrompt: "Be brief.", parameters: parameters)
        let questions = ["Tell me about Paris.", "Tell me about Rome.", "Tell me about Berlin.", "Tell me about Madrid.", "Tell me about Lisbon."]
        var dropped = 0
        for question in questions {
            let (_, info) = try await Self.turn(session, .user(question))
            #expect(info.promptTokens.count + parameters.maxTokens <= 160)
            dropped += await session.droppedMessageCount
        }
        #expect(dropped >= 2)
        let messages = await session.messages
        #expect(messages.first == .system("Be brief."))
        #expect(messages.dropFirst().first?.role == .user, "whole turns are dropped")
        #expect(messages.dropLast().last == .user("Tell me about Lisbon."))
        #expect(messages.count == 1 + 2 * questions.count - dropped)

        // A message that cannot fit even alone is refused, and the conversation is unchanged.
        let long = String(repeating: "Paris Rome Berlin ", count: 60)
        await #expect(throws: ModelError.self) { _ = try await Self.turn(session, .user(long)) }
        #expect(await session.messages == messages)
    }

    /// Qwen 2.5's template (a tool-calling one, whose markup SmolLM2's vocabulary
    /// shares) shows the tools and the tool's answer to the model.
    @Test(.enabled(if: enabled, "SmolLM2-135M-Instruct is not in the cache"))
    func toolDefinitionsAndAnswersReachThePrompt() async throws {
        let model = try SmolLM2Tests.load("blas")
        let tokenizer = try model.requireTokenizer()
        let qwen = try ChatFormat(templateSource: ChatFormatTests.source("Qwen-Qwen2.5-7B-Instruct.jinja"))
        let weather = try ToolDefinition(
            name: "get_weather", description: "Current weather for a city",
            parameters: #"{"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}"#)
        var parameters = GenerateParameters.greedy
        parameters.maxTokens = 8
        let session = try ChatSession(model: model, format: qwen, tools: [weather], parameters: parameters)
        #expect(session.format.toolCallFormat == .hermes)
        let (_, first) = try await Self.turn(session, .user("What's the weather in Paris?"))
        #expect(try tokenizer.decode(first.promptTokens).contains("<tools>\n" + weather.json + "\n</tools>"))

        let call = ToolCall(id: "call_1", name: "get_weather", arguments: #"{"city": "Paris"}"#)
        await session.replaceMessages(with: [.user("What's the weather in Paris?"), .assistant("", toolCalls: [call])])
        let (_, second) = try await Self.turn(session, .tool(#"{"temperature": 18}"#, callID: "call_1", name: "get_weather"))
        let rendered = try qwen.render(
            [.user("What's the weather in Paris?"), .assistant("", toolCalls: [call]), .tool(#"{"temperature": 18}"#, callID: "call_1", name: "get_weather")],
            tools: [weather])
        #expect(rendered.contains(#"<tool_call>\#n{"name": "get_weather", "arguments": {"city": "Paris"}}\#n</tool_call>"#))
        #expect(rendered.hasSuffix("<tool_response>\n{\"temperature\": 18}\n</tool_response><|im_end|>\n<|im_start|>assistant\n"))
        #expect(second.promptTokens == tokenizer.encode(rendered, options: EncodingOptions(addBOS: false, addEOS: false, parseSpecialTokens: true)))
    }
}
