import BLASBackend
import Foundation
import LLM
import TensorCore
import Testing
import TestSupport

/// One model shared by several generations and two chat sessions at the same time: every
/// one of them gives the text it gives when it runs alone (greedy decoding). They share the
/// weights, the backend's scratch buffers, its thread pool and OpenBLAS; each has its own
/// inference state. `make tsan` runs this suite under ThreadSanitizer.
///
/// The model is the tiny `llama-mha` fixture on the OpenBLAS backend with 2 threads, in
/// `f32` (its prompts of 16 tokens and more go through `cblas_sgemm`, its attention through
/// the block kernels) and `Q8_0` (integer matrix products and fused dots). The prompts are
/// of several lengths so that prompt processing and decoding of different sequences run at
/// once.
///
/// The task group's children return a struct, not the tuple `(String, Result<String, Error>)`
/// of the client in the crash report this test comes from: with Swift 6.3.1 on Linux, a task
/// group of that tuple type built with `-O` can return no results, then crash ("pure virtual
/// method called", or SIGSEGV while a child's result is copied), in a program that does not
/// use this library at all (a child that calls an async function with a non-suspending
/// return path and one that sleeps is enough). A struct of the same two fields does not.
struct ConcurrentGenerationTests {
    struct Outcome: Sendable {
        let prompt: String
        let text: Result<String, Error>
    }

    static let prompts = [
        "The little cat",
        "Once upon a time there was a small boat that sailed on the sea every morning",
        "A",
        "The moon rose over the hills and the river, and the birds in the tall trees sang to the children who walked home",
    ]
    static let conversations = [
        ["The little cat", "watched the moon"],
        ["Tell me about the sea and the boats on it", "And the birds?"],
    ]
    static let rounds = 3

    static func load(_ file: String) throws -> LanguageModel {
        let backend = try BLASBackend(configuration: BackendConfiguration(threadCount: 2))
        return try ModelLoader.load(from: Fixtures.url("models/llama-mha/\(file)"), backend: backend)
    }

    static var parameters: GenerateParameters {
        var parameters = GenerateParameters.greedy
        parameters.maxTokens = 24
        // Every generation runs its whole budget: the longer they overlap, the better.
        parameters.stopAtEndOfSequence = false
        return parameters
    }

    /// The replies of a fresh chat session to `messages`, one turn after another.
    static func converse(_ model: LanguageModel, _ messages: [String]) async throws -> [String] {
        let session = try ChatSession(model: model, template: .chatml, systemPrompt: "Be brief.", parameters: parameters)
        var replies: [String] = []
        for message in messages { replies.append(try await session.respond(to: message)) }
        return replies
    }

    @Test(arguments: ["model-f32.gguf", "model-q8_0.gguf"])
    func generationsAndChatSessionsOnOneModelMatchTheirRunsAlone(file: String) async throws {
        let model = try Self.load(file)
        let parameters = Self.parameters

        // Alone, one after another.
        var expected: [String: String] = [:]
        for prompt in Self.prompts {
            expected[prompt] = try await model.generateText(prompt: prompt, parameters: parameters).text
        }
        var expectedReplies: [[String]] = []
        for conversation in Self.conversations { expectedReplies.append(try await Self.converse(model, conversation)) }
        #expect(expected.values.allSatisfy { !$0.isEmpty })

        // All at once, a few rounds.
        for _ in 0..<Self.rounds {
            async let replies0 = Self.converse(model, Self.conversations[0])
            async let replies1 = Self.converse(model, Self.conversations[1])
            let results = await withTaskGroup(of: Outcome.self) { group in
                for prompt in Self.prompts {
                    group.addTask {
                        do {
                            let text = try await model.generateText(prompt: prompt, parameters: parameters).text
                            return Outcome(prompt: prompt, text: .success(text))
                        } catch {
                            return Outcome(prompt: prompt, text: .failure(error))
                        }
                    }
                }
                var results: [Outcome] = []
                for await result in group { results.append(result) }
                return results
            }
            #expect(results.count == Self.prompts.count)
            for result in results {
                #expect(try result.text.get() == expected[result.prompt], "prompt \(result.prompt)")
            }
            #expect(try await replies0 == expectedReplies[0])
            #expect(try await replies1 == expectedReplies[1])
        }
    }
}
