import CPUKernels
import TensorCore

extension ElementType {
    /// The number the C kernels use for this type (GGML's numbering).
    var kernelType: ck_type {
        switch self {
        case .f32: CK_F32
        case .f16: CK_F16
        case .bf16: CK_BF16
        case .q8_0: CK_Q8_0
        case .q4_0: CK_Q4_0
        case .q4_1: CK_Q4_1
        case .q5_0: CK_Q5_0
        case .q5_1: CK_Q5_1
        case .q2_K: CK_Q2_K
        case .q3_K: CK_Q3_K
        case .q4_K: CK_Q4_K
        case .q5_K: CK_Q5_K
        case .q6_K: CK_Q6_K
        case .q8_K: CK_Q8_K
        }
    }
}
