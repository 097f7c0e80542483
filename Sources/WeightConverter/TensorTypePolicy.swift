import TensorCore

/// Which type each tensor gets in the output.
///
/// For the quantized file types this is llama-quantize's choice (`llama_tensor_get_type`
/// in llama.cpp's `llama-quant.cpp`), for the architectures this package writes:
///
/// * Only tensors whose name ends in `weight`, with two or more dimensions and not a norm,
///   are quantized; the others keep their type (`f32` when converting a checkpoint).
/// * The output projection — or the token embedding when the output is tied to it — gets
///   `q6_K` (`q8_0` when its rows are not whole 256-value blocks, and left as `q8_0` in a
///   `Q8_0` file).
/// * The K-quant mixes raise some tensors: `attn_v` (by its index among the layers and by
///   grouped-query sharing), `ffn_down` (by layer), `attn_output`, as the rules below say;
///   `use_more_bits` picks the first and last eighth of the layers and every third one
///   between.
/// * A tensor whose rows are not whole blocks of its type falls back: `q2_K`/`q3_K` to
///   `q4_0`, `q4_K` to `q5_0`, `q5_K` to `q5_1`, `q6_K` to `q8_0`, and to `f16` when even
///   that does not fit.
///
/// For `f32`, `f16`, `bf16` and `q8_0` a converted checkpoint follows
/// `convert_hf_to_gguf.py` instead: every 2-D tensor but the norms gets the type, and a
/// tensor whose rows are not whole blocks gets `f16`.
struct TensorTypePolicy {
    /// The facts about the model the rules depend on.
    struct Model {
        /// `general.architecture`.
        var architecture: String
        var layerCount: Int
        var headCount: Int
        var keyValueHeadCount: Int
        /// Every tensor's name, to count the `attn_v` tensors and find `output.weight`.
        var tensorNames: [String]
    }

    let fileType: QuantizationFileType
    /// Whether an importance matrix is used (llama-quantize's `has_imatrix`).
    var hasImportanceMatrix = false
    /// Whether the input is a checkpoint being converted (convert_hf_to_gguf's rules for
    /// the types it writes) rather than a GGUF file being re-quantized.
    let convertingCheckpoint: Bool
    private let model: Model
    private let hasOutputTensor: Bool
    /// Each `attn_v` tensor's index in llama-quantize's order, and how many there are.
    private let attentionValueIndex: [String: Int]
    private let feedForwardDownIndex: [String: Int]

    init(fileType: QuantizationFileType, model: Model, convertingCheckpoint: Bool) {
        self.fileType = fileType
        self.model = model
        self.convertingCheckpoint = convertingCheckpoint
        hasOutputTensor = model.tensorNames.contains("output.weight")
        let ordered = model.tensorNames.sorted(by: Self.llamaQuantizeOrder)
        var attention: [String: Int] = [:], down: [String: Int] = [:]
        for name in ordered {
            if Self.category(of: name) == .attentionValue { attention[name] = attention.count }
            if Self.category(of: name) == .feedForwardDown { down[name] = down.count }
        }
        attentionValueIndex = attention
        feedForwardDownIndex = down
    }

    /// llama-quantize's tensor order (`weight_name_comparer`): by layer number (tensors
    /// outside the layers first), then by name.
    static func llamaQuantizeOrder(_ a: String, _ b: String) -> Bool {
        let layerA = layer(of: a) ?? -1, layerB = layer(of: b) ?? -1
        return layerA != layerB ? layerA < layerB : a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    /// N of a `blk.N.` name.
    static func layer(of name: String) -> Int? {
        guard name.hasPrefix("blk.") else { return nil }
        return Int(name.dropFirst(4).prefix { $0.isNumber })
    }

    enum Category {
        case output, tokenEmbedding, attentionQKV, attentionValue, attentionKey, attentionQuery, attentionOutput
        case feedForwardUp, feedForwardGate, feedForwardDown, other
    }

    /// llama-quantize's `tensor_get_category`.
    static func category(of name: String) -> Category {
        if name == "output.weight" { return .output }
        if name == "token_embd.weight" || name == "per_layer_token_embd.weight" { return .tokenEmbedding }
        let rules: [(String, Category)] = [
            ("attn_qkv.weight", .attentionQKV), ("attn_kv_b.weight", .attentionValue), ("attn_v.weight", .attentionValue),
            ("attn_k.weight", .attentionKey), ("attn_q.weight", .attentionQuery), ("attn_output.weight", .attentionOutput),
            ("ffn_up", .feedForwardUp), ("ffn_gate", .feedForwardGate), ("ffn_down", .feedForwardDown),
        ]
        return rules.first { name.contains($0.0) }?.1 ?? .other
    }

    /// llama-quantize's `tensor_allows_quantization` for the names these architectures use.
    static func allowsQuantization(name: String, shape: [Int]) -> Bool {
        guard shape.count >= 2, name.hasSuffix("weight") else { return false }
        let kept = [
            "_norm.weight", "ffn_gate_inp.weight", "altup", "laurel", "per_layer_model_proj", "ssm_conv1d",
            "shortconv.conv.weight", "attn_rel_b.weight", "time_mix_", ".position_embd", ".patch_embd",
        ]
        return !kept.contains { name.contains($0) } && name != "position_embd.weight" && name != "token_types.weight"
    }

    /// The type of tensor `name` of `shape` (rows last), stored as `storedType` in the input.
    func type(forTensor name: String, shape: [Int], storedType: ElementType = .f32) -> ElementType {
        let columns = shape.last ?? 1
        let base = fileType.baseType
        if convertingCheckpoint && [.f32, .f16, .bf16, .q8_0].contains(base) {
            if shape.count <= 1 || name.hasSuffix("_norm.weight") { return .f32 }
            return columns % base.blockLength == 0 ? base : .f16
        }
        guard Self.allowsQuantization(name: name, shape: shape) else { return convertingCheckpoint ? .f32 : storedType }
        guard base.isQuantized else { return base }
        return fallback(for: mixedType(name: name, columns: columns), columns: columns)
    }

    private func useMoreBits(_ layer: Int, _ layers: Int) -> Bool {
        layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2
    }

    private var groupedQueryFactor: Int { model.keyValueHeadCount > 0 ? model.headCount / model.keyValueHeadCount : 0 }

    /// llama.cpp's LLM_TYPE_70B, the one model size its rules look at.
    private var is70B: Bool {
        model.layerCount == 80
            && ((model.architecture == "llama" && model.headCount != model.keyValueHeadCount) || model.architecture == "qwen2")
    }

    /// `llama_tensor_get_type_impl` for the file types of ``QuantizationFileType``.
    private func mixedType(name: String, columns: Int) -> ElementType {
        var type = fileType.baseType
        let category = Self.category(of: name)
        switch category {
        case .output, .tokenEmbedding where !hasOutputTensor:
            if columns % type.blockLength != 0 { return .q8_0 }
            return type == .q8_0 ? .q8_0 : .q6_K
        case .tokenEmbedding:
            return type
        case .attentionValue:
            let index = attentionValueIndex[name] ?? 0
            switch fileType {
            case .q2_K: type = groupedQueryFactor >= 4 ? .q4_K : .q3_K
            case .q3_K_M: type = index < 2 ? .q5_K : .q4_K
            case .q3_K_L: type = .q5_K
            case .q4_K_M, .q5_K_M: if useMoreBits(index, attentionValueIndex.count) { type = .q6_K }
            case .q4_K_S: if index < 4 { type = .q5_K }
            default: break
            }
            if is70B && (type == .q3_K || type == .q4_K) { type = .q5_K }
        case .feedForwardDown:
            let layer = feedForwardDownIndex[name] ?? 0, layers = model.layerCount
            switch fileType {
            case .q2_K: type = .q3_K
            case .q3_K_M: type = layer < layers / 16 ? .q5_K : .q4_K
            case .q3_K_L: type = .q5_K
            case .q4_K_M, .q5_K_M: if useMoreBits(layer, layers) { type = .q6_K }
            case .q4_K_S: if layer < layers / 8 { type = .q5_K }
            // With an importance matrix the first ffn_down layers of Q4_0/Q5_0 files get a
            // minimum as well, against the outliers those layers tend to have.
            case .q4_0 where hasImportanceMatrix && layer < layers / 8: type = .q4_1
            case .q5_0 where hasImportanceMatrix && layer < layers / 8: type = .q5_1
            default: break
            }
        case .attentionOutput:
            switch fileType {
            case .q2_K: type = .q3_K
            case .q3_K_M: type = .q4_K
            case .q3_K_L: type = .q5_K
            default: break
            }
        case .attentionQKV:
            switch fileType {
            case .q3_K_M, .q3_K_L: type = .q4_K
            case .q4_K_M: type = .q5_K
            case .q5_K_M: type = .q6_K
            default: break
            }
        case .attentionKey, .attentionQuery, .feedForwardUp, .feedForwardGate, .other:
            break
        }
        return type
    }

    /// `tensor_type_fallback`: a type whose blocks fit rows of `columns` values.
    private func fallback(for type: ElementType, columns: Int) -> ElementType {
        guard columns % type.blockLength != 0 else { return type }
        let smaller: ElementType = switch type {
        case .q2_K, .q3_K: .q4_0
        case .q4_K: .q5_0
        case .q5_K: .q5_1
        case .q6_K: .q8_0
        default: type
        }
        return columns % smaller.blockLength == 0 ? smaller : .f16
    }
}
