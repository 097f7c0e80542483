import Foundation
import LLM
import TensorCore
import Testing
import TestSupport
import Tokenizers

/// The generation API: the text stream, its `.text` view, the token stream, the
/// collected text and a caller-driven ``TokenGenerator`` give the same tokens and text;
/// stop strings and cancellation are reported as the stop reason. Serialized: the
/// cancellation tests hold a thread of the shared pool at a forward pass until their
/// cancellation arrives, and two at once could hold both threads of a two-core machine.
@Suite(.serialized)
struct GenerationAPITests {
    static func load() throws -> LanguageModel {
        try ModelLoader.load(from: Fixtures.url("models/llama-mha"), backend: NaiveBackend())
    }

    static let prompt = "Once upon a time there was a small boat"

    /// Greedy, a fixed number of tokens (the tiny model's end-of-sequence token is ignored).
    static let parameters = GenerateParameters(maxTokens: 40, temperature: 0, stopAtEndOfSequence: false)

    /// Drives a generator by hand: the tokens, and the text as a caller streaming it
    /// would show it (every token's text, then the trailing text).
    static func drive(_ generator: TokenGenerator) throws -> (tokens: [GeneratedToken], shown: String) {
        var tokens: [GeneratedToken] = []
        while let token = try generator.next() { tokens.append(token) }
        #expect(try generator.next() == nil, "a stopped generator stays stopped")
        return (tokens, tokens.map(\.text).joined() + generator.trailingText)
    }

    @Test func everyAPIGivesTheSameGeneration() async throws {
        let model = try Self.load()
        let (text, info) = try await model.generateText(prompt: Self.prompt, parameters: Self.parameters)
        #expect(info.generatedTokens.count == 40)
        #expect(info.stopReason == .maxTokens)
        #expect(info.text == text)
        #expect(!text.isEmpty)
        #expect(try text == model.requireTokenizer().decode(info.generatedTokens))

        // The text stream: chunks, then exactly one summary, last.
        var events: [GenerationEvent] = []
        for try await event in model.generate(prompt: Self.prompt, parameters: Self.parameters) { events.append(event) }
        #expect(events.compactMap(\.chunk).joined() == text)
        #expect(events.filter { $0.info != nil }.count == 1)
        let streamed = try #require(events.last?.info)
        #expect(streamed.generatedTokens == info.generatedTokens && streamed.text == text && streamed.stopReason == .maxTokens)
        #expect(events.dropLast().allSatisfy { $0.chunk.map { !$0.isEmpty } ?? false }, "no empty chunks")

        // The text view.
        var viewed = ""
        for try await piece in model.generate(prompt: Self.prompt, parameters: Self.parameters).text { viewed += piece }
        #expect(viewed == text)

        // The token stream: every token with its text, then the summary.
        var tokens: [GeneratedToken] = []
        var tokenInfo: GenerationInfo?
        for try await event in model.generateTokens(prompt: Self.prompt, parameters: Self.parameters) {
            if let token = event.token { tokens.append(token) }
            if let summary = event.info { tokenInfo = summary }
        }
        #expect(tokens.map(\.id) == info.generatedTokens)
        #expect(text.hasPrefix(tokens.map(\.text).joined()))
        #expect(try #require(tokenInfo).text == text)

        // The token view.
        var viewedTokens: [GeneratedToken] = []
        for try await token in model.generateTokens(prompt: Self.prompt, parameters: Self.parameters).tokens {
            viewedTokens.append(token)
        }
        #expect(viewedTokens == tokens)

        // A generator driven by hand.
        let generator = try TokenGenerator(model: model, prompt: Self.prompt, parameters: Self.parameters)
        #expect(generator.stopReason == nil && generator.info == nil)
        let (driven, shown) = try Self.drive(generator)
        #expect(driven.map(\.id) == info.generatedTokens)
        #expect(shown == text && generator.text == text)
        #expect(generator.stopReason == .maxTokens)
        let summary = try #require(generator.info)
        #expect(summary.generatedTokens == info.generatedTokens && summary.promptTokens == info.promptTokens)
        #expect(summary.processedPromptTokenCount == info.promptTokens.count)

        // From token ids, the same.
        let fromIDs = try await model.generateText(promptTokens: info.promptTokens, parameters: Self.parameters)
        #expect(fromIDs.info.generatedTokens == info.generatedTokens && fromIDs.text == text)
    }

    /// A stop string taken from the middle of the greedy text ends every API's text
    /// just before it, with `.stopString`.
    @Test func aStopStringEndsTheTextInEveryAPI() async throws {
        let model = try Self.load()
        let full = try await model.generateText(prompt: Self.prompt, parameters: Self.parameters).text
        let middle = full.index(full.startIndex, offsetBy: full.count / 2)
        let stop = String(full[middle...].prefix(3))
        let stopRange = try #require(full.range(of: stop))
        let before = String(full[..<stopRange.lowerBound])
        var parameters = Self.parameters
        parameters.stopStrings = [stop]

        let (text, info) = try await model.generateText(prompt: Self.prompt, parameters: parameters)
        #expect(text == before)
        #expect(info.stopReason == .stopString)
        #expect(info.generatedTokens.count < 40)

        var streamed = ""
        for try await piece in model.generate(prompt: Self.prompt, parameters: parameters).text { streamed += piece }
        #expect(streamed == before)

        let generator = try TokenGenerator(model: model, prompt: Self.prompt, parameters: parameters)
        let (tokens, shown) = try Self.drive(generator)
        #expect(shown == before && generator.text == before)
        #expect(tokens.map(\.id) == info.generatedTokens)
        #expect(generator.stopReason == .stopString)
    }

    /// ``TokenGenerator/cancel()`` stops a generator driven by hand before its next
    /// token, with `.cancelled`.
    @Test func cancellingAGeneratorStopsItWithCancelled() throws {
        let model = try Self.load()
        let generator = try TokenGenerator(model: model, prompt: Self.prompt, parameters: Self.parameters)
        var ids: [Int] = []
        while let token = try generator.next() {
            ids.append(token.id)
            if ids.count == 3 { generator.cancel() }
        }
        #expect(ids.count == 3)
        #expect(generator.stopReason == .cancelled)
        let info = try #require(generator.info)
        #expect(info.stopReason == .cancelled && info.generatedTokens == ids)
        #expect(try generator.next() == nil)
    }

    /// The pass at which ``CancellingModel`` cancels, and so how many tokens every
    /// cancelled generation below has: the prompt is pass 1 and gives token 1, pass n
    /// feeds token n - 1 and gives token n, the pass under way completes and its token
    /// is kept, and the generator stops before the next one.
    static let cancelPass = 5

    /// The tiny model wrapped to cancel a task at ``cancelPass``, with room for far
    /// more tokens than a cancelled generation gets.
    static func cancellingModel(_ model: LanguageModel) -> (LanguageModel, CancellingModel, GenerateParameters) {
        let cancelling = CancellingModel(base: model.model, pass: cancelPass)
        let wrapped = LanguageModel(
            model: cancelling, tokenizer: model.tokenizer, chatTemplateSource: model.chatTemplateSource, name: model.name)
        return (wrapped, cancelling, GenerateParameters(maxTokens: 200, temperature: 0, stopAtEndOfSequence: false))
    }

    /// Cancelling the task that awaits ``LanguageModel/generateText(prompt:parameters:)``
    /// while it generates returns what was generated, with `.cancelled`.
    @Test func cancellingTheTaskOfGenerateTextReportsCancelled() async throws {
        let (model, cancelling, parameters) = try Self.cancellingModel(Self.load())
        let task = Task { try await model.generateText(prompt: Self.prompt, parameters: parameters) }
        cancelling.cancelAtPass(task)
        let (text, info) = try await task.value
        #expect(info.stopReason == .cancelled)
        #expect(info.generatedTokens.count == Self.cancelPass)
        #expect(cancelling.passes == Self.cancelPass)
        #expect(try text == info.text && text == model.requireTokenizer().decode(info.generatedTokens))
        let full = try await Self.load().generateText(prompt: Self.prompt, parameters: parameters)
        #expect(Array(full.info.generatedTokens.prefix(Self.cancelPass)) == info.generatedTokens)
    }

    /// Cancelling the task that iterates a stream stops the generation, and the loop
    /// still receives the token under way and then the summary, with `.cancelled`.
    @Test func cancellingTheTaskOfAStreamEndsItWithACancelledSummary() async throws {
        let (model, cancelling, parameters) = try Self.cancellingModel(Self.load())
        let task = Task { () throws -> ([GeneratedToken], [GenerationInfo]) in
            var tokens: [GeneratedToken] = []
            var summaries: [GenerationInfo] = []
            for try await event in model.generateTokens(prompt: Self.prompt, parameters: parameters) {
                if let token = event.token { tokens.append(token) }
                if let info = event.info { summaries.append(info) }
            }
            return (tokens, summaries)
        }
        cancelling.cancelAtPass(task)
        let (tokens, summaries) = try await task.value
        let info = try #require(summaries.count == 1 ? summaries.first : nil)
        #expect(info.stopReason == .cancelled)
        #expect(info.generatedTokens.count == Self.cancelPass && tokens.map(\.id) == info.generatedTokens)
        #expect(cancelling.passes == Self.cancelPass)

        // The text stream, the same way.
        let (textModel, textCancelling, _) = try Self.cancellingModel(Self.load())
        let textTask = Task { () throws -> (String, GenerationInfo?) in
            var text = ""
            var summary: GenerationInfo?
            for try await event in textModel.generate(prompt: Self.prompt, parameters: parameters) {
                if let chunk = event.chunk { text += chunk }
                if let info = event.info { summary = info }
            }
            return (text, summary)
        }
        textCancelling.cancelAtPass(textTask)
        let (text, summary) = try await textTask.value
        #expect(summary?.stopReason == .cancelled && summary?.generatedTokens == info.generatedTokens)
        #expect(summary?.text == text)
    }

    /// A generator driven by hand in a task that is cancelled stops before its next
    /// token, with `.cancelled`; one created in a cancelled task generates nothing.
    @Test func aGeneratorInACancelledTaskStopsWithCancelled() async throws {
        let (model, cancelling, parameters) = try Self.cancellingModel(Self.load())
        let task = Task { () throws -> GenerationInfo in
            let generator = try TokenGenerator(model: model, prompt: Self.prompt, parameters: parameters)
            while try generator.next() != nil {}
            return try #require(generator.info)
        }
        cancelling.cancelAtPass(task)
        let info = try await task.value
        #expect(info.stopReason == .cancelled && info.generatedTokens.count == Self.cancelPass)

        let cancelledFirst = Task { () throws -> GenerationInfo in
            withUnsafeCurrentTask { $0?.cancel() }
            let generator = try TokenGenerator(model: model, prompt: Self.prompt, parameters: parameters)
            while try generator.next() != nil {}
            return try #require(generator.info)
        }
        let summary = try await cancelledFirst.value
        #expect(summary.stopReason == .cancelled && summary.generatedTokens.isEmpty)
        #expect(summary.processedPromptTokenCount == 0)
    }

    /// Cancelling a chat reply's consumer stops the reply: the summary says
    /// `.cancelled`, and the cut reply joins the conversation, its tokens in the cache.
    @Test func cancellingAChatReplyKeepsWhatWasGenerated() async throws {
        let (model, cancelling, parameters) = try Self.cancellingModel(Self.load())
        let session = try ChatSession(model: model, template: .chatml, parameters: parameters)
        let task = Task { () throws -> (String, GenerationInfo?) in
            var text = ""
            var summary: GenerationInfo?
            for try await event in await session.streamResponse(to: "Tell me a long story") {
                if let chunk = event.chunk { text += chunk }
                if let info = event.info { summary = info }
            }
            return (text, summary)
        }
        cancelling.cancelAtPass(task)
        let (reply, summary) = try await task.value
        let info = try #require(summary)
        #expect(info.stopReason == .cancelled && info.generatedTokens.count == Self.cancelPass)
        #expect(info.text == reply)
        #expect(await session.messages.last == .assistant(reply))
        // The last token was sampled but not fed back, so it is not in the cache.
        #expect(await session.cachedTokenCount == info.promptTokens.count + Self.cancelPass - 1)

        // respond(to:) in a cancelled task returns the cut reply.
        let (respondModel, respondCancelling, _) = try Self.cancellingModel(Self.load())
        let second = try ChatSession(model: respondModel, template: .chatml, parameters: parameters)
        let respond = Task { try await second.respond(to: "Tell me a long story") }
        respondCancelling.cancelAtPass(respond)
        #expect(try await respond.value == reply)
        #expect(await second.messages.last == .assistant(reply))
    }

    /// Breaking out of a reply's stream, or dropping it, stops the generation: the
    /// reply that joins the conversation is cut short. ``CancellingModel`` holds its
    /// pass until the generation's task is cancelled, so the generation cannot run
    /// past it whatever the machine's load.
    @Test func breakingOutOfOrDroppingAStreamStopsTheGeneration() async throws {
        let (model, cancelling, parameters) = try Self.cancellingModel(Self.load())
        let tokenizer = try model.requireTokenizer()
        let session = try ChatSession(model: model, template: .chatml, parameters: parameters)
        var first = ""
        for try await text in await session.streamResponse(to: "Tell me a long story").text {
            first = text
            break
        }
        #expect(!first.isEmpty)
        var messages = await session.messages
        #expect(messages.count == 2 && messages[1].role == .assistant && messages[1].content.hasPrefix(first))
        var prompt = ChatTemplate.chatml.encode(Array(messages.prefix(1)), with: tokenizer)
        var cached = await session.cachedTokenCount
        #expect(cached <= prompt.count + Self.cancelPass - 1, "\(cached - prompt.count) tokens generated")
        #expect(cancelling.passes <= Self.cancelPass)

        let (droppedModel, droppedCancelling, _) = try Self.cancellingModel(Self.load())
        let dropped = try ChatSession(model: droppedModel, template: .chatml, parameters: parameters)
        _ = await dropped.streamResponse(to: "Tell me a long story")
        // The turn runs on a task of its own, which may reach the actor after this
        // test does; wait for it to end.
        let deadline = ContinuousClock.now + CancellingModel.patience
        while await dropped.isResponding && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(await !dropped.isResponding)
        // Stopped before its first token the message is left out; after it, the cut reply joins.
        messages = await dropped.messages
        #expect(messages.isEmpty || (messages.count == 2 && messages[1].role == .assistant), "\(messages)")
        prompt = ChatTemplate.chatml.encode([.user("Tell me a long story")], with: tokenizer)
        cached = await dropped.cachedTokenCount
        #expect(cached <= prompt.count + Self.cancelPass - 1, "\(cached - prompt.count) tokens generated")
        #expect(droppedCancelling.passes <= Self.cancelPass)
    }

    @Test func parametersHaveAMemberwiseInitialiserWithDefaults() {
        var changed = GenerateParameters()
        changed.maxTokens = 10
        changed.topK = 5
        changed.stopStrings = ["."]
        changed.cacheType = .f16
        changed.context = 128
        #expect(GenerateParameters(maxTokens: 10, topK: 5, stopStrings: ["."], cacheType: .f16, context: 128) == changed)
        let defaults = GenerateParameters()
        #expect(defaults.maxTokens == 256 && defaults.temperature == 0.8 && defaults.topK == 40 && defaults.topP == 0.95)
        #expect(defaults.minP == 0.05 && defaults.repetitionPenalty == 1 && defaults.penaltyWindow == 64 && defaults.seed == nil)
        #expect(defaults.stopAtEndOfSequence && defaults.prefillStepSize == 256 && defaults.cacheType == .f32 && defaults.context == nil)
        #expect(GenerateParameters.greedy == GenerateParameters(temperature: 0))
    }

    @Test func eventAccessors() {
        let token = GeneratedToken(id: 7, text: "a")
        #expect(GenerationEvent.chunk("hi").chunk == "hi")
        #expect(GenerationEvent.chunk("hi").info == nil)
        #expect(TokenGenerationEvent.token(token).token == token)
        #expect(TokenGenerationEvent.token(token).info == nil)
        #expect(GenerationEvent.chunk("hi").info == nil && TokenGenerationEvent.token(token).token?.id == 7)
    }
}

/// Wraps a model to cancel a generation at a known point while it is certainly under
/// way: at forward pass ``pass`` it cancels the task given to ``cancelAtPass(_:)`` (if
/// any), then holds the pass until the task running it has seen the cancellation
/// (which reaches a stream's producer only when its consumer next asks for an event,
/// or leaves the stream). The hold keeps one thread of the shared pool, and in a full
/// test run the consumer may wait for the other while long synchronous tests of other
/// suites occupy it; the hold gives up only after ``patience``, and the tests' counts
/// then fail.
final class CancellingModel: TransformerModel, @unchecked Sendable {
    /// How long a hold lasts at most.
    static let patience = Duration.seconds(120)

    let base: any TransformerModel
    let pass: Int
    private let lock = NSLock()
    private var count = 0
    private var cancelTarget: (@Sendable () -> Void)?

    init(base: any TransformerModel, pass: Int) {
        self.base = base
        self.pass = pass
    }

    var configuration: ModelConfiguration { base.configuration }
    var backend: any Backend { base.backend }

    /// How many forward passes have started.
    var passes: Int { lock.withLock { count } }

    /// The task to cancel at ``pass``.
    func cancelAtPass<Success: Sendable, Failure: Error>(_ task: Task<Success, Failure>) {
        lock.withLock { cancelTarget = { task.cancel() } }
    }

    func makeState(context: Int, batchCapacity: Int, cacheType: ElementType) throws -> InferenceState {
        try base.makeState(context: context, batchCapacity: batchCapacity, cacheType: cacheType)
    }

    func forward(_ tokens: [Int], state: InferenceState, allLogits: Tensor?) throws {
        let number = lock.withLock {
            count += 1
            return count
        }
        if number == pass {
            let deadline = ContinuousClock.now + Self.patience
            // The test names its task just after creating it, which may be after the
            // generation has started. A test that names none stops the generation by
            // leaving its stream, which ends this wait too.
            while !Task.isCancelled && ContinuousClock.now < deadline {
                if let cancel = lock.withLock({ cancelTarget }) {
                    cancel()
                    break
                }
                Thread.sleep(forTimeInterval: 0.001)
            }
            while !Task.isCancelled && ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.001) }
        }
        try base.forward(tokens, state: state, allLogits: allLogits)
    }
}

/// A long prompt is processed in batches, and a cancellation between two batches stops
/// it there: the rest of the prompt is not processed.
struct PromptCancellationTests {
    /// A model that runs `hook` after each forward pass.
    final class HookedModel: TransformerModel, @unchecked Sendable {
        let inner: any TransformerModel
        var hook: () -> Void = {}
        private(set) var passes = 0
        init(_ inner: any TransformerModel) { self.inner = inner }
        var configuration: ModelConfiguration { inner.configuration }
        var backend: any Backend { inner.backend }
        func makeState(context: Int, batchCapacity: Int, cacheType: ElementType) throws -> InferenceState {
            try inner.makeState(context: context, batchCapacity: batchCapacity, cacheType: cacheType)
        }
        func forward(_ tokens: [Int], state: InferenceState, allLogits: Tensor?) throws {
            try inner.forward(tokens, state: state, allLogits: allLogits)
            passes += 1
            hook()
        }
    }

    @Test func aCancelDuringTheLongPromptStopsBetweenBatches() throws {
        let loaded = try ModelLoader.load(from: Fixtures.url("models/llama-mha"), backend: NaiveBackend())
        let hooked = HookedModel(loaded.model)
        let model = LanguageModel(model: hooked, tokenizer: loaded.tokenizer, chatTemplateSource: nil, name: "hooked")
        var parameters = GenerateParameters.greedy
        parameters.prefillStepSize = 4
        parameters.context = 64
        let generator = try TokenGenerator(model: model, promptTokens: Array(1...20), parameters: parameters)
        hooked.hook = { generator.cancel() }
        #expect(try generator.next() == nil)
        let info = try #require(generator.info)
        #expect(info.stopReason == .cancelled)
        #expect(hooked.passes == 1 && info.processedPromptTokenCount == 4 && info.generatedTokens.isEmpty)

        // Uncancelled, the same prompt takes five batches and gives a token.
        let again = HookedModel(loaded.model)
        let whole = try TokenGenerator(
            model: LanguageModel(model: again, tokenizer: loaded.tokenizer, chatTemplateSource: nil, name: "whole"),
            promptTokens: Array(1...20), parameters: parameters)
        #expect(try whole.next() != nil)
        #expect(again.passes == 5)
    }
}
