import Foundation
import ModelFormats
import TensorCore

/// How far a model's next-token distributions are from a base model's over a text, as
/// llama.cpp's `llama-perplexity --kl-divergence` reports it: each statistic with its
/// standard error.
public struct KLDivergenceResult: Sendable, Equatable {
    /// A mean and its standard error.
    public struct Estimate: Sendable, Equatable {
        public var value: Double
        public var uncertainty: Double
    }

    /// Perplexity of the model over the scored tokens.
    public var perplexity: Estimate
    /// Perplexity of the base model over the same tokens (from the file).
    public var basePerplexity: Estimate
    /// Mean of ln(PPL(model)/PPL(base)).
    public var logPerplexityRatio: Estimate
    /// Mean Kullback-Leibler divergence KL(base ‖ model) per token, in nats.
    public var meanKLDivergence: Estimate
    /// KL divergence percentiles: 0.5 (median), 0.9, 0.99, 0.999 and 1 (maximum).
    public var klDivergencePercentiles: [Double: Double]
    /// The share of tokens whose most likely next token is the same for both.
    public var sameTopToken: Estimate
    /// Root mean square of the difference between the two models' probabilities of the
    /// actual next token.
    public var rmsProbabilityDifference: Estimate
    /// How many tokens were scored.
    public var tokenCount: Int
    /// How many chunks of the text were evaluated.
    public var chunkCount: Int
}

/// llama.cpp's file of a base model's log-probabilities (`llama-perplexity
/// --kl-divergence-base`): `_logits_`, the chunk length, the vocabulary size and the chunk
/// count (32-bit), the text's tokens (32-bit, chunk after chunk), then for each chunk's
/// scored tokens (its second half but the last) the next-token log-probabilities:
/// a float scale and a float minimum followed by one 16-bit level per vocabulary entry
/// (log p = minimum + scale · level, down to 16 nats below the most likely token), the
/// levels padded to an even count.
enum LogProbabilityFile {
    static let magic = Array("_logits_".utf8)

    /// 16-bit words per scored token.
    static func recordLength(vocabulary: Int) -> Int { 2 * ((vocabulary + 1) / 2) + 4 }

    /// ggml's `nearest_int`.
    static func nearestInt(_ x: Float) -> Int {
        Int(Int32(bitPattern: (x + 12_582_912).bitPattern & 0x007F_FFFF)) - 0x0040_0000
    }

    /// One row's record (llama-perplexity's `log_softmax` writer); returns the negative
    /// log-likelihood of `token`.
    static func encode(_ logits: UnsafePointer<Float>, vocabulary n: Int, token: Int, into record: UnsafeMutablePointer<UInt16>) -> Double {
        var maxLogit = logits[0], minLogit = logits[0]
        for i in 1..<n {
            maxLogit = max(maxLogit, logits[i])
            minLogit = min(minLogit, logits[i])
        }
        minLogit = max(minLogit, maxLogit - 16)
        var sumExp = 0.0
        for i in 0..<n { sumExp += Double(expf(logits[i] - maxLogit)) }
        let logSumExp = Float(log(sumExp))
        let minLogProbability = minLogit - maxLogit - logSumExp
        let scale = (maxLogit - minLogit) / 65535
        UnsafeMutableRawPointer(record).storeBytes(of: scale.bitPattern.littleEndian, as: UInt32.self)
        UnsafeMutableRawPointer(record).storeBytes(of: minLogProbability.bitPattern.littleEndian, toByteOffset: 4, as: UInt32.self)
        let levels = record + 4
        if scale != 0 {
            let inverse = 1 / scale
            for i in 0..<n {
                levels[i] = logits[i] > minLogit ? UInt16(truncatingIfNeeded: nearestInt(inverse * (logits[i] - minLogit))).littleEndian : 0
            }
        } else {
            for i in 0..<n { levels[i] = 0 }
        }
        if n % 2 == 1 { levels[n] = 0 }
        return Double(maxLogit + logSumExp - logits[token])
    }
}

extension LanguageModel {
    /// Computes the perplexity of `text` as ``perplexity(of:method:)`` does with
    /// `.llamaCpp(window:)`, and writes every scored token's next-token log-probabilities
    /// to `url` in llama.cpp's format (`llama-perplexity --kl-divergence-base`), whole or
    /// not at all, for ``klDivergence(base:progress:)`` — this package's or llama.cpp's — to
    /// compare another model against. The file takes about 2 bytes per vocabulary entry for
    /// every scored token.
    public func saveLogProbabilities(
        of text: String, window: Int, to url: URL, overwrite: Bool = false, progress: ((_ chunk: Int, _ of: Int) -> Void)? = nil
    ) throws -> PerplexityResult {
        guard window >= 4 else {
            throw ModelError.invalidParameter(name: "window", value: "\(window)", reason: "must be at least 4 tokens")
        }
        let tokens = try requireTokenizer().encode(text, options: .init(addEOS: false))
        let chunks = tokens.count / window
        guard chunks >= 1 else {
            throw ModelError.invalidParameter(
                name: "text", value: "\(tokens.count) tokens", reason: "needs at least one window of \(window) tokens")
        }
        let vocabulary = configuration.vocabularySize
        let output = try AtomicFileWriter(destination: url, overwrite: overwrite)
        try output.write(LogProbabilityFile.magic)
        try output.write(UInt32(window).littleEndian)
        try output.write(Int32(vocabulary).littleEndian)
        try output.write(Int32(chunks).littleEndian)
        for token in tokens.prefix(chunks * window) { try output.write(Int32(token).littleEndian) }
        let first = window / 2
        let recordLength = LogProbabilityFile.recordLength(vocabulary: vocabulary)
        var records = [UInt16](repeating: 0, count: (window - 1 - first) * recordLength)
        var total = 0.0
        let logits = try Tensor(zeros: [window, vocabulary])
        for (index, chunk) in llamaCppChunks(tokens, length: window).enumerated() {
            let state = try model.makeState(context: window, batchCapacity: window, cacheType: .f32)
            try model.forward(chunk, state: state, allLogits: logits)
            let original = Array(tokens[index * window..<(index + 1) * window])
            records.withUnsafeMutableBufferPointer { buffer in
                for j in first..<window - 1 {
                    total += LogProbabilityFile.encode(
                        logits.floatPointer + j * vocabulary, vocabulary: vocabulary, token: original[j + 1],
                        into: buffer.baseAddress! + (j - first) * recordLength)
                }
            }
            try records.withUnsafeBytes { try output.write($0) }
            progress?(index + 1, chunks)
        }
        try output.commit()
        let scored = chunks * (window - 1 - first)
        let mean = total / Double(scored)
        return PerplexityResult(
            perplexity: exp(mean), meanNegativeLogLikelihood: mean, scoredTokenCount: scored, windowCount: chunks, tokenCount: tokens.count)
    }

    /// Compares this model with the base model whose log-probabilities `base` holds (a file
    /// of ``saveLogProbabilities(of:window:to:overwrite:progress:)`` or of llama.cpp's
    /// `llama-perplexity --kl-divergence-base`), on the text's tokens stored in the file.
    ///
    /// - Throws: ``ModelFormatError`` naming the file for a file that is not such a file,
    ///   is cut short, or was made with another vocabulary size.
    public func klDivergence(base url: URL, progress: ((_ chunk: Int, _ of: Int) -> Void)? = nil) throws -> KLDivergenceResult {
        let bytes = try FileBytes(mapping: url)
        let path = url.path
        func fail(_ kind: ModelFormatError.Kind, _ field: String, _ problem: String) -> ModelFormatError {
            ModelFormatError(kind, file: path, field: field, problem: problem)
        }
        guard bytes.count >= 20, Array(UnsafeRawBufferPointer(start: bytes.baseAddress, count: 8)) == LogProbabilityFile.magic else {
            throw fail(.invalidValue, "header", "is not a log-probability file (llama-perplexity --kl-divergence-base writes them; they start with _logits_)")
        }
        let base = bytes.baseAddress
        func int32(at offset: Int) -> Int { Int(Int32(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: Int32.self))) }
        let window = int32(at: 8), vocabulary = int32(at: 12), chunks = int32(at: 16)
        guard window >= 4, window <= 1 << 20 else { throw fail(.invalidValue, "chunk length", "is \(window)") }
        guard chunks >= 1, chunks <= 1 << 24 else { throw fail(.invalidValue, "chunk count", "is \(chunks)") }
        guard vocabulary == configuration.vocabularySize else {
            throw fail(.inconsistent, "vocabulary size", "is \(vocabulary), but the model's is \(configuration.vocabularySize): the file belongs to another model family")
        }
        let first = window / 2, scoredPerChunk = window - 1 - first
        let recordLength = LogProbabilityFile.recordLength(vocabulary: vocabulary)
        let tokensOffset = 20, recordsOffset = tokensOffset + 4 * window * chunks
        let expectedSize = recordsOffset + chunks * scoredPerChunk * recordLength * 2
        guard bytes.count >= expectedSize else {
            throw fail(.truncated, "log-probabilities", "the file has \(bytes.count) bytes, \(expectedSize) are needed for \(chunks) chunks of \(window) tokens")
        }
        let tokens = (0..<window * chunks).map { int32(at: tokensOffset + 4 * $0) }
        if let bad = tokens.first(where: { $0 < 0 || $0 >= vocabulary }) {
            throw fail(.invalidValue, "tokens", "holds \(bad), outside the vocabulary of \(vocabulary)")
        }

        var sumNLL = 0.0, sumNLL2 = 0.0, sumBase = 0.0, sumBase2 = 0.0, sumCross = 0.0
        var sumKLD = 0.0, sumKLD2 = 0.0, sumDiff2 = 0.0, sumDiff4 = 0.0
        var sameTop = 0, count = 0
        var divergences: [Double] = []
        let logits = try Tensor(zeros: [window, vocabulary])
        for (index, chunk) in llamaCppChunks(tokens, length: window).enumerated() {
            let state = try model.makeState(context: window, batchCapacity: window, cacheType: .f32)
            try model.forward(chunk, state: state, allLogits: logits)
            for j in first..<window - 1 {
                let record = base + recordsOffset + ((index * scoredPerChunk) + (j - first)) * recordLength * 2
                let scale = Float(bitPattern: UInt32(littleEndian: record.loadUnaligned(as: UInt32.self)))
                let minimum = Float(bitPattern: UInt32(littleEndian: record.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
                func baseLogProbability(_ i: Int) -> Float {
                    scale * Float(UInt16(littleEndian: record.loadUnaligned(fromByteOffset: 8 + 2 * i, as: UInt16.self))) + minimum
                }
                let row = logits.floatPointer + j * vocabulary
                var maxLogit = row[0], top = 0
                for i in 1..<vocabulary where row[i] > maxLogit {
                    maxLogit = row[i]
                    top = i
                }
                var sumExp = 0.0
                for i in 0..<vocabulary { sumExp += Double(expf(row[i] - maxLogit)) }
                let logSumExp = Float(log(sumExp))
                let next = tokens[index * window + j + 1]
                let nll = Double(maxLogit + logSumExp - row[next])
                let baseNLL = Double(-baseLogProbability(next))
                sumNLL += nll; sumNLL2 += nll * nll
                sumBase += baseNLL; sumBase2 += baseNLL * baseNLL
                sumCross += nll * baseNLL
                // KL(base ‖ model) over the tokens the base gives more than e⁻¹⁶.
                let normalizer = maxLogit + logSumExp
                var divergence = 0.0, baseTop = 0
                var baseTopValue = -Float.infinity
                for i in 0..<vocabulary {
                    let logBase = baseLogProbability(i)
                    if i == 0 || logBase > baseTopValue {
                        baseTopValue = logBase
                        baseTop = i
                    }
                    if logBase > -16 { divergence += Double(expf(logBase) * (logBase - row[i] + normalizer)) }
                }
                sumKLD += divergence; sumKLD2 += divergence * divergence
                divergences.append(divergence)
                if top == baseTop { sameTop += 1 }
                let difference = Double(expf(Float(-nll)) - expf(Float(-baseNLL)))
                sumDiff2 += difference * difference; sumDiff4 += difference * difference * difference * difference
                count += 1
            }
            progress?(index + 1, chunks)
        }
        func estimate(_ sum: Double, _ sum2: Double) -> KLDivergenceResult.Estimate {
            let mean = sum / Double(count)
            let variance = sum2 / Double(count) - mean * mean
            return .init(value: mean, uncertainty: variance > 0 && count > 10 ? (variance / Double(count - 1)).squareRoot() : 0)
        }
        let logPPL = estimate(sumNLL, sumNLL2), logBasePPL = estimate(sumBase, sumBase2)
        let covariance = count < 10 ? 0 : (sumCross / Double(count) - (sumNLL / Double(count)) * (sumBase / Double(count))) / Double(count - 1)
        let ratioUncertainty = (logPPL.uncertainty * logPPL.uncertainty + logBasePPL.uncertainty * logBasePPL.uncertainty - 2 * covariance)
        let meanSquare = estimate(sumDiff2, sumDiff4)
        let rms = meanSquare.value.squareRoot()
        let same = Double(sameTop) / Double(count)
        divergences.sort()
        func percentile(_ fraction: Double) -> Double {
            let position = fraction * Double(divergences.count - 1)
            let low = Int(position), weight = position - Double(low)
            return (1 - weight) * divergences[low] + weight * divergences[min(low + 1, divergences.count - 1)]
        }
        return KLDivergenceResult(
            perplexity: .init(value: exp(logPPL.value), uncertainty: exp(logPPL.value) * logPPL.uncertainty),
            basePerplexity: .init(value: exp(logBasePPL.value), uncertainty: exp(logBasePPL.value) * logBasePPL.uncertainty),
            logPerplexityRatio: .init(value: logPPL.value - logBasePPL.value, uncertainty: max(ratioUncertainty, 0).squareRoot()),
            meanKLDivergence: estimate(sumKLD, sumKLD2),
            klDivergencePercentiles: Dictionary(uniqueKeysWithValues: [0.5, 0.9, 0.99, 0.999, 1].map { ($0, percentile($0)) }),
            sameTopToken: .init(value: same, uncertainty: count > 1 ? (same * (1 - same) / Double(count - 1)).squareRoot() : 0),
            rmsProbabilityDifference: .init(value: rms, uncertainty: rms > 0 ? 0.5 / rms * meanSquare.uncertainty : 0),
            tokenCount: count, chunkCount: chunks)
    }
}
