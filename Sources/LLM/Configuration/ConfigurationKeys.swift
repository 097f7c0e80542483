import Foundation
import ModelFormats
import TensorCore

extension GGUFModelMetadata {
    /// The linear RoPE scale of `<arch>.rope.scaling.*` (1 when the file sets none). Another
    /// kind (`yarn`, …) is an error naming `file`, since the model would compute other
    /// positions than it was trained with.
    func linearRopeScale(file: String) throws -> Float {
        switch ropeScalingType {
        case nil, "none": return 1
        case "linear": return ropeScalingFactor.map(Float.init) ?? 1
        case let other?:
            throw ModelError.unsupportedModel(
                file: file, reason: "\(architecture).rope.scaling.type '\(other)' is not supported (linear is)")
        }
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
    /// whose scaling is per-frequency, `ropeFrequencyFactors(dimensions:base:)`);
    /// another kind of scaling is an error, since the model would compute other
    /// positions than the checkpoint was trained with.
    func linearRopeScale() throws -> Float {
        guard let scaling = ropeScaling, scaling.type != "default", scaling.type != "llama3" else { return 1 }
        guard scaling.type == "linear", let factor = scaling.factor else {
            throw ModelError.invalidConfiguration("\(file): rope_scaling '\(scaling.type)' is not supported (linear and llama3 are)")
        }
        return Float(factor)
    }
}
