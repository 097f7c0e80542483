import TensorCore

/// Which type each tensor gets in the output, following llama.cpp:
///
/// * 1-D tensors and norms (`*_norm.weight`) stay `f32` (convert_hf_to_gguf.py).
/// * `f32`, `f16`, `bf16`, `q8_0`: every other tensor gets that type, the token
///   embedding and output projection included (convert_hf_to_gguf.py).
/// * `q4_0`, `q4_1`, `q5_0`, `q5_1` (llama-quantize's rule for these types): the
///   output projection — or the token embedding when the output is tied to it — gets
///   more bits. llama.cpp uses `Q6_K`, which this library cannot write; it uses
///   `q8_0` instead (a slightly larger, more precise file). The token embedding of an
///   untied model gets the chosen type.
/// * A tensor whose rows are not a whole number of blocks of the chosen type falls back
///   to `f16`, as in convert_hf_to_gguf.py.
struct TensorTypePolicy {
    let outputType: ElementType
    /// Whether the model has a separate `output.weight`.
    let hasOutputTensor: Bool

    func type(forTensor name: String, shape: [Int]) -> ElementType {
        if shape.count <= 1 || name.hasSuffix("_norm.weight") { return .f32 }
        var type = outputType
        if [.q4_0, .q4_1, .q5_0, .q5_1].contains(outputType),
           name == "output.weight" || (!hasOutputTensor && name == "token_embd.weight") {
            type = .q8_0
        }
        if shape[shape.count - 1] % type.blockLength != 0 { type = .f16 }
        return type
    }

    /// llama.cpp's `general.file_type` number for the chosen type.
    var fileType: UInt32 {
        switch outputType {
        case .f32: 0
        case .f16: 1
        case .q4_0: 2
        case .q4_1: 3
        case .q8_0: 7
        case .q5_0: 8
        case .q5_1: 9
        case .bf16: 32
        default: 0
        }
    }
}
