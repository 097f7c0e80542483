import CPUKernels

extension BLASBackend {
    /// The instruction sets the fused C kernels are written for, in increasing order.
    ///
    /// A backend uses the highest one that its configuration allows and the processor
    /// has (``BLASBackend/instructionSet``). Pinning a lower one runs that code on any
    /// machine: the tests compare every level with the reference backend, and
    /// `llama bench --backend-option instruction-set=avx2` measures what a processor
    /// without AVX-512 would get from the same kernels.
    public enum InstructionSet: String, Sendable, CaseIterable, Comparable {
        /// Plain C, compiled for the target's baseline (any processor, Apple silicon included).
        case portable
        /// AVX2 with FMA and F16C (x86-64 from 2013 on).
        case avx2
        /// AVX-512 F/BW/VL, with VNNI for the integer kernels.
        case avx512

        /// The best instruction set of this processor.
        public static var detected: InstructionSet { InstructionSet(ck_detected_isa()) }

        init(_ isa: ck_isa) {
            self = switch isa {
            case CK_ISA_AVX512: .avx512
            case CK_ISA_AVX2: .avx2
            default: .portable
            }
        }

        var kernelValue: ck_isa {
            switch self {
            case .portable: CK_ISA_PORTABLE
            case .avx2: CK_ISA_AVX2
            case .avx512: CK_ISA_AVX512
            }
        }

        public static func < (lhs: InstructionSet, rhs: InstructionSet) -> Bool {
            lhs.kernelValue.rawValue < rhs.kernelValue.rawValue
        }
    }
}
