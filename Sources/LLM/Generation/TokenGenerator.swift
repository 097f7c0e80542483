import Foundation
import TensorCore
import Tokenizers

/// The generation loop: process the prompt in steps, then sample, emit and feed back
/// one token at a time until a stop condition. Used by ``LanguageModel/generate(promptTokens:parameters:)``
/// and by ``ChatSession``.
struct TokenGenerator {
    let model: any TransformerModel
    let tokenizer: (any Tokenizer)?
    let parameters: GenerateParameters

    /// Runs `newTokens` (what is not yet in `state`'s cache of the full prompt
    /// `prompt`) and generates. `emit` receives each event and returns false to stop.
    func run(
        prompt: [Int], newTokens: [Int], state: InferenceState, emit: (GenerationEvent) -> Bool
    ) throws -> GenerationInfo {
        try parameters.validate()
        guard !newTokens.isEmpty || state.position > 0 else {
            throw ModelError.emptyPrompt
        }
        guard state.position + newTokens.count <= state.cache.capacity else {
            throw ModelError.promptTooLong(tokens: state.position + newTokens.count, context: state.cache.capacity)
        }
        let clock = ContinuousClock()
        let start = clock.now
        var logits = try model.process(newTokens, state: state)
        try checkFinite(logits, position: state.position - 1, generatedTokens: 0)
        let promptTime = start.duration(to: clock.now)
        var sampler = Sampler(parameters: parameters)
        var history = prompt
        var generated: [Int] = []
        var step = [0]
        let decoder = tokenizer?.makeStreamingDecoder()
        var pendingText = ""
        var emittedText = ""
        let stopIDs = parameters.stopAtEndOfSequence ? (tokenizer?.specialTokens.stopIDs ?? []) : []
        var reason = StopReason.maxTokens
        var firstTokenTime = promptTime
        let generationStart = clock.now

        /// Emits the part of `pendingText` that cannot be the start of a stop string;
        /// returns true when a stop string was found.
        func releaseText(final: Bool) -> Bool {
            if let (range, _) = parameters.stopStrings.compactMap({ stop in
                pendingText.range(of: stop).map { ($0, stop) }
            }).min(by: { $0.0.lowerBound < $1.0.lowerBound }) {
                let before = String(pendingText[..<range.lowerBound])
                if !before.isEmpty { _ = emit(.chunk(before)) }
                pendingText = ""
                return true
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
            if !ready.isEmpty {
                emittedText += ready
                if !emit(.chunk(ready)) { reason = .cancelled }
            }
            return false
        }

        while generated.count < parameters.maxTokens {
            if Task.isCancelled || reason == .cancelled {
                reason = .cancelled
                break
            }
            let next = sampler.next(logits: logits, history: history)
            if generated.isEmpty { firstTokenTime = start.duration(to: clock.now) }
            if stopIDs.contains(next) {
                reason = .endOfSequence
                break
            }
            generated.append(next)
            history.append(next)
            if !emit(.token(next)) {
                reason = .cancelled
                break
            }
            if let decoder {
                pendingText += try decoder.append(next)
                if releaseText(final: false) {
                    reason = .stopString
                    break
                }
            }
            if generated.count == parameters.maxTokens { break }
            guard state.position < state.cache.capacity else {
                reason = .contextFull
                break
            }
            step[0] = next  // the token and the logits reuse their arrays from token to token
            try model.forward(step, state: state, allLogits: nil)
            state.lastLogits.copyFloats(into: &logits)
            try checkFinite(logits, position: state.position - 1, generatedTokens: generated.count)
        }
        if let decoder, reason != .stopString {
            pendingText += decoder.finish()
            if releaseText(final: true) { reason = .stopString }
        }
        return GenerationInfo(
            promptTokens: prompt, generatedTokens: generated, processedPromptTokenCount: newTokens.count,
            promptTime: promptTime, generationTime: generationStart.duration(to: clock.now),
            timeToFirstToken: firstTokenTime, stopReason: reason)
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
