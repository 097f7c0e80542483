import Foundation
import LLM
import Testing
import TestSupport
import Tokenizers

/// Continuous batching with SmolLM2-135M-Instruct: requests that run together give the
/// greedy text each gives alone, a prompt that begins with what a free slot holds reuses
/// it, cancelling frees the slot, a full queue refuses, JSON output parses, and
/// log-probabilities agree with the logits. Skipped, saying so, when the model is not in
/// the cache (see ``SmolLM2Tests``).
struct BatchSchedulerTests {
    static let enabled = SmolLM2Tests.modelURL != nil

    static let questions = [
        "What is the capital of France?", "Name three colours.", "Write one sentence about the sea.",
        "What is 2 + 2?", "Say hello in Spanish.",
    ]

    static func prompt(_ model: LanguageModel, _ question: String) throws -> [Int] {
        try #require(try model.chatPromptTokens([.user(question)]))
    }

    /// The tokens, text and completion of one request.
    static func collect(_ stream: BatchScheduler.Request) async throws
        -> (tokens: [GeneratedToken], text: String, completion: BatchScheduler.Completion)
    {
        var tokens: [GeneratedToken] = [], text = "", completion: BatchScheduler.Completion?
        for try await event in stream {
            switch event {
            case let .token(token):
                tokens.append(token)
                text += token.text
            case let .finished(done):
                completion = done
                text += done.trailingText
            }
        }
        return (tokens, text, try #require(completion))
    }

    @Test(.enabled(if: enabled, "SmolLM2-135M-Instruct is not in the cache"))
    func requestsTogetherGiveWhatEachGivesAlone() async throws {
        let model = try SmolLM2Tests.load("blas")
        var parameters = GenerateParameters.greedy
        parameters.maxTokens = 24
        let prompts = try Self.questions.map { try Self.prompt(model, $0) }
        var alone: [String] = []
        for prompt in prompts { alone.append(try await model.generateText(promptTokens: prompt, parameters: parameters).0) }

        // Five requests on three slots with a batch of 16 rows: prompts are split over
        // steps, mixed with other slots' decode rows, and two requests wait in the queue.
        let scheduler = try BatchScheduler(
            model: model, configuration: .init(slotCount: 3, context: 512, batchSize: 16, queueLimit: 8))
        defer { scheduler.close() }
        let streams = try prompts.map { try scheduler.submit(promptTokens: $0, parameters: parameters) }
        var together: [String] = []
        for stream in streams { together.append(try await Self.collect(stream).text) }
        #expect(together == alone)
        #expect(await scheduler.waitUntilIdle(timeout: .seconds(300)))
        #expect(scheduler.status.steps > 24, "several slots decode in one step: fewer steps than tokens × requests")
        #expect(scheduler.status.steps < 5 * 24)
    }

    @Test(.enabled(if: enabled, "SmolLM2-135M-Instruct is not in the cache"))
    func aSharedBeginningIsReused() async throws {
        let model = try SmolLM2Tests.load("blas")
        var parameters = GenerateParameters.greedy
        parameters.maxTokens = 12
        let scheduler = try BatchScheduler(model: model, configuration: .init(slotCount: 2, context: 512))
        defer { scheduler.close() }
        let first = try Self.prompt(model, "What is the capital of France?")
        let firstResult = try await Self.collect(scheduler.submit(promptTokens: first, parameters: parameters))
        #expect(firstResult.completion.cachedPromptTokens == 0)
        // The same conversation one turn later: the first turn and its reply are cached.
        let followUp = try #require(try model.chatPromptTokens([
            .user("What is the capital of France?"), .assistant(firstResult.text), .user("And of Spain?"),
        ]))
        let shared = zip(first + firstResult.tokens.map(\.id), followUp).prefix { $0 == $1 }.count
        let second = try await Self.collect(scheduler.submit(promptTokens: followUp, parameters: parameters))
        #expect(second.completion.cachedPromptTokens == shared && shared > first.count / 2)
        #expect(second.completion.info.processedPromptTokenCount == followUp.count - shared)
        let fresh = try await model.generateText(promptTokens: followUp, parameters: parameters).0
        #expect(second.text == fresh)
    }

    @Test(.enabled(if: enabled, "SmolLM2-135M-Instruct is not in the cache"))
    func leavingAStreamFreesTheSlotAndAFullQueueRefuses() async throws {
        let model = try SmolLM2Tests.load("blas")
        var parameters = GenerateParameters.greedy
        parameters.maxTokens = 1_500
        parameters.stopAtEndOfSequence = false
        let scheduler = try BatchScheduler(model: model, configuration: .init(slotCount: 1, context: 2048, queueLimit: 1))
        defer { scheduler.close() }
        let prompt = try Self.prompt(model, "Tell me a long story.")
        var running: BatchScheduler.Request? = try scheduler.submit(
            promptTokens: prompt, parameters: parameters)
        let waiting = try scheduler.submit(promptTokens: prompt, parameters: parameters)
        #expect(throws: BatchSchedulerError.queueFull(limit: 1)) {
            try scheduler.submit(promptTokens: prompt, parameters: parameters)
        }
        // Read three tokens of the first, then drop its stream.
        do {
            var iterator = running!.makeAsyncIterator()
            for _ in 0..<3 { _ = try await iterator.next() }
        }
        running = nil
        // The waiting request gets the slot; the task that reads it is cancelled after its
        // fifth token (by itself, so that a loaded machine cannot change the order).
        let task = Task {
            var tokens = 0
            for try await event in waiting {
                guard case .token = event else { continue }
                tokens += 1
                if tokens == 5 { withUnsafeCurrentTask { $0?.cancel() } }
            }
            return tokens
        }
        let tokensRead = try await task.value
        #expect(tokensRead >= 5 && tokensRead < parameters.maxTokens, "\(tokensRead) tokens read")
        #expect(await scheduler.waitUntilIdle(timeout: .seconds(300)))
        #expect(scheduler.status.busySlots == 0 && scheduler.status.queuedRequests == 0)
        // The slot serves again.
        parameters.maxTokens = 3
        let after = try await Self.collect(scheduler.submit(promptTokens: prompt, parameters: parameters))
        #expect(after.tokens.count == 3 && after.completion.info.stopReason == .maxTokens)
        scheduler.shutDown()
        #expect(throws: BatchSchedulerError.shuttingDown) { try scheduler.submit(promptTokens: prompt, parameters: parameters) }
    }

    @Test(.enabled(if: enabled, "SmolLM2-135M-Instruct is not in the cache"))
    func jsonOutputParsesAndLogprobsMatchTheLogits() async throws {
        let model = try SmolLM2Tests.load("blas")
        let scheduler = try BatchScheduler(model: model, configuration: .init(slotCount: 2, context: 512))
        defer { scheduler.close() }
        var parameters = GenerateParameters(maxTokens: 80, temperature: 0.7, seed: 7, outputFormat: .jsonObject)
        let prompt = try Self.prompt(model, "Describe a cat as JSON with the keys name and age.")
        let json = try await Self.collect(scheduler.submit(promptTokens: prompt, parameters: parameters))
        #expect(json.completion.info.stopReason == .endOfSequence, "stopped when the object closed")
        let object = try JSONSerialization.jsonObject(with: Data(json.text.utf8))
        #expect(object is [String: Any], "\(json.text)")

        parameters = .greedy
        parameters.maxTokens = 6
        parameters.logprobs = 3
        let question = try Self.prompt(model, "What is the capital of France?")
        let result = try await Self.collect(scheduler.submit(promptTokens: question, parameters: parameters))
        // The reference: the logits of each position from a plain forward pass.
        let state = try model.model.makeState(context: 512, batchCapacity: 512, cacheType: .f32)
        var logits = try model.model.process(question, state: state)
        for token in result.tokens {
            let largest = logits.max()!
            let normalizer = largest + log(logits.reduce(0) { $0 + exp($1 - largest) })
            let logprob = try #require(token.logprob)
            #expect(abs(logprob - (logits[token.id] - normalizer)) < 0.05)
            #expect(token.topLogprobs.count == 3 && token.topLogprobs[0].id == token.id, "greedy takes the likeliest")
            #expect(token.topLogprobs.map(\.logprob) == token.topLogprobs.map(\.logprob).sorted(by: >))
            logits = try model.model.process([token.id], state: state)
        }
    }
}
