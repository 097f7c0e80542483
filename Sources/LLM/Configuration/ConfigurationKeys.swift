import ModelFormats

extension GGUFModelMetadata {
    /// The linear RoPE scale of `<arch>.rope.scaling.*` (1 when the file sets none or
    /// another kind).
    var linearRopeScale: Float {
        if ropeScalingType == "linear", let factor = ropeScalingFactor { return Float(factor) }
        return 1
    }
}

extension HuggingFaceConfig {
    /// The linear RoPE scale of `rope_scaling` (1 when absent or `default`); another kind
    /// of scaling is an error, since the model would compute other positions than the
    /// checkpoint was trained with.
    func linearRopeScale() throws -> Float {
        guard let scaling = ropeScaling, scaling.type != "default" else { return 1 }
        guard scaling.type == "linear", let factor = scaling.factor else {
            throw ModelError.invalidConfiguration("RoPE scaling '\(scaling.type)' is not supported (linear is)")
        }
        return Float(factor)
    }
}
