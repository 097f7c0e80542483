import Foundation
import ModelFormats
import TensorCore

extension GGUFModelMetadata {
    /// The linear RoPE scale of `<arch>.rope.scaling.*` (1 when the file sets none or
    /// another kind).
    var linearRopeScale: Float {
        if ropeScalingType == "linear", let factor = ropeScalingFactor { return Float(factor) }
        return 1
    }
}

extension GGUFFile {
    /// The RoPE frequency factors of the `rope_freqs.weight` tensor (llama.cpp's form of
    /// Llama 3's scaling), or `nil` when the file has none. It must hold one positive
    /// value per rotated pair.
    func ropeFrequencyFactors(dimensions: Int) throws -> [Float]? {
        let name = "rope_freqs.weight"
        guard let info = tensorInfo(named: name) else { return nil }
        guard info.shape.reduce(1, *) == dimensions / 2 else {
            throw ModelError.invalidWeight(
                name: name, file: path, problem: "has shape \(info.shape), expected [\(dimensions / 2)] (one factor per rotated pair)")
        }
        let factors = try Tensor(converting: tensor(info), to: .f32).floats()
        if let bad = factors.first(where: { !($0 > 0 && $0.isFinite) }) {
            throw ModelError.invalidWeight(name: name, file: path, problem: "holds \(bad); every factor must be finite and positive")
        }
        return factors
    }
}

extension HuggingFaceConfig {
    /// The linear RoPE scale of `rope_scaling` (1 when absent, `default` or `llama3`,
    /// whose scaling is per-frequency, ``ropeFrequencyFactors(dimensions:base:)``);
    /// another kind of scaling is an error, since the model would compute other
    /// positions than the checkpoint was trained with.
    func linearRopeScale() throws -> Float {
        guard let scaling = ropeScaling, scaling.type != "default", scaling.type != "llama3" else { return 1 }
        guard scaling.type == "linear", let factor = scaling.factor else {
            throw ModelError.invalidConfiguration("\(file): rope_scaling '\(scaling.type)' is not supported (linear and llama3 are)")
        }
        return Float(factor)
    }

    /// The per-pair frequency divisors of Llama 3's `rope_scaling` (`rope_type`
    /// `llama3`), as transformers' `_compute_llama3_parameters` scales `inv_freq` and
    /// llama.cpp's converter writes `rope_freqs.weight`: a frequency whose wavelength
    /// `2π / f` exceeds `original / low_freq_factor` is divided by `factor`, one under
    /// `original / high_freq_factor` is kept, and between them the divisor is
    /// `1 / ((1 − s) / factor + s)` with `s = (original / wavelength − low) / (high − low)`.
    /// `nil` for any other scaling.
    func ropeFrequencyFactors(dimensions: Int, base: Float) throws -> [Float]? {
        guard let scaling = ropeScaling, scaling.type == "llama3" else { return nil }
        // transformers' defaults are those of Llama 3.1.
        let factor = scaling.factor ?? 8, low = scaling.lowFrequencyFactor ?? 1, high = scaling.highFrequencyFactor ?? 4
        let original = Double(scaling.originalMaxPositionEmbeddings ?? 8192)
        guard high > low else {
            throw ModelError.invalidConfiguration(
                "\(file): rope_scaling.high_freq_factor \(high) must exceed low_freq_factor \(low)")
        }
        let unscaled = RotaryEmbedding.Parameters(base: base, layout: .halfSplit, dimensions: dimensions)
        return (0..<dimensions / 2).map { i in
            let wavelength = 2 * Double.pi / Double(unscaled.frequency(ofPair: i))
            if wavelength < original / high { return 1 }
            if wavelength > original / low { return Float(factor) }
            let smooth = (original / wavelength - low) / (high - low)
            return Float(1 / ((1 - smooth) / factor + smooth))
        }
    }
}

extension HuggingFaceConfig {
    private struct BiasKeys: Decodable {
        var attentionBias: Bool?
        var mlpBias: Bool?
        enum CodingKeys: String, CodingKey { case attentionBias = "attention_bias", mlpBias = "mlp_bias" }
    }

    /// `attention_bias`: whether the attention projections (Q, K, V and output) have
    /// biases; `false` when absent.
    var attentionBias: Bool { get throws { try decode(BiasKeys.self).attentionBias ?? false } }

    /// `mlp_bias`: whether the feed-forward projections have biases; `false` when absent.
    var mlpBias: Bool { get throws { try decode(BiasKeys.self).mlpBias ?? false } }
}
