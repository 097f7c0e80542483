import Foundation
import TensorCore
import Tokenizers

/// Generates one token per call, for callers who drive generation themselves.
///
/// The first call to ``next()`` processes the prompt; each call samples a token,
/// decodes its text and returns it, and the following call feeds it back through the
/// model. ``next()`` returns `nil` once generation has stopped; ``stopReason`` then
/// says why and ``info`` holds the summary. The streams of
/// ``LanguageModel/generate(prompt:parameters:)``,
/// ``LanguageModel/generateTokens(prompt:parameters:)`` and ``ChatSession`` run this
/// same loop on a task of their own; drive a generator yourself to decide after each
/// token whether to go on, without a task or a stream in between.
///
/// ```swift
/// let generator = try TokenGenerator(model: model, prompt: "Once upon a time", parameters: .greedy)
/// while let token = try generator.next() {
///     print(token.text, terminator: "")
///     if token.text.contains("dragon") { generator.cancel() }
/// }
/// print(generator.trailingText)
/// print(generator.stopReason!)  // .cancelled if a dragon appeared
/// ```
///
/// Each call to ``next()`` runs one forward pass on the calling thread; use a
/// generator from one task at a time. Cancelling the task that drives it stops it
/// like ``cancel()`` does.
public final class TokenGenerator {
    let model: any TransformerModel
    /// The settings this generation runs with.
    public let parameters: GenerateParameters
    /// The whole prompt, including any BOS (in a chat session, the whole conversation).
    public let promptTokens: [Int]
    /// The prompt tokens not yet in the state's cache (all of them, unless a chat
    /// session reused its cache).
    private let newTokens: [Int]
    private let state: InferenceState
    private var sampler: Sampler
    private let decoder: StreamingDecoder?
    private let tokenizer: (any Tokenizer)?
    /// The JSON seen so far, with a JSON output format.
    private var json: JSONPrefixValidator?
    private let stopIDs: Set<Int>

    /// The tokens generated so far.
    public private(set) var generatedTokens: [Int] = []
    /// The text generated so far, without text held back as the possible start of a
    /// stop string; complete once ``next()`` has returned `nil`.
    public private(set) var text = ""
    /// The text released when generation stopped, after the last token's (text that
    /// was held back as the possible start of a stop string, or the bytes of an
    /// unfinished character); empty while generating.
    public private(set) var trailingText = ""
    /// Why generation stopped; `nil` while it runs.
    public private(set) var stopReason: StopReason?

    private var history: [Int]
    private var logits: [Float] = []
    /// The token the next forward pass feeds back; one array reused from token to token.
    private var step = [0]
    /// Decoded text not yet released because it could be the start of a stop string.
    private var pendingText = ""
    private var started = false
    private var cancelRequested = false
    private var processedPromptTokenCount = 0

    private let clock = ContinuousClock()
    private var start: ContinuousClock.Instant
    private var generationStart: ContinuousClock.Instant
    private var promptTime = Duration.zero
    private var timeToFirstToken = Duration.zero
    private var generationTime = Duration.zero

    /// A generator that continues `prompt`, encoded with the model's BOS setting.
    ///
    /// - Throws: an error if the model has no tokenizer, the parameters are invalid
    ///   (``ModelError/invalidParameter(name:value:reason:)``), the prompt is empty or
    ///   does not fit in the context.
    public convenience init(model: LanguageModel, prompt: String, parameters: GenerateParameters = GenerateParameters()) throws {
        try self.init(model: model, promptTokens: model.requireTokenizer().encode(prompt), parameters: parameters)
    }

    /// A generator that continues a prompt given as token ids.
    ///
    /// - Throws: an error if the parameters are invalid
    ///   (``ModelError/invalidParameter(name:value:reason:)``), the prompt is empty or
    ///   does not fit in the context.
    public convenience init(model: LanguageModel, promptTokens: [Int], parameters: GenerateParameters = GenerateParameters()) throws {
        try parameters.validate()
        let state = try model.model.makeState(
            context: try model.resolveContext(parameters.context),
            batchCapacity: min(parameters.prefillStepSize, max(1, promptTokens.count)),
            cacheType: parameters.cacheType)
        try self.init(
            model: model.model, tokenizer: model.tokenizer, parameters: parameters, prompt: promptTokens,
            newTokens: promptTokens, state: state)
    }

    /// A generator that processes `newTokens` (what is not yet in `state`'s cache of
    /// the full prompt `prompt`), then generates; ``ChatSession`` keeps `state`
    /// between turns.
    init(
        model: any TransformerModel, tokenizer: (any Tokenizer)?, parameters: GenerateParameters,
        prompt: [Int], newTokens: [Int], state: InferenceState
    ) throws {
        try parameters.validate()
        guard !newTokens.isEmpty || state.position > 0 else {
            throw ModelError.emptyPrompt
        }
        guard state.position + newTokens.count <= state.cache.capacity else {
            throw ModelError.promptTooLong(tokens: state.position + newTokens.count, context: state.cache.capacity)
        }
        self.model = model
        self.parameters = parameters
        self.promptTokens = prompt
        self.newTokens = newTokens
        self.state = state
        sampler = Sampler(parameters: parameters)
        decoder = tokenizer?.makeStreamingDecoder()
        self.tokenizer = tokenizer
        if parameters.outputFormat == .jsonObject {
            guard tokenizer != nil else {
                throw ModelError.invalidParameter(name: "outputFormat", value: "jsonObject", reason: "needs a model with a tokenizer")
            }
            json = JSONPrefixValidator()
        }
        stopIDs = parameters.stopAtEndOfSequence ? (tokenizer?.specialTokens.stopIDs ?? []) : []
        history = prompt
        start = clock.now
        generationStart = start
    }

    /// Stops the generation: the next call to ``next()`` returns `nil`, with
    /// ``stopReason`` ``StopReason/cancelled``. Does nothing once it has stopped.
    ///
    /// Call it from the code that drives the generator (the generator is not
    /// `Sendable`); to stop it from elsewhere, cancel the task that drives it.
    public func cancel() {
        cancelRequested = true
    }

    /// The summary, once generation has stopped (`nil` before).
    public var info: GenerationInfo? {
        guard let stopReason else { return nil }
        return GenerationInfo(
            promptTokens: promptTokens, generatedTokens: generatedTokens, text: text,
            processedPromptTokenCount: processedPromptTokenCount, promptTime: promptTime,
            generationTime: generationTime, timeToFirstToken: timeToFirstToken, stopReason: stopReason)
    }

    /// Generates the next token: on the first call processes the prompt, on later
    /// calls feeds the previous token back, then samples.
    ///
    /// - Returns: the token and the text it made certain, or `nil` when generation has
    ///   stopped (at the end-of-sequence token, a stop string, `maxTokens`, a full
    ///   context, or on cancellation); ``stopReason`` says which.
    /// - Throws: errors of the forward pass, such as
    ///   ``ModelError/nonFiniteLogits(position:generatedTokens:count:)``; generation
    ///   cannot continue after one.
    public func next() throws -> GeneratedToken? {
        guard stopReason == nil else { return nil }
        if cancelRequested || Task.isCancelled { return end(.cancelled) }
        if !started {
            beginPrompt()
            // A cancellation is honoured between the prompt's batches: a long prompt can be stopped.
            processedPromptTokenCount = try model.process(newTokens, state: state) { cancelRequested || Task.isCancelled }
            if processedPromptTokenCount < newTokens.count {
                promptTime = start.duration(to: clock.now)
                return end(.cancelled)
            }
            return try afterPrompt()
        }
        try model.forward(step, state: state, allLogits: nil)
        return try afterDecodeStep()
    }

    // MARK: Driven from outside

    /// What a caller that runs the forward passes itself (``BatchScheduler``) gets back
    /// after a pass.
    enum Progress {
        /// The prompt is not processed yet.
        case prompt
        /// A token was generated.
        case token(GeneratedToken)
        /// Generation has stopped (``stopReason`` says why).
        case stopped
    }

    /// Whether the whole prompt went through the model.
    var hasProcessedPrompt: Bool { started && processedPromptTokenCount >= newTokens.count }

    /// The tokens the next forward pass must add to the state: up to `limit` prompt
    /// tokens not yet processed, or the last generated token. Empty once generation has
    /// stopped. Pass them through the model, then call ``processed(_:)``.
    func pendingInput(limit: Int) -> ArraySlice<Int> {
        guard stopReason == nil else { return [] }
        if !started { beginPrompt() }
        if processedPromptTokenCount < newTokens.count {
            return newTokens[processedPromptTokenCount..<min(newTokens.count, processedPromptTokenCount + limit)]
        }
        return step[...]
    }

    /// Records that the first `count` tokens of ``pendingInput(limit:)`` went through the
    /// model (their logits are in the state) and, at the end of the prompt or after a
    /// generated token, samples the next one.
    func processed(_ count: Int) throws -> Progress {
        guard stopReason == nil else { return .stopped }
        if processedPromptTokenCount < newTokens.count {
            processedPromptTokenCount += count
            if processedPromptTokenCount < newTokens.count {
                if cancelRequested {
                    promptTime = start.duration(to: clock.now)
                    _ = end(.cancelled)
                    return .stopped
                }
                return .prompt
            }
            return try afterPrompt().map(Progress.token) ?? .stopped
        }
        return try afterDecodeStep().map(Progress.token) ?? .stopped
    }

    /// Ends a generation that was driven from outside and did not stop by itself.
    func stopDriven(_ reason: StopReason) -> String {
        guard stopReason == nil else { return "" }
        if processedPromptTokenCount < newTokens.count { promptTime = start.duration(to: clock.now) }
        return finish(reason)
    }

    // MARK: Steps

    private func beginPrompt() {
        started = true
        start = clock.now
    }

    /// After the whole prompt went through the model: its last logits, the first token.
    private func afterPrompt() throws -> GeneratedToken? {
        state.lastLogits.copyFloats(into: &logits)
        try checkFinite(logits, position: state.position - 1, generatedTokens: 0)
        promptTime = start.duration(to: clock.now)
        timeToFirstToken = promptTime
        generationStart = clock.now
        if generatedTokens.count >= parameters.maxTokens { return end(.maxTokens) }
        if cancelRequested || Task.isCancelled { return end(.cancelled) }
        return try sample()
    }

    /// After the last generated token went through the model: the next token.
    private func afterDecodeStep() throws -> GeneratedToken? {
        state.lastLogits.copyFloats(into: &logits)
        try checkFinite(logits, position: state.position - 1, generatedTokens: generatedTokens.count)
        return try sample()
    }

    /// Chooses the next token from ``logits`` and decodes its text.
    private func sample() throws -> GeneratedToken? {
        let id = chooseToken()
        if generatedTokens.isEmpty { timeToFirstToken = start.duration(to: clock.now) }
        if stopIDs.contains(id) { return end(.endOfSequence) }
        var logprob: Float?, topLogprobs: [TokenLogprob] = []
        if let count = parameters.logprobs { (logprob, topLogprobs) = TokenLogprob.logprobs(logits, id: id, count: count) }
        generatedTokens.append(id)
        history.append(id)
        step[0] = id
        var released = ""
        if let decoder {
            pendingText += try decoder.append(id)
            guard let ready = releaseText(final: false) else {
                let text = releaseBeforeStopString() + finish(.stopString)
                return GeneratedToken(id: id, text: text, logprob: logprob, topLogprobs: topLogprobs)
            }
            released = ready
        }
        if json?.isComplete == true {
            released += finish(.endOfSequence)
        } else if generatedTokens.count >= parameters.maxTokens {
            released += finish(.maxTokens)
        } else if state.position >= state.cache.capacity {
            released += finish(.contextFull)
        }
        return GeneratedToken(id: id, text: released, logprob: logprob, topLogprobs: topLogprobs)
    }

    /// The sampler's choice; with a JSON output format, the choice among the tokens that
    /// keep the text a JSON object's beginning (the end-of-sequence tokens only once it
    /// is complete). A rejected token is removed and the sampler draws again; after
    /// many rejections, every token that does not fit is removed at once.
    private func chooseToken() -> Int {
        guard var json, let tokenizer else { return sampler.next(logits: logits, history: history) }
        var candidates = logits
        for attempt in 0... {
            if attempt == 16 {
                for id in candidates.indices where candidates[id] > -.infinity && !Self.fits(id, json, tokenizer, stopIDs) {
                    candidates[id] = -.infinity
                }
            }
            if attempt >= 16 {
                // Every token left fits: take the likeliest if the sampler keeps drawing
                // removed ones, and end if none is left.
                let best = Sampler.argmax(candidates)
                if candidates[best] == -.infinity { return stopIDs.min() ?? best }
                if attempt >= 32 { return accept(best, &json, tokenizer) }
            }
            let id = sampler.next(logits: candidates, history: history)
            if Self.fits(id, json, tokenizer, stopIDs) { return accept(id, &json, tokenizer) }
            candidates[id] = -.infinity
        }
        fatalError("unreachable")
    }

    /// Records token `id`'s text in the JSON state and returns it.
    private func accept(_ id: Int, _ json: inout JSONPrefixValidator, _ tokenizer: any Tokenizer) -> Int {
        if !stopIDs.contains(id) {
            _ = json.accept(Self.constraintText(id, tokenizer))
            self.json = json
        }
        return id
    }

    /// Whether token `id` may follow text in state `json`.
    private static func fits(_ id: Int, _ json: JSONPrefixValidator, _ tokenizer: any Tokenizer, _ stopIDs: Set<Int>) -> Bool {
        if stopIDs.contains(id) { return json.isComplete }
        if tokenizer.isControl(id) { return false }
        let text = constraintText(id, tokenizer)
        var copy = json
        return !text.isEmpty && copy.accept(text)
    }

    /// The text token `id` adds for the JSON check: its decoded text, or a non-ASCII
    /// character for a token that is part of a character (a byte of UTF-8), which fits
    /// only inside a string.
    private static func constraintText(_ id: Int, _ tokenizer: any Tokenizer) -> String {
        guard let text = try? tokenizer.decode([id]) else { return "" }
        return text.contains("\u{FFFD}") ? "\u{80}" : text
    }

    /// Ends generation between tokens: what is released now becomes ``trailingText``.
    private func end(_ reason: StopReason) -> GeneratedToken? {
        trailingText = finish(reason)
        return nil
    }

    /// Records why generation stopped and returns the text it releases: unless a stop
    /// string was found, the decoder's unfinished character and the text held back as
    /// the possible start of a stop string (which may itself reach one, and then
    /// becomes the reason).
    private func finish(_ reason: StopReason) -> String {
        var reason = reason
        var released = ""
        if reason != .stopString, let decoder {
            pendingText += decoder.finish()
            if let ready = releaseText(final: true) {
                released = ready
            } else {
                released = releaseBeforeStopString()
                reason = .stopString
            }
        }
        stopReason = reason
        generationTime = generationStart.duration(to: clock.now)
        return released
    }

    /// Releases the pending text that ``releaseText(final:)`` cut before a stop string.
    private func releaseBeforeStopString() -> String {
        let before = pendingText
        pendingText = ""
        text += before
        return before
    }

    /// Releases the part of the pending text that cannot be the start of a stop string
    /// (all of it when `final`) and adds it to ``text``. Returns `nil` when the
    /// pending text contains a stop string: the pending text is then cut to what comes
    /// before the earliest one.
    private func releaseText(final: Bool) -> String? {
        if let range = parameters.stopStrings.compactMap({ pendingText.range(of: $0) })
            .min(by: { $0.lowerBound < $1.lowerBound })
        {
            pendingText = String(pendingText[..<range.lowerBound])
            return nil
        }
        var safe = pendingText.endIndex
        if !final {
            for stop in parameters.stopStrings {
                for length in stride(from: min(stop.count - 1, pendingText.count), to: 0, by: -1) {
                    let suffixStart = pendingText.index(pendingText.endIndex, offsetBy: -length)
                    if stop.hasPrefix(pendingText[suffixStart...]) {
                        safe = min(safe, suffixStart)
                        break
                    }
                }
            }
        }
        let ready = String(pendingText[..<safe])
        pendingText = String(pendingText[safe...])
        text += ready
        return ready
    }

    /// Runs to the end, passing each non-empty piece of text (the trailing text too) to
    /// `emit`; cancels when `emit` returns false. Returns the summary.
    func runText(_ emit: (String) -> Bool) throws -> GenerationInfo {
        while let token = try next() {
            if !token.text.isEmpty, !emit(token.text) { cancel() }
        }
        if !trailingText.isEmpty { _ = emit(trailingText) }
        return info!
    }

    /// Throws ``ModelError/nonFiniteLogits(position:generatedTokens:count:)`` if any logit
    /// is NaN or infinite: sampling them would pick an arbitrary token (greedy
    /// decoding keeps returning the same one) and the text would be garbage without a
    /// word of warning. The check reads the exponent bits of 16 logits at a time, a
    /// small cost next to the forward pass that computed them.
    func checkFinite(_ logits: [Float], position: Int, generatedTokens: Int) throws {
        let count = logits.withUnsafeBufferPointer { countNonFinite($0) }
        if count > 0 { throw ModelError.nonFiniteLogits(position: position, generatedTokens: generatedTokens, count: count) }
    }
}

/// How many of `values` are NaN or infinite (all exponent bits set).
func countNonFinite(_ values: UnsafeBufferPointer<Float>) -> Int {
    let exponent: UInt32 = 0x7F80_0000
    var largest = SIMD16<UInt32>(repeating: 0)
    let raw = UnsafeRawBufferPointer(values)
    let vectors = values.count / 16
    for i in 0..<vectors {
        let bits = raw.loadUnaligned(fromByteOffset: i * 64, as: SIMD16<UInt32>.self)
        largest = pointwiseMax(largest, bits & exponent)
    }
    var tail: UInt32 = 0
    for i in (vectors * 16)..<values.count { tail = max(tail, values[i].bitPattern & exponent) }
    guard largest.max() == exponent || tail == exponent else { return 0 }
    return values.reduce(0) { $0 + ($1.isFinite ? 0 : 1) }
}
