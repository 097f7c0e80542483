import TensorCore

/// What a converted or re-quantized file holds: one of llama.cpp's file types
/// (`llama_ftype`), named as `llama-quantize` names them. A file type is a base element
/// type plus llama-quantize's rules for the tensors that get another one (see
/// ``ConversionOptions/fileType``): `Q4_K_M` is mostly `q4_K`, with `q6_K` for the output
/// projection and for some layers' `attn_v` and `ffn_down`.
public enum QuantizationFileType: UInt32, CaseIterable, Sendable, CustomStringConvertible {
    case f32 = 0
    case f16 = 1
    case q4_0 = 2
    case q4_1 = 3
    case q8_0 = 7
    case q5_0 = 8
    case q5_1 = 9
    case q2_K = 10
    case q3_K_S = 11
    case q3_K_M = 12
    case q3_K_L = 13
    case q4_K_S = 14
    case q4_K_M = 15
    case q5_K_S = 16
    case q5_K_M = 17
    case q6_K = 18
    case bf16 = 32

    /// llama-quantize's name: `Q4_K_M`, `Q8_0`, `F16`.
    public var name: String {
        switch self {
        case .f32: "F32"
        case .f16: "F16"
        case .bf16: "BF16"
        case .q4_0: "Q4_0"
        case .q4_1: "Q4_1"
        case .q8_0: "Q8_0"
        case .q5_0: "Q5_0"
        case .q5_1: "Q5_1"
        case .q2_K: "Q2_K"
        case .q3_K_S: "Q3_K_S"
        case .q3_K_M: "Q3_K_M"
        case .q3_K_L: "Q3_K_L"
        case .q4_K_S: "Q4_K_S"
        case .q4_K_M: "Q4_K_M"
        case .q5_K_S: "Q5_K_S"
        case .q5_K_M: "Q5_K_M"
        case .q6_K: "Q6_K"
        }
    }

    public var description: String { name }

    /// The type most tensors get (`llama_ftype_get_default_type`).
    public var baseType: ElementType {
        switch self {
        case .f32: .f32
        case .f16: .f16
        case .bf16: .bf16
        case .q4_0: .q4_0
        case .q4_1: .q4_1
        case .q8_0: .q8_0
        case .q5_0: .q5_0
        case .q5_1: .q5_1
        case .q2_K: .q2_K
        case .q3_K_S, .q3_K_M, .q3_K_L: .q3_K
        case .q4_K_S, .q4_K_M: .q4_K
        case .q5_K_S, .q5_K_M: .q5_K
        case .q6_K: .q6_K
        }
    }

    /// The file type named `name`, ignoring case: llama-quantize's names and its aliases
    /// `Q3_K`, `Q4_K` and `Q5_K` (for the `_M` types).
    public init?(name: String) {
        let upper = name.uppercased()
        let aliases: [String: QuantizationFileType] = ["Q3_K": .q3_K_M, "Q4_K": .q4_K_M, "Q5_K": .q5_K_M]
        if let alias = aliases[upper] {
            self = alias
            return
        }
        guard let match = Self.allCases.first(where: { $0.name == upper }) else { return nil }
        self = match
    }

    /// The file type whose tensors are all `type` (for a K-quant element type, the
    /// `_M` mix llama-quantize's alias names), or nil for a type no file type has.
    public init?(elementType type: ElementType) {
        switch type {
        case .q3_K: self = .q3_K_M
        case .q4_K: self = .q4_K_M
        case .q5_K: self = .q5_K_M
        case .q8_K: return nil
        default:
            guard let match = Self.allCases.first(where: { $0.baseType == type }) else { return nil }
            self = match
        }
    }

    /// The names `init(name:)` accepts, for error messages and help.
    public static var names: [String] { allCases.map(\.name) }
}
