import COpenBLAS
import CPUKernels
import Logging
import TensorCore

/// A backend that computes matrix products with OpenBLAS and its own fused
/// dequantize-and-dot kernels, and everything else with the reference kernels.
///
/// Matrix products, by weight type and number of input rows `n`:
/// - small `n` (decode, short prompts): one pass over the weight rows, split over
///   threads, each row multiplied with all `n` input rows while it is in the cache: float
///   dot products for `f32` weights, and for `f16` and `bf16` weights with the input
///   rounded to `f16`, integer dot products for quantized ones (see
///   ``activationPrecision``).
/// - `f32` weights, `n` from ``matrixRowThreshold``: `cblas_sgemm` on the weight as it lies.
/// - quantized weights with an integer matrix-product kernel (`Q8_0`, `Q4_0`, `Q4_1`,
///   `Q5_0`, `Q5_1`, `Q4_K`, `Q5_K`, `Q6_K` on a processor with AVX-512 VNNI or AVX2), `n`
///   from ``integerMatrixRowThreshold``: the input rows are rounded to int16 per block of
///   32 as for decoding, weight panels are repacked into each thread's scratch, and the
///   product is computed in int16 integer tiles (``QuantizedPrefill/int16``).
/// - other types, `n` from ``panelRowThreshold`` (prompt processing): panels of weight
///   rows are dequantized to `f32` into a scratch buffer of about ``panelByteCount``
///   bytes, and each panel is multiplied with `cblas_sgemm`.
///
/// Which kernels exist for which weight type, activation precision and instruction set is
/// the kernel table of the C kernels (`KernelTable.c`); the backend resolves each weight
/// type's kernels from it once, when it is created, and logs them at `debug` level.
///
/// The thresholds are where the paths cross on a 2-core AVX-512 machine (TinyLlama
/// shapes): the fused dots run at the same speed whatever `n`, `sgemm` runs faster once
/// `n` is large, the AVX-512 integer tiles faster still (one 512-bit `vpdpwssd` is 32
/// multiply-adds; the AVX2 tiles, `vpmaddwd` and `vpaddd` on 256 bits, about as fast as
/// `sgemm` without its dequantization), and dequantizing a panel costs the same however
/// few rows use it.
///
/// For quantized weights (`Q8_0`, `Q4_0`, `Q4_1`, `Q5_0`, `Q5_1`, `Q4_K`, `Q5_K`,
/// `Q6_K`) the decode path rounds each input row to int16 per block of 32 values
/// (scale = max |x| / 32512) and computes integer dot products (``activationPrecision``;
/// int8, as llama.cpp, is faster and less precise). For `f16` and `bf16` weights, on
/// processors where that is faster (``halfActivationsAreFaster``: AMD's), it rounds each
/// input row to `f16` (scaled by a power of two into `f16`'s range), as llama.cpp does for
/// `f16` (it rounds to `bf16` for `bf16`): the activations then cost half the loads,
/// which lets decode read the weights faster; on others (Intel's, where widening them
/// costs more than the loads they save) and with `activations=float` they stay in `f32`
/// (``halfActivations``). `f32` weights always meet `f32` activations.
///
/// Options (`BackendConfiguration.options`): `gemm-min-rows` sets
/// ``matrixRowThreshold``, `integer-gemm-min-rows` sets ``integerMatrixRowThreshold``,
/// `panel-min-rows` sets ``panelRowThreshold``, `panel-bytes` sets ``panelByteCount``,
/// `block-attention-min-rows` sets ``blockAttentionRowThreshold``,
/// `activations` (`int16`, `int8` or `float`) sets ``activationPrecision``,
/// `half-activations` (`on`, `off` or `auto`, the default) sets ``halfActivations``,
/// `weight-prefetch` (`on`, `off` or `auto`, the default) sets ``prefetchesFloatWeights`` and
/// ``prefetchesQuantizedWeights``,
/// `block-pairs` (`on`, `off` or `auto`, the default) sets ``takesBlockPairs``,
/// `quantized-prefill` (`int16` or `panels`) sets ``quantizedPrefill``, `instruction-set`
/// (`avx512`, `avx2` or `portable`) caps ``instructionSet``, `openblas-core` (`auto`, the
/// default, or `keep`) decides whether an OpenBLAS that fell back to its SSE3 kernels may
/// be switched to its AVX-512 or AVX2 ones (``openBLASCore``). Any other key is an error
/// that lists these (``optionKeys``), so a misspelt setting is not silently ignored.
///
/// OpenBLAS's thread count is a process-wide setting; creating a `BLASBackend` sets
/// it to `BackendConfiguration.threadCount`. So is the choice of OpenBLAS's kernels:
/// an OpenBLAS built for many processors (Debian's) that does not know this one runs its
/// "Prescott" (SSE3) kernels, far slower than its AVX-512 ones on a recent Xeon; unless
/// `openblas-core=keep` or `OPENBLAS_CORETYPE` is set, creating a backend makes it choose
/// its "SkylakeX" (AVX-512) or "Haswell" (AVX2) kernels instead (once per process),
/// through OpenBLAS's own `OPENBLAS_CORETYPE` mechanism: the variable is set for the
/// moment of the switch, so create the first backend before other threads read or
/// change the environment.
public final class BLASBackend: Backend {
    public static let name = "blas"
    public let configuration: BackendConfiguration
    /// Input rows from which `f32` weights go through `sgemm` instead of fused dots, and
    /// from which attention over an `f32` cache is computed as matrix products.
    public let matrixRowThreshold: Int
    /// Input rows from which weights of other types are dequantized into panels for `sgemm`
    /// instead of going through fused dots.
    public let panelRowThreshold: Int
    /// Queries from which attention over an `f32` cache without an additive mask runs in
    /// blocks of 16 queries (AVX-512), before the matrix-product path.
    public let blockAttentionRowThreshold: Int
    /// Input rows from which quantized weights go through the integer matrix products
    /// (``QuantizedPrefill/int16``) instead of fused dots, where those are available
    /// (by default ``defaultIntegerMatrixRowThreshold(for:)``).
    public let integerMatrixRowThreshold: Int
    /// The size of the `f32` scratch panel a quantized weight is dequantized into.
    public let panelByteCount: Int

    /// How quantized, `f16` and `bf16` weights meet the activations when decoding. With
    /// `int8` and `int16`, `f16` and `bf16` weights meet activations rounded to `f16` where
    /// ``halfActivations`` is on: each row is scaled by a power of two that puts its
    /// largest magnitude in [2¹⁴, 2¹⁵), then rounded to nearest even, so each value moves
    /// by at most 2⁻¹¹ of itself; otherwise, and always with `float`, `f16` and `bf16`
    /// weights are computed exactly as transformers does in float32.
    public enum ActivationPrecision: String, Sendable, CaseIterable {
        /// Activations rounded to int8 per block of 32, integer dot products: llama.cpp's
        /// arrangement and the fastest, but it moves logits visibly (on Gemma 3 by up to
        /// about half a unit) and can change a greedy continuation where the top two
        /// logits are close.
        case int8
        /// Activations rounded to int16 per block of 32, integer dot products (the default):
        /// exact int16 products from two 8-bit ones; logits stay close to float's.
        case int16
        /// Float activations for every weight type, weights dequantized on the fly.
        case float
    }

    /// How prompts meet quantized weights (from ``panelRowThreshold`` input rows).
    public enum QuantizedPrefill: String, Sendable, CaseIterable {
        /// Integer matrix products in the precision of the `int16` decode kernels, where the
        /// processor has AVX-512 VNNI or AVX2 and the type a kernel (the default); elsewhere
        /// `panels`.
        case int16
        /// Weights dequantized to `f32` panels, multiplied with `cblas_sgemm`.
        case panels
    }

    /// The prompt-processing path for quantized weights.
    public let quantizedPrefill: QuantizedPrefill
    /// The activation precision of the decode kernels for quantized, `f16` and `bf16` weights.
    public let activationPrecision: ActivationPrecision
    /// Whether `f16` and `bf16` weights meet activations rounded to `f16` when decoding
    /// (with ``activationPrecision`` `int8` or `int16`; `float` keeps `f32` activations
    /// whatever this says). The `half-activations` option sets it (`on` or `off`); by
    /// default (`auto`) it is ``halfActivationsAreFaster``.
    public let halfActivations: Bool
    /// Whether the AVX-512 decode kernels of `f32`, `f16` and `bf16` weights (with `f32` or
    /// `f16` activations) prefetch every weight row 2 KiB ahead into all cache levels. The
    /// `weight-prefetch` option sets it and ``prefetchesQuantizedWeights`` (`on` or `off`);
    /// by default (`auto`) it is ``floatWeightPrefetchIsFaster``. The results are the same
    /// either way.
    public let prefetchesFloatWeights: Bool
    /// Whether the AVX-512 VNNI int16 and int8 decode kernels of quantized weights prefetch
    /// every weight row 2 KiB ahead into all cache levels; without it the int16 ones
    /// prefetch only rows of 4096 values and more, non-temporally. Set by `weight-prefetch`
    /// as ``prefetchesFloatWeights``; by default (`auto`) it is
    /// ``quantizedWeightPrefetchIsFaster``. The results are the same either way.
    public let prefetchesQuantizedWeights: Bool
    /// Whether the AVX-512 VNNI int16 decode kernels of `Q8_0`, `Q4_0`, `Q4_1` and `Q4_K`
    /// weights take two blocks of 32 per 512-bit register (otherwise one per 256-bit register; the
    /// same integer sums, the scaled sums added in another order). The `block-pairs` option
    /// sets it (`on` or `off`); by default (`auto`) it is ``blockPairsAreFaster``.
    public let takesBlockPairs: Bool
    /// The instruction set the fused kernels use: the processor's best
    /// (``InstructionSet/detected``) unless the `instruction-set` option asks for less.
    public let instructionSet: InstructionSet

    /// Each weight type's kernels, resolved from the kernel table at creation.
    let kernels: ResolvedKernelTable
    /// Whether prompts' attention may run in blocks of queries (`ck_block_attention`).
    let usesBlockAttention: Bool
    let parallelRows: ParallelRows
    let scratch = ScratchBuffers()

    /// The keys of `BackendConfiguration.options` this backend reads; creating one with
    /// any other key throws.
    public static let optionKeys: [String] = [
        "activations", "block-attention-min-rows", "block-pairs", "gemm-min-rows", "half-activations", "instruction-set",
        "integer-gemm-min-rows", "openblas-core", "panel-bytes", "panel-min-rows", "quantized-prefill", "weight-prefetch",
    ]

    /// Creates a backend with `configuration` and the default logger (see
    /// ``init(configuration:logger:)``).
    public convenience init(configuration: BackendConfiguration) throws {
        try self.init(configuration: configuration, logger: Logger(label: "SwiftLlama.BLASBackend"))
    }

    /// Creates a backend: reads its options (throwing on an unknown key or a bad value),
    /// resolves each weight type's kernels from the kernel table, sets OpenBLAS's thread
    /// count and, unless `openblas-core=keep`, lets OpenBLAS leave its SSE3 fallback.
    ///
    /// - Parameters:
    ///   - configuration: the thread count and the options listed in ``optionKeys``.
    ///   - logger: where the backend reports, at `debug` level, the kernels it resolved
    ///     for each weight type (activations, instruction set, options), the processor
    ///     rules behind its `auto` options, and OpenBLAS's kernels before and after the
    ///     switch. Nothing is logged after creation.
    public init(
        configuration: BackendConfiguration = BackendConfiguration(),
        logger: Logger = Logger(label: "SwiftLlama.BLASBackend")
    ) throws {
        let options = try Options(configuration)
        self.configuration = configuration
        matrixRowThreshold = options.matrixRowThreshold
        panelRowThreshold = options.panelRowThreshold
        blockAttentionRowThreshold = options.blockAttentionRowThreshold
        panelByteCount = options.panelByteCount
        activationPrecision = options.activationPrecision
        halfActivations = options.halfActivations
        prefetchesFloatWeights = options.prefetchesFloatWeights
        prefetchesQuantizedWeights = options.prefetchesQuantizedWeights
        takesBlockPairs = options.takesBlockPairs
        quantizedPrefill = options.quantizedPrefill
        instructionSet = options.instructionSet
        integerMatrixRowThreshold = options.integerMatrixRowThreshold
        var kernels = ResolvedKernelTable()
        for type in ElementType.allCases {
            kernels[type] = Self.resolveKernels(
                for: type, instructionSet: instructionSet, activationPrecision: activationPrecision,
                halfActivations: halfActivations, quantizedPrefill: quantizedPrefill, floatPrefetch: prefetchesFloatWeights,
                quantizedPrefetch: prefetchesQuantizedWeights, blockPairs: takesBlockPairs)
        }
        self.kernels = kernels
        usesBlockAttention = ck_has_block_attention(instructionSet.kernelValue) != 0
        parallelRows = ParallelRows(threadCount: configuration.threadCount)
        options.log(to: logger)
        logKernels(to: logger)
        if options.replacesFallbackCore {
            let before = Self.openBLASCore
            ck_openblas_replace_fallback_core()
            logger.debug(
                "OpenBLAS core",
                metadata: [
                    "before": "\(before ?? "unknown")", "after": "\(Self.openBLASCore ?? "unknown")",
                    "rule": "openblas-core=auto: leave OpenBLAS's SSE3 fallback for its AVX-512 or AVX2 kernels unless OPENBLAS_CORETYPE is set",
                ])
        } else {
            logger.debug("OpenBLAS core", metadata: ["kept": "\(Self.openBLASCore ?? "unknown")", "rule": "openblas-core=keep"])
        }
        if Self.openBLASCoreIsBelowProcessor {
            logger.debug("OpenBLAS runs kernels below this processor's instruction set", metadata: ["core": "\(Self.openBLASCore ?? "unknown")"])
        }
        openblas_set_num_threads(Int32(clamping: configuration.threadCount))
    }

    /// Logs the resolved kernels of every weight type, one line each.
    private func logKernels(to logger: Logger) {
        logger.debug(
            "instruction set", metadata: ["used": "\(instructionSet.rawValue)", "detected": "\(InstructionSet.detected.rawValue)"])
        for type in ElementType.allCases {
            let resolved = kernels[type]
            var metadata: Logger.Metadata = [
                "decode": "\(resolved.dot.rawValue) activations, \(resolved.matvecInstructionSet.rawValue)",
                "decode-options": "\(KernelTable.Options(rawValue: resolved.options))",
            ]
            if type == .f32 {
                metadata["prompt"] = "sgemm from \(matrixRowThreshold) rows"
            } else if resolved.gemm != nil {
                metadata["prompt"] = "int16 gemm, \(resolved.gemmInstructionSet.rawValue), from \(integerMatrixRowThreshold) rows"
            } else {
                metadata["prompt"] =
                    "dequantized panels (\(resolved.dequantizeInstructionSet.rawValue)) and sgemm from \(panelRowThreshold) rows"
            }
            logger.debug("kernels for \(type)", metadata: metadata)
        }
    }
}
