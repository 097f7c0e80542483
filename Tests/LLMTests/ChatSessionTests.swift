import Foundation
import LLM
import TensorCore
import Testing
import TestSupport
import Tokenizers

/// Chat sessions keep their KV cache between turns.
struct ChatSessionTests {
    static func turn(_ session: ChatSession, _ message: String) async throws -> (String, GenerationInfo) {
        try await turn(session, .user(message))
    }

    /// Sends `message` and collects the reply's text and summary.
    static func turn(_ session: ChatSession, _ message: ChatMessage) async throws -> (String, GenerationInfo) {
        var text = ""
        var info: GenerationInfo?
        for try await event in await session.streamResponse(to: message) {
            if let chunk = event.chunk { text += chunk }
            if let summary = event.info { info = summary }
        }
        return (text, try #require(info))
    }

    @Test func aFollowUpProcessesOnlyTheNewTokens() async throws {
        let model = try ModelLoader.load(from: Fixtures.url("models/llama-mha"), backend: NaiveBackend())
        var parameters = GenerateParameters.greedy
        parameters.maxTokens = 6
        let session = try ChatSession(model: model, template: .chatml, systemPrompt: "Be brief.", parameters: parameters)
        let (first, firstInfo) = try await Self.turn(session, "The little cat")
        #expect(firstInfo.processedPromptTokenCount == firstInfo.promptTokens.count)
        let (second, secondInfo) = try await Self.turn(session, "watched the moon")
        // Only the tokens after what the cache already holds were processed.
        #expect(secondInfo.processedPromptTokenCount < secondInfo.promptTokens.count / 2)
        #expect(await session.messages.count == 5)

        // The same conversation in a fresh session, processed from scratch, gives the same reply.
        let fresh = try ChatSession(model: model, template: .chatml, systemPrompt: "Be brief.", parameters: parameters)
        _ = try await Self.turn(fresh, "The little cat")
        let (again, _) = try await Self.turn(fresh, "watched the moon")
        #expect(again == second)
        #expect(!first.isEmpty || firstInfo.generatedTokens.count > 0)

        await session.reset(systemPrompt: nil)
        #expect(await session.messages.isEmpty)
    }

    /// A model file with a template for tools apart (as Hermes' `tool_use`) is prompted
    /// with it while the session has tools, and with its default template otherwise.
    @Test func toolsSwitchToTheFilesToolTemplate() async throws {
        let loaded = try ModelLoader.load(from: Fixtures.url("models/llama-mha"), backend: NaiveBackend())
        let model = LanguageModel(
            model: loaded.model, tokenizer: loaded.tokenizer, chatTemplateSource: "{% for m in messages %}{{ m.content }}{% endfor %}",
            toolUseChatTemplateSource: "{{ tools[0].function.name }}:{% for m in messages %}{{ m.content }}{% endfor %}", name: "hermes-like")
        var parameters = GenerateParameters.greedy
        parameters.maxTokens = 1
        let session = try ChatSession(model: model, parameters: parameters)
        let tokenizer = try model.requireTokenizer()
        let lookup = try ToolDefinition(name: "lookup", description: "Looks a word up")
        #expect(try session.format.render([.user("The little cat")]) == "The little cat")
        #expect(try session.toolFormat.render([.user("The little cat")], tools: [lookup]) == "lookup:The little cat")
        let (_, plain) = try await Self.turn(session, "The little cat")
        #expect(plain.promptTokens == (try session.format.promptTokens(for: [.user("The little cat")], tokenizer: tokenizer)))
        await session.setTools([lookup])
        await session.reset()
        let (_, withTools) = try await Self.turn(session, "The little cat")
        #expect(withTools.promptTokens == (try session.toolFormat.promptTokens(for: [.user("The little cat")], tools: [lookup], tokenizer: tokenizer)))
        #expect(withTools.promptTokens != plain.promptTokens)
        // A format the caller chooses is used with tools too.
        let chosen = try ChatSession(model: model, template: .chatml)
        #expect(chosen.toolFormat.builtIn == .chatml)
    }

    /// A message whose prompt is stopped while it is processed (Ctrl-C in `llama chat`)
    /// is not answered and leaves the conversation as it was; the next one goes on.
    @Test func aMessageStoppedDuringItsPromptLeavesNoTrace() async throws {
        let loaded = try ModelLoader.load(from: Fixtures.url("models/llama-mha"), backend: NaiveBackend())
        let hooked = PromptCancellationTests.HookedModel(loaded.model)
        let model = LanguageModel(model: hooked, tokenizer: loaded.tokenizer, chatTemplateSource: nil, name: "hooked")
        var parameters = GenerateParameters.greedy
        parameters.prefillStepSize = 4
        parameters.maxTokens = 3
        parameters.context = 128
        let session = try ChatSession(model: model, template: .chatml, systemPrompt: "Be brief.", parameters: parameters)
        hooked.hook = { withUnsafeCurrentTask { $0?.cancel() } }
        let (_, stopped) = try await Self.turn(session, "The little cat watched the moon")
        #expect(stopped.stopReason == .cancelled && stopped.generatedTokens.isEmpty && stopped.processedPromptTokenCount == 4)
        #expect(await session.messages == [.system("Be brief.")])
        hooked.hook = {}
        let (_, next) = try await Self.turn(session, "Hello")
        #expect(next.stopReason != .cancelled && next.processedPromptTokenCount < next.promptTokens.count)
        #expect(await session.messages.count == 3)
    }

    @Test func templatesRenderThePublishedFormats() {
        let messages: [ChatMessage] = [.system("S"), .user("Hi"), .assistant("Hello"), .user("Bye")]
        #expect(ChatTemplate.chatml.render(messages) == "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n")
        #expect(ChatTemplate.llama2.render(messages) == "<s>[INST] <<SYS>>\nS\n<</SYS>>\n\nHi [/INST] Hello </s><s>[INST] Bye [/INST]")
        #expect(ChatTemplate.gemma.render(messages) == "<bos><start_of_turn>user\nS\n\nHi<end_of_turn>\n<start_of_turn>model\nHello<end_of_turn>\n<start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n")
        #expect(ChatTemplate.mistral.render(messages) == "<s>[INST] S\n\nHi [/INST]Hello</s>[INST] Bye [/INST]")
        #expect(ChatTemplate(recognizing: "{{ '<start_of_turn>' + role }}") == .gemma)
        #expect(ChatTemplate(recognizing: "{% for m in messages %}<|im_start|>") == .chatml)
        #expect(ChatTemplate(recognizing: "[INST] <<SYS>>") == .llama2)
        #expect(ChatTemplate(recognizing: "{{ bos_token }}[INST]") == .mistral)
        #expect(ChatTemplate(recognizing: "something else") == nil)
        #expect(throws: TokenizerError.self) { try ChatTemplate.named("alpaca") }
    }
}
