import CPUKernels

/// The processor rules behind the backend's `auto` options, from the C kernels' policy
/// (`ProcessorPolicy.c`, which states each rule's measured reason; the figures are in
/// Documentation/Performance.md).
enum ProcessorPolicy {
    /// One rule: the setting it decides, whether it applies to this processor, and what it says.
    struct Rule: CustomStringConvertible {
        let setting: String
        let applies: Bool
        let description: String
    }

    static var halfActivations: Rule {
        Rule(
            setting: "half-activations", applies: ck_half_activations_are_faster() != 0,
            description: "an AMD processor with AVX2, where f16 activations for f16 and bf16 weights are faster")
    }
    static var floatWeightPrefetch: Rule {
        Rule(
            setting: "float weight prefetch", applies: ck_float_weight_prefetch_is_faster() != 0,
            description: "AVX-512 outside AMD's before Zen 5, where the float kernels' every-row prefetch is faster")
    }
    static var quantizedWeightPrefetch: Rule {
        Rule(
            setting: "quantized weight prefetch", applies: ck_quantized_weight_prefetch_is_faster() != 0,
            description: "AVX-512, where the integer kernels' every-row prefetch is faster")
    }
    static var blockPairs: Rule {
        Rule(
            setting: "block-pairs", applies: ck_block_pairs_are_faster() != 0,
            description: "AVX-512 outside AMD's before Zen 5 (full-width 512-bit units), where two blocks per register are faster")
    }
}

extension BLASBackend {
    /// Whether `f16` and `bf16` rows are multiplied faster with `f16` activations than with
    /// `f32` ones on this processor: true on AMD processors with AVX2, false elsewhere (on
    /// Intel's widening an `f16` activation costs a shuffle; without AVX2 the `f16` kernel
    /// is plain C). See Documentation/Performance.md.
    public static var halfActivationsAreFaster: Bool { ProcessorPolicy.halfActivations.applies }
    /// Whether the float decode kernels read weights faster with a software prefetch of
    /// every row on this processor: true on x86-64 processors with AVX-512 that are not
    /// AMD's and on AMD's from family 26 (Zen 5), false on Zen 4 (level or slower there)
    /// and elsewhere. See Documentation/Performance.md.
    public static var floatWeightPrefetchIsFaster: Bool { ProcessorPolicy.floatWeightPrefetch.applies }
    /// Whether the quantized decode kernels read weights faster with a software prefetch of
    /// every row on this processor: true on x86-64 processors with AVX-512 (Intel's and
    /// AMD's Zen 4; level on Zen 5), false elsewhere. See Documentation/Performance.md.
    public static var quantizedWeightPrefetchIsFaster: Bool { ProcessorPolicy.quantizedWeightPrefetch.applies }
    /// Whether two blocks per 512-bit register are faster on this processor: true with
    /// AVX-512 except on AMD's before family 26 (slower on Zen 4, whose 512-bit operations
    /// take two 256-bit halves; faster on Zen 5). See Documentation/Performance.md.
    public static var blockPairsAreFaster: Bool { ProcessorPolicy.blockPairs.applies }

    /// Where the integer matrix products overtake the fused dots, by the tiles the
    /// instruction set runs (the kernel table's integer matrix–matrix kernels): 6 rows
    /// with AVX-512 VNNI; 16 with the AVX2 tiles, whose weight packing costs more against
    /// 256-bit products (and where there are no tiles).
    public static func defaultIntegerMatrixRowThreshold(for instructionSet: InstructionSet) -> Int {
        Int(ck_integer_gemm_min_rows(KernelTable.gemmInstructionSet(allowed: instructionSet)?.kernelValue ?? CK_ISA_PORTABLE))
    }

    /// The kernels the process's OpenBLAS runs, by OpenBLAS's name for them ("SkylakeX",
    /// "Haswell", "Zen", "Prescott", …), or `nil` if OpenBLAS does not say.
    public static var openBLASCore: String? { ck_openblas_core().map { String(cString: $0) } }
    /// Whether OpenBLAS runs kernels without AVX-512 on a processor with AVX-512
    /// (``InstructionSet/avx512``), or its SSE3 "Prescott" fallback on one with AVX2, as
    /// when `OPENBLAS_CORETYPE` chose them (the backend leaves that choice alone). On an AMD
    /// EPYC of the Zen 5 generation `OPENBLAS_CORETYPE=Haswell` makes `f32` and `f16`
    /// prompts much slower than OpenBLAS's own choice (Cooperlake). `false` when OpenBLAS
    /// does not say which kernels it runs.
    public static var openBLASCoreIsBelowProcessor: Bool {
        guard let core = openBLASCore else { return false }
        switch InstructionSet.detected {
        case .avx512: return !["SkylakeX", "Cooperlake", "SapphireRapids"].contains(core)
        case .avx2: return core == "Prescott"
        case .portable: return false
        }
    }
}
