import Foundation
import LLM
import TensorCore
import Testing
import TestSupport
import Tokenizers

/// Chat sessions keep their KV cache between turns.
struct ChatSessionTests {
    static func turn(_ session: ChatSession, _ message: String) async throws -> (String, GenerationInfo) {
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
