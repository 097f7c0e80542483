import Foundation
import TensorCore

/// The perplexity of a model on a text: `exp(mean negative log-likelihood)` of the
/// scored tokens, each given the tokens before it in its window.
public struct PerplexityResult: Sendable, Equatable {
    public var perplexity: Double
    /// The mean negative log-likelihood (natural log) per scored token.
    public var meanNegativeLogLikelihood: Double
    /// How many tokens were scored.
    public var scoredTokenCount: Int
    /// How many windows were evaluated.
    public var windowCount: Int
    /// The number of tokens of the text (with BOS).
    public var tokenCount: Int
}

/// How a text is cut into windows for ``LanguageModel/perplexity(tokens:method:)``.
public enum PerplexityMethod: Sendable, Equatable {
    /// llama.cpp's `perplexity` tool: the tokens are cut into consecutive windows of
    /// `window` tokens (a remainder shorter than a window is dropped); each window's
    /// first token is replaced by BOS (when the tokenizer adds one), and only the tokens of its second half are
    /// scored, so every scored token sees at least `window / 2` tokens of context.
    case llamaCpp(window: Int)
    /// One window over the whole sequence: every token after the first is scored.
    case wholeSequence
}

extension LanguageModel {
    /// The perplexity of `text` (encoded as llama.cpp's tools encode it: with BOS when the
    /// model's tokenizer adds one).
    public func perplexity(of text: String, method: PerplexityMethod) throws -> PerplexityResult {
        try perplexity(tokens: requireTokenizer().encode(text, options: .init(addEOS: false)), method: method)
    }

    /// `tokens` cut into consecutive chunks of `length` (a remainder shorter than a chunk
    /// is dropped), each chunk's first token replaced by BOS when the tokenizer adds one,
    /// as llama.cpp's `perplexity` and `imatrix` tools cut a text.
    func llamaCppChunks(_ tokens: [Int], length: Int) -> [[Int]] {
        let bos = tokenizer.flatMap { $0.addsBOSByDefault ? $0.specialTokens.bos : nil }
        return (0..<tokens.count / length).map { i in
            var chunk = Array(tokens[i * length..<(i + 1) * length])
            if let bos { chunk[0] = bos }
            return chunk
        }
    }

    /// The perplexity of a token sequence.
    public func perplexity(tokens: [Int], method: PerplexityMethod) throws -> PerplexityResult {
        let windows: [(tokens: [Int], firstScored: Int)]
        switch method {
        case .wholeSequence:
            guard tokens.count >= 2 else { throw ModelError.invalidParameter(name: "text", value: "\(tokens.count) tokens", reason: "perplexity needs at least 2 tokens") }
            windows = [(tokens, 0)]
        case let .llamaCpp(window):
            guard window >= 4, tokens.count >= window else {
                throw ModelError.invalidParameter(
                    name: "window", value: "\(window)",
                    reason: "perplexity needs a window of at least 4 tokens and a text at least that long (the text has \(tokens.count) tokens)")
            }
            windows = llamaCppChunks(tokens, length: window).map { ($0, window / 2) }
        }
        var total = 0.0
        var scored = 0
        for (chunk, firstScored) in windows {
            let state = try model.makeState(context: chunk.count, batchCapacity: chunk.count, cacheType: .f32)
            let logits = try Tensor(zeros: [chunk.count, configuration.vocabularySize])
            try model.forward(chunk, state: state, allLogits: logits)
            let vocabulary = configuration.vocabularySize
            for j in firstScored..<chunk.count - 1 {
                let row = logits.floatPointer + j * vocabulary
                var maximum = -Float.infinity
                for v in 0..<vocabulary { maximum = max(maximum, row[v]) }
                var sum = 0.0
                for v in 0..<vocabulary { sum += exp(Double(row[v] - maximum)) }
                total += log(sum) + Double(maximum) - Double(row[chunk[j + 1]])
                scored += 1
            }
        }
        let mean = total / Double(scored)
        return PerplexityResult(
            perplexity: exp(mean), meanNegativeLogLikelihood: mean, scoredTokenCount: scored, windowCount: windows.count,
            tokenCount: tokens.count)
    }
}
