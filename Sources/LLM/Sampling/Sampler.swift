import Foundation

/// Chooses the next token from logits: penalties, then greedy choice or temperature,
/// top-k, top-p and min-p filtering and a draw from a seeded generator.
///
/// Everything after the logits is plain, deterministic Swift, so the same logits and
/// seed give the same token on every backend and every run.
public struct Sampler: Sendable {
    /// The settings it samples with.
    public let parameters: GenerateParameters
    private var random: Xoshiro256

    /// A sampler seeded with `parameters.seed` (or a random seed when it is `nil`).
    public init(parameters: GenerateParameters) {
        self.parameters = parameters
        random = Xoshiro256(seed: parameters.seed ?? UInt64.random(in: 0...UInt64.max))
    }

    /// The next token after `history` (the prompt and the tokens generated so far).
    public mutating func next(logits: [Float], history: [Int]) -> Int {
        var logits = logits
        applyPenalties(&logits, history: history)
        if parameters.temperature == 0 { return Self.argmax(logits) }
        let candidates = Self.candidates(logits, temperature: parameters.temperature, topK: parameters.topK)
        let top = Double(candidates[0].logit)
        var probabilities = candidates.map { exp(Double($0.logit) - top) }
        let total = probabilities.reduce(0, +)
        probabilities = probabilities.map { $0 / total }
        var keep = probabilities.count
        if parameters.topP < 1 {
            var cumulative = 0.0
            for (i, p) in probabilities.enumerated() {
                cumulative += p
                if cumulative >= Double(parameters.topP) {
                    keep = i + 1
                    break
                }
            }
        }
        if parameters.minP > 0 {
            let threshold = probabilities[0] * Double(parameters.minP)
            keep = min(keep, probabilities.prefix(keep).firstIndex { $0 < threshold } ?? keep)
        }
        keep = max(1, keep)
        let kept = probabilities.prefix(keep)
        var draw = random.nextUniform() * kept.reduce(0, +)
        for (i, p) in kept.enumerated() {
            draw -= p
            if draw < 0 { return candidates[i].id }
        }
        return candidates[keep - 1].id
    }

    /// Repetition (divide or multiply), frequency and presence penalties over the window.
    func applyPenalties(_ logits: inout [Float], history: [Int]) {
        let p = parameters
        guard p.penaltyWindow > 0, p.repetitionPenalty != 1 || p.frequencyPenalty != 0 || p.presencePenalty != 0 else { return }
        var counts: [Int: Int] = [:]
        for id in history.suffix(p.penaltyWindow) where logits.indices.contains(id) { counts[id, default: 0] += 1 }
        for (id, count) in counts {
            if p.repetitionPenalty != 1 {
                logits[id] = logits[id] > 0 ? logits[id] / p.repetitionPenalty : logits[id] * p.repetitionPenalty
            }
            logits[id] -= Float(count) * p.frequencyPenalty + p.presencePenalty
        }
    }

    /// The tokens in order of `logit / temperature`, highest first (the lower id first on a
    /// tie), all of them or, with `topK > 0`, the first `topK`. Those are picked in one pass
    /// that keeps the best `topK` in order, without sorting the whole vocabulary: with
    /// llama.cpp's default of 40, a 32,000-token vocabulary costs a few hundred insertions
    /// instead of a sort (and Gemma 3's 262,144 tokens a few hundred more).
    static func candidates(_ logits: [Float], temperature: Float, topK: Int) -> [(id: Int, logit: Float)] {
        func precedes(_ a: (id: Int, logit: Float), _ b: (id: Int, logit: Float)) -> Bool {
            a.logit != b.logit ? a.logit > b.logit : a.id < b.id
        }
        guard topK > 0, topK < logits.count else {
            return logits.indices.map { (id: $0, logit: logits[$0] / temperature) }.sorted(by: precedes)
        }
        var best: [(id: Int, logit: Float)] = []
        best.reserveCapacity(topK + 1)
        for id in logits.indices {
            let candidate = (id: id, logit: logits[id] / temperature)
            if best.count == topK, !precedes(candidate, best[topK - 1]) { continue }
            var low = 0, high = best.count  // the first position whose token the candidate precedes
            while low < high {
                let middle = (low + high) / 2
                if precedes(best[middle], candidate) { low = middle + 1 } else { high = middle }
            }
            best.insert(candidate, at: low)
            if best.count > topK { best.removeLast() }
        }
        return best
    }

    /// The index of the largest logit (the first on a tie).
    public static func argmax(_ logits: [Float]) -> Int {
        var best = 0
        for i in logits.indices where logits[i] > logits[best] { best = i }
        return best
    }
}

/// xoshiro256**: a fast generator with a fixed sequence for each seed (seeded through
/// SplitMix64), the same on every platform.
struct Xoshiro256: Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    init(seed: UInt64) {
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = s.3 << 45 | s.3 >> 19
        return result
    }

    /// A uniform number in [0, 1) with 53 random bits.
    mutating func nextUniform() -> Double {
        Double(next() >> 11) * 0x1p-53
    }
}
