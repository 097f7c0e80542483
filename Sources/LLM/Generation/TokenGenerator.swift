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
            started = true
            start = clock.now
            // A cancellation is honoured between the prompt's batches: a long prompt can be stopped.
            processedPromptTokenCount = try model.process(newTokens, state: state) { cancelRequested || Task.isCancelled }
            if processedPromptTokenCount < newTokens.count {
                promptTime = start.duration(to: clock.now)
                return end(.cancelled)
            }
            logits = state.lastLogits.floats()
            try checkFinite(logits, position: state.position - 1, generatedTokens: 0)
            promptTime = start.duration(to: clock.now)
            timeToFirstToken = promptTime
            generationStart = clock.now
            if generatedTokens.count >= parameters.maxTokens { return end(.maxTokens) }
            if cancelRequested || Task.isCancelled { return end(.cancelled) }
        } else {
            try model.forward(step, state: state, allLogits: nil)
            state.lastLogits.copyFloats(into: &logits)
            try checkFinite(logits, position: state.position - 1, generatedTokens: generatedTokens.count)
        }
        let id = sampler.next(logits: logits, history: history)
        if generatedTokens.isEmpty { timeToFirstToken = start.duration(to: clock.now) }
        if stopIDs.contains(id) { return end(.endOfSequence) }
        generatedTokens.append(id)
        history.append(id)
        step[0] = id
        var released = ""
        if let decoder {
            pendingText += try decoder.append(id)
            guard let ready = releaseText(final: false) else {
                return GeneratedToken(id: id, text: releaseBeforeStopString() + finish(.stopString))
            }
            released = ready
        }
        if generatedTokens.count >= parameters.maxTokens {
            released += finish(.maxTokens)
        } else if state.position >= state.cache.capacity {
            released += finish(.contextFull)
        }
        return GeneratedToken(id: id, text: released)
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
