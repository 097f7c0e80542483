import Foundation
import Testing
import TestSupport

@testable import LLM

/// The sampler against the definitions: the top-k pass picks what a full sort picks, and
/// draws follow the softmax of the kept tokens (top-k, top-p, min-p) for a fixed seed.
struct SamplerTests {
    /// What `Sampler.candidates` must return: every token by `logit / temperature`,
    /// highest first and lower id first on ties, cut to `topK`.
    static func fullSort(_ logits: [Float], temperature: Float, topK: Int) -> [(id: Int, logit: Float)] {
        let sorted = logits.indices.map { (id: $0, logit: logits[$0] / temperature) }
            .sorted { $0.logit != $1.logit ? $0.logit > $1.logit : $0.id < $1.id }
        return topK > 0 ? Array(sorted.prefix(topK)) : sorted
    }

    @Test func topKCandidatesAreTheFirstOfAFullSort() {
        var random = SeededRandom(seed: 5)
        for trial in 0..<300 {
            let count = Int.random(in: 1...400, using: &random)
            // Few distinct values, so that ties (broken by id) are common.
            let levels = Int.random(in: 1...50, using: &random)
            let logits = (0..<count).map { _ in Float(Int.random(in: 0..<levels, using: &random)) * 0.37 - 5 }
            let topK = [0, 1, 2, 40, count - 1, count, count + 3, Int.random(in: 1...count, using: &random)][trial % 8]
            let temperature: Float = [0.8, 1, 0.3][trial % 3]
            let picked = Sampler.candidates(logits, temperature: temperature, topK: max(topK, 0))
            let expected = Self.fullSort(logits, temperature: temperature, topK: max(topK, 0))
            #expect(picked.map(\.id) == expected.map(\.id), "trial \(trial): \(count) logits, top-k \(topK)")
            #expect(picked.map(\.logit) == expected.map(\.logit), "trial \(trial)")
        }
    }

    /// Draw `count` tokens from the same logits and return the frequency of each.
    static func frequencies(_ logits: [Float], _ parameters: GenerateParameters, count: Int) -> [Double] {
        var sampler = Sampler(parameters: parameters)
        var counts = [Int](repeating: 0, count: logits.count)
        for _ in 0..<count { counts[sampler.next(logits: logits, history: [])] += 1 }
        return counts.map { Double($0) / Double(count) }
    }

    static func parameters(topK: Int = 0, topP: Float = 1, minP: Float = 0, temperature: Float = 1) -> GenerateParameters {
        var parameters = GenerateParameters()
        parameters.temperature = temperature
        parameters.topK = topK
        parameters.topP = topP
        parameters.minP = minP
        parameters.seed = 2024
        return parameters
    }

    @Test func drawsFollowTheSoftmax() {
        let logits: [Float] = [2, 1, 0, -1, 0.5]
        let exponentials = logits.map { exp(Double($0) / 0.8) }
        let softmax = exponentials.map { $0 / exponentials.reduce(0, +) }
        let observed = Self.frequencies(logits, Self.parameters(temperature: 0.8), count: 40_000)
        for (p, f) in zip(softmax, observed) { #expect(abs(p - f) < 0.01, "softmax \(softmax), drawn \(observed)") }
    }

    @Test func topKTopPAndMinPKeepTheRightTokens() {
        // Probabilities 0.5, 0.3, 0.15, 0.05 at temperature 1.
        let logits = [0.5, 0.3, 0.15, 0.05].map { Float(log($0)) }
        // Top-k 2: tokens 0 and 1 in the ratio 5 : 3.
        let topK = Self.frequencies(logits, Self.parameters(topK: 2), count: 20_000)
        #expect(topK[2] == 0 && topK[3] == 0)
        #expect(abs(topK[0] - 0.625) < 0.015, "\(topK)")
        // Top-p 0.7: the smallest set reaching 0.7 is tokens 0 and 1 (0.8).
        let topP = Self.frequencies(logits, Self.parameters(topP: 0.7), count: 20_000)
        #expect(topP[2] == 0 && topP[3] == 0 && abs(topP[0] - 0.625) < 0.015, "\(topP)")
        // Min-p 0.2: drops tokens below 0.2 × 0.5 = 0.1, so token 3 only.
        let minP = Self.frequencies(logits, Self.parameters(minP: 0.2), count: 20_000)
        #expect(minP[3] == 0 && abs(minP[2] - 0.15 / 0.95) < 0.015, "\(minP)")
        // Top-k 1 is greedy.
        #expect(Self.frequencies(logits, Self.parameters(topK: 1), count: 200) == [1, 0, 0, 0])
    }

    @Test func theSameSeedGivesTheSameTokens() {
        var random = SeededRandom(seed: 9)
        let logits = (0..<32_000).map { _ in Float.random(in: -10...10, using: &random) }
        var first = Sampler(parameters: Self.parameters(topK: 40, topP: 0.95, minP: 0.05, temperature: 0.8))
        var second = Sampler(parameters: Self.parameters(topK: 40, topP: 0.95, minP: 0.05, temperature: 0.8))
        let a = (0..<50).map { _ in first.next(logits: logits, history: []) }
        let b = (0..<50).map { _ in second.next(logits: logits, history: []) }
        #expect(a == b)
        #expect(Set(a).count > 1)  // it does sample, not always the top token
        let best40 = Set(Self.fullSort(logits, temperature: 0.8, topK: 40).map(\.id))
        #expect(a.allSatisfy(best40.contains))
    }
}
