import COpenBLAS
import CPUKernels
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
/// The thresholds are where the paths cross on a 2-core AVX-512 machine (TinyLlama shapes):
/// the fused dots reach about 100 GFLOP/s whatever `n`, `sgemm` about 190 GFLOP/s once `n`
/// is large, the integer tiles about 1.3 times `sgemm` (one 512-bit `vpdpwssd` is 32
/// multiply-adds; the AVX2 tiles, `vpmaddwd` and `vpaddd` on 256 bits, about `sgemm`'s
/// speed on Zen 4 without the dequantization), and dequantizing a panel costs the same
/// however few rows use it.
///
/// For quantized weights (`Q8_0`, `Q4_0`, `Q4_1`, `Q5_0`, `Q5_1`, `Q4_K`, `Q5_K`,
/// `Q6_K`) the decode path rounds each input row to int16 per block of 32 values
/// (scale = max |x| / 32512) and computes integer dot products (``activationPrecision``;
/// int8, as llama.cpp, is faster and less precise). For `f16` and `bf16` weights, on
/// processors where that is faster (``halfActivationsAreFaster``: AMD's), it rounds each
/// input row to `f16` (scaled by a power of two into `f16`'s range), as llama.cpp does for
/// `f16` (it rounds to `bf16` for `bf16`): the activations then cost half the loads,
/// which lets decode read up to about 48 GB/s instead of 34 on a Zen 4 machine; on others
/// (Intel's, where widening them costs more than the loads they save) and with
/// `activations=float` they stay in `f32` (``halfActivations``). `f32` weights always
/// meet `f32` activations.
///
/// Options (``BackendConfiguration/options``): `gemm-min-rows` sets
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
/// it to ``BackendConfiguration/threadCount``. So is the choice of OpenBLAS's kernels:
/// an OpenBLAS built for many processors (Debian's) that does not know this one runs its
/// "Prescott" (SSE3) kernels, about a fifth of the speed of its AVX-512 ones on a recent
/// Xeon; unless `openblas-core=keep` or `OPENBLAS_CORETYPE` is set, creating a backend
/// makes it choose its "SkylakeX" (AVX-512) or "Haswell" (AVX2) kernels instead (once per
/// process), through OpenBLAS's own `OPENBLAS_CORETYPE` mechanism: the variable is set
/// for the moment of the switch, so create the first backend before other threads read
/// or change the environment.
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

    /// Where the integer matrix products overtake the fused dots, by the tiles the
    /// instruction set runs: 6 rows with AVX-512 VNNI; 16 with the AVX2 tiles, whose
    /// weight packing costs more against 256-bit products (Q4_0 2048 × 2048 with
    /// `instruction-set=avx2` on Zen 4, 1 thread: at 6 rows 1.35–1.43 ms against 0.87–1.20
    /// for the fused dots, at 12 rows even, at 24 rows 3.0–3.2 against 3.5–4.8).
    public static func defaultIntegerMatrixRowThreshold(for instructionSet: InstructionSet) -> Int {
        ck_q16_gemm_uses_vnni(instructionSet.kernelValue) != 0 ? 6 : 16
    }

    /// The size of the `f32` scratch panel a quantized weight is dequantized into.
    public let panelByteCount: Int
    /// How quantized, `f16` and `bf16` weights meet the activations when decoding. With
    /// `int8` and `int16`, `f16` and `bf16` weights meet activations rounded to `f16` where
    /// ``halfActivations`` is on: each row is scaled by a power of two that puts its
    /// largest magnitude in [2¹⁴, 2¹⁵), then rounded to nearest even, so each value moves
    /// by at most 2⁻¹¹ of itself (logits of the bf16 test model move by 2e-4 to 6e-4 of
    /// their scale); otherwise, and always with `float`, `f16` and `bf16` weights are
    /// computed exactly as transformers does in float32.
    public enum ActivationPrecision: String, Sendable, CaseIterable {
        /// Activations rounded to int8 per block of 32, integer dot products: llama.cpp's
        /// arrangement and the fastest, but it moves logits by up to ~0.5 on Gemma 3 and can
        /// change a greedy continuation where the top two logits are close.
        case int8
        /// Activations rounded to int16 per block of 32, integer dot products (the default):
        /// exact int16 products from two 8-bit ones; logits within ~2e-3 of float.
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
    /// Whether `f16` and `bf16` rows are multiplied faster with `f16` activations than with
    /// `f32` ones on this processor: true on AMD processors with AVX2 (Zen 4, 2 threads:
    /// TinyLlama F16 decode 14.4 → 16.6 tokens/s), false elsewhere (an Intel Xeon of the
    /// Emerald Rapids generation: 7.5–8.6 with `f32` activations against 6.8–7.5, because
    /// widening an `f16` activation costs a shuffle there; without AVX2 the `f16` kernel
    /// is plain C). See Documentation/Performance.md.
    public static var halfActivationsAreFaster: Bool { ck_half_activations_are_faster() != 0 }
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
    /// Whether the float decode kernels read weights faster with a software prefetch of
    /// every row on this processor: true on x86-64 processors with AVX-512 that are not
    /// AMD's (an Intel Xeon of the Emerald Rapids generation, 2 threads from memory: `f16`
    /// rows 22–23 GB/s against 16–17 without, `f32` rows 27 against 24) and on AMD's from
    /// family 26 (an EPYC of the Zen 5 generation: TinyLlama F32 tg32 11.5 → 13.9 t/s, F16
    /// with `f16` activations 17.5 → 19.4, medians of 4 alternating runs), false on AMD's
    /// Zen 4 (level or slower there: F32 tg32 7.64 against 7.86 t/s, medians of 7) and
    /// elsewhere. See Documentation/Performance.md.
    public static var floatWeightPrefetchIsFaster: Bool { ck_float_weight_prefetch_is_faster() != 0 }
    /// Whether the quantized decode kernels read weights faster with a software prefetch of
    /// every row on this processor: true on x86-64 processors with AVX-512 (an Intel Xeon:
    /// Q4_0 rows 16–19 GB/s against 9–15, Q8_0 rows 20–23 against 11–15; an AMD EPYC of the
    /// Zen 4 generation: TinyLlama Q4_0 tg64 34.6 → 37.3 t/s, Q8_0 24.7 → 25.4, medians of 15
    /// alternating runs; Zen 5 level), false elsewhere. See Documentation/Performance.md.
    public static var quantizedWeightPrefetchIsFaster: Bool { ck_quantized_weight_prefetch_is_faster() != 0 }
    /// Whether the AVX-512 VNNI int16 decode kernels of `Q8_0`, `Q4_0`, `Q4_1` and `Q4_K`
    /// weights take two blocks of 32 per 512-bit register (otherwise one per 256-bit register; the
    /// same integer sums, the scaled sums added in another order). The `block-pairs` option
    /// sets it (`on` or `off`); by default (`auto`) it is ``blockPairsAreFaster``.
    public let takesBlockPairs: Bool
    /// Whether two blocks per 512-bit register are faster on this processor: true with
    /// AVX-512 except on AMD's before family 26 (an EPYC of the Zen 5 generation: TinyLlama
    /// Q4_0 tg64 47.9 → 56.0 t/s; on Zen 4, whose 512-bit operations take two 256-bit
    /// halves, Q8_0 rows from L2 took 1.69–1.87 ns per block against 1.52–1.59, and
    /// TinyLlama Q8_0 tg64 26.0 against 27.7 t/s). See Documentation/Performance.md.
    public static var blockPairsAreFaster: Bool { ck_block_pairs_are_faster() != 0 }
    /// The kernels the process's OpenBLAS runs, by OpenBLAS's name for them ("SkylakeX",
    /// "Haswell", "Zen", "Prescott", …), or `nil` if OpenBLAS does not say.
    public static var openBLASCore: String? { ck_openblas_core().map { String(cString: $0) } }
    /// Whether OpenBLAS runs kernels without AVX-512 on a processor with AVX-512
    /// (``InstructionSet/avx512``), or its SSE3 "Prescott" fallback on one with AVX2, as
    /// when `OPENBLAS_CORETYPE` chose them (the backend leaves that choice alone). On an AMD
    /// EPYC of the Zen 5 generation `OPENBLAS_CORETYPE=Haswell` halves `f32` and `f16`
    /// prompt speed (TinyLlama F32 pp512 about 96 against 144–180 t/s with OpenBLAS's own
    /// choice, Cooperlake). `false` when OpenBLAS does not say which kernels it runs.
    public static var openBLASCoreIsBelowProcessor: Bool {
        guard let core = openBLASCore else { return false }
        switch InstructionSet.detected {
        case .avx512: return !["SkylakeX", "Cooperlake", "SapphireRapids"].contains(core)
        case .avx2: return core == "Prescott"
        case .portable: return false
        }
    }
    /// The instruction set the fused kernels use: the processor's best
    /// (``InstructionSet/detected``) unless the `instruction-set` option asks for less.
    public let instructionSet: InstructionSet
    let parallelRows: ParallelRows
    let scratch = ScratchBuffers()

    /// The keys of ``BackendConfiguration/options`` this backend reads; creating one with
    /// any other key throws.
    public static let optionKeys: [String] = [
        "activations", "block-attention-min-rows", "block-pairs", "gemm-min-rows", "half-activations", "instruction-set",
        "integer-gemm-min-rows", "openblas-core", "panel-bytes", "panel-min-rows", "quantized-prefill", "weight-prefetch",
    ]

    public init(configuration: BackendConfiguration = BackendConfiguration()) throws {
        if let unknown = configuration.options.keys.sorted().first(where: { !Self.optionKeys.contains($0) }) {
            throw TensorError.invalidArgument(
                operation: "blas backend",
                details: "unknown option \(unknown); the options are \(Self.optionKeys.joined(separator: ", "))")
        }
        self.configuration = configuration
        matrixRowThreshold = try Self.integerOption("gemm-min-rows", in: configuration, default: 16)
        panelRowThreshold = try Self.integerOption("panel-min-rows", in: configuration, default: 32)
        blockAttentionRowThreshold = try Self.integerOption("block-attention-min-rows", in: configuration, default: 8)
        panelByteCount = try Self.integerOption("panel-bytes", in: configuration, default: 16 << 20)
        let precision = configuration.options["activations"] ?? ActivationPrecision.int16.rawValue
        guard let parsed = ActivationPrecision(rawValue: precision) else {
            throw TensorError.invalidArgument(
                operation: "blas backend", details: "option activations=\(precision) must be int8, int16 or float")
        }
        activationPrecision = parsed
        halfActivations = try Self.switchOption("half-activations", in: configuration, auto: Self.halfActivationsAreFaster)
        prefetchesFloatWeights = try Self.switchOption("weight-prefetch", in: configuration, auto: Self.floatWeightPrefetchIsFaster)
        prefetchesQuantizedWeights = try Self.switchOption(
            "weight-prefetch", in: configuration, auto: Self.quantizedWeightPrefetchIsFaster)
        takesBlockPairs = try Self.switchOption("block-pairs", in: configuration, auto: Self.blockPairsAreFaster)
        let prefill = configuration.options["quantized-prefill"] ?? QuantizedPrefill.int16.rawValue
        guard let parsedPrefill = QuantizedPrefill(rawValue: prefill) else {
            throw TensorError.invalidArgument(
                operation: "blas backend", details: "option quantized-prefill=\(prefill) must be int16 or panels")
        }
        quantizedPrefill = parsedPrefill
        let detected = InstructionSet.detected
        if let name = configuration.options["instruction-set"] {
            guard let requested = InstructionSet(rawValue: name) else {
                throw TensorError.invalidArgument(
                    operation: "blas backend", details: "option instruction-set=\(name) must be avx512, avx2 or portable")
            }
            instructionSet = min(requested, detected)
        } else {
            instructionSet = detected
        }
        integerMatrixRowThreshold = try Self.integerOption(
            "integer-gemm-min-rows", in: configuration, default: Self.defaultIntegerMatrixRowThreshold(for: instructionSet))
        switch configuration.options["openblas-core"] ?? "auto" {
        case "auto": ck_openblas_replace_fallback_core()
        case "keep": break
        case let other:
            throw TensorError.invalidArgument(
                operation: "blas backend", details: "option openblas-core=\(other) must be auto or keep")
        }
        parallelRows = ParallelRows(threadCount: configuration.threadCount)
        openblas_set_num_threads(Int32(clamping: configuration.threadCount))
    }

    public func execute(_ operation: MatrixMultiplication) throws {
        switch path(for: operation) {
        case .floatMatrixProduct: multiplyFloatWeight(operation)
        case .integerMatrixProducts: multiplyByIntegerMatrixProducts(operation)
        case .dequantizedPanels: multiplyByDequantizedPanels(operation)
        case .fusedDots: multiplyByFusedDots(CollectionOfOne(operation))
        }
    }

    /// Products that would each take the fused dots (decoding, short prompts) share one
    /// quantized input and one parallel loop over all their weights' rows; others run one
    /// by one.
    public func execute(_ operation: SharedInputMatrixMultiplication) throws {
        if operation.parts.allSatisfy({ path(for: $0) == .fusedDots }) {
            multiplyByFusedDots(operation.parts)
        } else {
            for part in operation.parts { try execute(part) }
        }
    }

    /// The ways a matrix product is computed, chosen by weight type and input rows.
    private enum MatrixPath {
        case floatMatrixProduct, integerMatrixProducts, dequantizedPanels, fusedDots
    }

    private func path(for operation: MatrixMultiplication) -> MatrixPath {
        let n = operation.rowCount, type = operation.weight.elementType
        if type == .f32 { return n >= matrixRowThreshold ? .floatMatrixProduct : .fusedDots }
        if usesIntegerMatrixProducts(for: type) { return n >= integerMatrixRowThreshold ? .integerMatrixProducts : .fusedDots }
        return n >= panelRowThreshold ? .dequantizedPanels : .fusedDots
    }

    private func multiplyFloatWeight(_ operation: MatrixMultiplication) {
        let n = Int32(operation.rowCount), k = Int32(operation.innerLength), m = Int32(operation.outputLength)
        let w = operation.weight.rawPointer.assumingMemoryBound(to: Float.self)
        let x = operation.input.floatPointer, y = operation.output.mutableFloatPointer
        parallelRows.park()
        if n == 1 {
            cblas_sgemv(CblasRowMajor, CblasNoTrans, m, k, 1, w, k, x, 1, 0, y, 1)
        } else {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, m, k, 1, x, k, w, k, 0, y, m)
        }
    }

    /// How the fused path meets a weight type: float dot products, integer ones with the
    /// input quantized to int8 or int16, or f16 ones with the input rounded to f16
    /// (``activationPrecision``, ``halfActivations``).
    fileprivate enum DotKind { case float, int8, int16, half }

    private func dotKind(for type: ElementType) -> DotKind {
        guard activationPrecision != .float else { return .float }
        if ck_has_half_kernel(type.kernelType) != 0 { return halfActivations ? .half : .float }
        guard ck_has_q16_kernel(type.kernelType) != 0 else { return .float }
        return activationPrecision == .int8 ? .int8 : .int16
    }

    /// Every weight row is read once and multiplied with all input rows while it is in
    /// the cache, so `n` rows cost one pass over the weight plus `n` times the arithmetic.
    /// `parts` share their input: it is quantized (or rounded to f16) once for each kind
    /// the weights need (`n` activation descriptors per kind, then the converted rows, in
    /// scratch), then one parallel loop runs over the rows of all the weights, one after
    /// another. Nothing is allocated: the parts' table is on the stack and the loop is a
    /// C function.
    private func multiplyByFusedDots<Parts: Collection<MatrixMultiplication>>(_ parts: Parts) {
        guard let input = parts.first?.input else { return }
        let n = input.rowCount, k = input.rowLength
        let isa = instructionSet.kernelValue, x = input.floatPointer
        let int8Rows = parts.contains { dotKind(for: $0.weight.elementType) == .int8 } ? n : 0
        let int16Rows = parts.contains { dotKind(for: $0.weight.elementType) == .int16 } ? n : 0
        let halfRows = parts.contains { dotKind(for: $0.weight.elementType) == .half } ? n : 0
        let int8Bytes = ck_q8_activation_bytes(Int64(k)), int16Bytes = ck_q16_activation_bytes(Int64(k))
        let halfBytes = ck_half_activation_bytes(Int64(k))
        let int8Headers = (int8Rows * MemoryLayout<ck_q8_activation>.stride + 63) & ~63
        let int16Headers = (int16Rows * MemoryLayout<ck_q16_activation>.stride + 63) & ~63
        let halfHeaders = (halfRows * MemoryLayout<ck_half_activation>.stride + 63) & ~63
        let headers = int8Headers + int16Headers + halfHeaders
        let byteCount = headers + int8Rows * int8Bytes + int16Rows * int16Bytes + halfRows * halfBytes
        withUnsafeTemporaryAllocation(of: FusedDotPart.self, capacity: parts.count) { table in
            var rowCount = 0
            for (index, part) in parts.enumerated() {
                let weight = part.weight
                table.initializeElement(
                    at: index,
                    to: FusedDotPart(
                        weight: weight.rawPointer, rowByteCount: weight.rowByteCount, type: weight.elementType.kernelType,
                        kind: dotKind(for: weight.elementType), outputLength: Int64(part.outputLength),
                        output: part.output.mutableFloatPointer, firstRow: rowCount, endRow: rowCount + part.outputLength))
                rowCount += part.outputLength
            }
            defer { table.deinitialize() }
            scratch.withBuffer(byteCount: max(byteCount, 64)) { memory in
                let int8 = memory.bindMemory(to: ck_q8_activation.self, capacity: max(int8Rows, 1))
                let int16 = (memory + int8Headers).bindMemory(to: ck_q16_activation.self, capacity: max(int16Rows, 1))
                let half = (memory + int8Headers + int16Headers).bindMemory(to: ck_half_activation.self, capacity: max(halfRows, 1))
                let int8Values = memory + headers, int16Values = int8Values + int8Rows * int8Bytes
                let halfValues = int16Values + int16Rows * int16Bytes
                for i in 0..<int8Rows { ck_q8_quantize(isa, x + i * k, Int64(k), int8Values + i * int8Bytes, int8 + i) }
                for i in 0..<int16Rows { ck_q16_quantize(isa, x + i * k, Int64(k), int16Values + i * int16Bytes, int16 + i) }
                for i in 0..<halfRows { ck_half_convert(isa, x + i * k, Int64(k), halfValues + i * halfBytes, half + i) }
                let arguments = FusedDotArguments(
                    isa: isa, k: Int64(k), x: x, n: Int64(n), floatPrefetch: prefetchesFloatWeights ? 1 : 0,
                    quantizedPrefetch: prefetchesQuantizedWeights ? 1 : 0, blockPairs: takesBlockPairs ? 1 : 0,
                    int8: int8, int16: int16, half: half,
                    parts: UnsafePointer(table.baseAddress!), partCount: parts.count)
                parallelRows.runTasks(rowCount: rowCount, workPerRow: k * n, arguments: arguments) { raw, _, begin, end in
                    let a = raw!.load(as: FusedDotArguments.self)
                    for p in 0..<a.partCount {
                        let part = a.parts[p]
                        guard part.firstRow < end && part.endRow > begin else { continue }
                        let rowBegin = max(begin, Int64(part.firstRow)) - Int64(part.firstRow)
                        let rowEnd = min(end, Int64(part.endRow)) - Int64(part.firstRow)
                        switch part.kind {
                        case .float:
                            ck_matvec(
                                a.isa, part.type, part.weight, part.rowByteCount, a.k, a.x, a.n, part.output, part.outputLength,
                                rowBegin, rowEnd, a.floatPrefetch)
                        case .int8:
                            ck_matvec_q8(
                                a.isa, part.type, part.weight, part.rowByteCount, a.int8, a.n, part.output, part.outputLength,
                                rowBegin, rowEnd, a.quantizedPrefetch)
                        case .int16:
                            ck_matvec_q16(
                                a.isa, part.type, part.weight, part.rowByteCount, a.int16, a.n, part.output, part.outputLength,
                                rowBegin, rowEnd, a.quantizedPrefetch, a.blockPairs)
                        case .half:
                            ck_matvec_half(
                                a.isa, part.type, part.weight, part.rowByteCount, a.half, a.n, part.output, part.outputLength,
                                rowBegin, rowEnd, a.floatPrefetch)
                        }
                    }
                }
            }
        }
    }

    private func usesIntegerMatrixProducts(for type: ElementType) -> Bool {
        quantizedPrefill == .int16 && activationPrecision != .float && ck_has_q16_gemm(instructionSet.kernelValue, type.kernelType) != 0
    }

    /// Prompt processing for quantized weights in int16 integers: the input rows are
    /// quantized and packed once, then each thread packs panels of its weight rows into
    /// its own scratch and multiplies them in tiles (`ck_gemm_q16`).
    private func multiplyByIntegerMatrixProducts(_ operation: MatrixMultiplication) {
        let n = operation.rowCount, k = operation.innerLength, m = operation.outputLength
        let weight = operation.weight
        let type = weight.elementType.kernelType, isa = instructionSet.kernelValue
        let rowBytes = ck_q16_packed_row_bytes(Int64(k))
        let paddedRows = Int(ck_q16_gemm_padded_rows(Int64(n)))
        let inputBytes = (rowBytes * paddedRows + 63) & ~63
        let panelBytes = (ck_q16_gemm_scratch_bytes(Int64(k)) + 63) & ~63
        let y = operation.output.mutableFloatPointer
        scratch.withBuffer(byteCount: inputBytes + panelBytes * parallelRows.threadCount) { memory in
            let input = operation.input.floatPointer
            parallelRows.run(rowCount: paddedRows, workPerRow: k * 4) { begin, end in
                ck_q16_pack_activations(
                    isa, input + begin * k, Int64(k), Int64(max(0, min(end, n) - begin)), Int64(end - begin), memory + begin * rowBytes)
            }
            let packed = UnsafeRawPointer(memory)
            parallelRows.runChunks(rowCount: m, workPerRow: k * n) { chunk, begin, end in
                ck_gemm_q16(
                    isa, type, weight.rawPointer, weight.rowByteCount, Int64(k), packed, Int64(n), y, Int64(m), Int64(begin),
                    Int64(end), memory + inputBytes + chunk * panelBytes)
            }
        }
    }

    private func multiplyByDequantizedPanels(_ operation: MatrixMultiplication) {
        let n = operation.rowCount, k = operation.innerLength, m = operation.outputLength
        let weight = operation.weight
        let type = weight.elementType.kernelType
        let panelRows = min(m, max(16, panelByteCount / max(1, k * 4)))
        scratch.withBuffer(of: Float.self, count: panelRows * k) { panel in
            var first = 0
            while first < m {
                let rows = min(panelRows, m - first)
                parallelRows.run(rowCount: rows, workPerRow: k) { begin, end in
                    ck_dequantize_rows(
                        instructionSet.kernelValue, type, weight.rawPointer, weight.rowByteCount, Int64(k), panel + begin * k,
                        Int64(first + begin), Int64(first + end))
                }
                parallelRows.park()
                cblas_sgemm(
                    CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(rows), Int32(k), 1,
                    operation.input.floatPointer, Int32(k), panel, Int32(k), 0,
                    operation.output.mutableFloatPointer + first, Int32(m))
                first += rows
            }
        }
    }

    /// An `on`/`off` option whose default, `auto`, is what this processor is faster with.
    private static func switchOption(_ key: String, in configuration: BackendConfiguration, auto: Bool) throws -> Bool {
        switch configuration.options[key] ?? "auto" {
        case "on": return true
        case "off": return false
        case "auto": return auto
        case let other:
            throw TensorError.invalidArgument(operation: "blas backend", details: "option \(key)=\(other) must be on, off or auto")
        }
    }

    private static func integerOption(_ key: String, in configuration: BackendConfiguration, default value: Int) throws -> Int {
        guard let text = configuration.options[key] else { return value }
        guard let parsed = Int(text), parsed > 0 else {
            throw TensorError.invalidArgument(operation: "blas backend", details: "option \(key)=\(text) must be a positive integer")
        }
        return parsed
    }
}

extension BLASBackend {
    /// Attention. Prompts (at least ``blockAttentionRowThreshold`` queries) with an `f32`
    /// cache and no additive mask, on a processor with AVX2 or AVX-512, run in blocks of 16
    /// (AVX-512) or 8 (AVX2) queries of one head with an online softmax (`ck_block_attention`). Other prompts (at least
    /// ``matrixRowThreshold`` queries) with an `f32` cache go through matrix products, one
    /// head at a time: scores = scale · Q Kᵀ with `sgemm`, the mask and softmax row by row
    /// in C, then weights · V with `sgemm`. Decoding and `f16` caches use the C kernel,
    /// split over threads by (head, query) pairs.
    public func execute(_ operation: Attention) throws {
        let n = operation.queryCount, heads = operation.headCount, keyCount = operation.keyCount
        let (causal, first, window): (Int32, Int, Int) = switch operation.mask {
        case .none, .additive: (0, 0, 0)
        case let .causal(position, window): (1, position, window ?? 0)
        }
        let mask: Tensor? = if case let .additive(tensor) = operation.mask { tensor } else { nil }
        let floatCache = operation.keys.elementType == .f32 && operation.values.elementType == .f32
        if n >= blockAttentionRowThreshold && floatCache && mask == nil && ck_has_block_attention(instructionSet.kernelValue) != 0 {
            attentionByQueryBlocks(operation, causal: causal, first: first, window: window)
            return
        }
        if n >= matrixRowThreshold && floatCache {
            attentionByMatrixProducts(operation, causal: causal, first: first, window: window, mask: mask)
            return
        }
        struct Arguments {
            let isa: ck_isa, query: UnsafePointer<Float>, queryCount: Int64, heads: Int64, width: Int64
            let keys: UnsafeRawPointer, values: UnsafeRawPointer, cacheType: ck_type, keyCount: Int64, kvHeads: Int64
            let causal: Int32, first: Int64, window: Int64, mask: UnsafePointer<Float>?, scale: Float
            let output: UnsafeMutablePointer<Float>, scores: UnsafeMutablePointer<Float>, scoresPerChunk: Int
        }
        let scoresPerChunk = (max(keyCount, 1) + 15) & ~15
        scratch.withBuffer(of: Float.self, count: scoresPerChunk * parallelRows.threadCount) { scores in
            let arguments = Arguments(
                isa: instructionSet.kernelValue, query: operation.query.floatPointer, queryCount: Int64(n), heads: Int64(heads),
                width: Int64(operation.headWidth), keys: operation.keys.rawPointer, values: operation.values.rawPointer,
                cacheType: operation.keys.elementType.kernelType, keyCount: Int64(keyCount),
                kvHeads: Int64(operation.kvHeadCount), causal: causal, first: Int64(first), window: Int64(window),
                mask: mask?.floatPointer, scale: operation.scale, output: operation.output.mutableFloatPointer, scores: scores,
                scoresPerChunk: scoresPerChunk)
            parallelRows.runTasks(rowCount: n * heads, workPerRow: keyCount * operation.headWidth * 2, arguments: arguments) {
                raw, chunk, begin, end in
                let a = raw!.load(as: Arguments.self)
                ck_attention(
                    a.isa, a.query, a.queryCount, a.heads, a.width, a.keys, a.values, a.cacheType, a.keyCount, a.kvHeads,
                    a.causal, a.first, a.window, a.mask, a.scale, a.output, begin, end, a.scores + Int(chunk) * a.scoresPerChunk)
            }
        }
    }

    /// Prompt attention in tasks of 16 queries of one head (`ck_block_attention`), split
    /// over the backend's threads: no score matrix, no hand-over to OpenBLAS's threads.
    private func attentionByQueryBlocks(_ operation: Attention, causal: Int32, first: Int, window: Int) {
        let n = operation.queryCount, heads = operation.headCount, width = operation.headWidth
        let tasks = Int(ck_block_attention_tasks(Int64(n), Int64(heads)))
        let floatsPerChunk = (Int(ck_block_attention_scratch_floats(Int64(width))) + 15) & ~15
        let keys = operation.keys.rawPointer.assumingMemoryBound(to: Float.self)
        let values = operation.values.rawPointer.assumingMemoryBound(to: Float.self)
        scratch.withBuffer(of: Float.self, count: floatsPerChunk * parallelRows.threadCount) { memory in
            parallelRows.runChunks(rowCount: tasks, workPerRow: 16 * operation.keyCount * width * 2) { chunk, begin, end in
                ck_block_attention(
                    instructionSet.kernelValue, operation.query.floatPointer, Int64(n), Int64(heads), Int64(width), keys, values,
                    Int64(operation.keyCount), Int64(operation.kvHeadCount), causal, Int64(first), Int64(window), operation.scale,
                    operation.output.mutableFloatPointer, Int64(begin), Int64(end), memory + chunk * floatsPerChunk)
            }
        }
    }

    private func attentionByMatrixProducts(_ operation: Attention, causal: Int32, first: Int, window: Int, mask: Tensor?) {
        let n = operation.queryCount, keyCount = operation.keyCount
        scratch.withBuffer(of: Float.self, count: n * keyCount) { scores in
            attentionByMatrixProducts(operation, causal: causal, first: first, window: window, mask: mask, scores: scores)
        }
    }

    private func attentionByMatrixProducts(
        _ operation: Attention, causal: Int32, first: Int, window: Int, mask: Tensor?, scores: UnsafeMutablePointer<Float>
    ) {
        let n = operation.queryCount, heads = operation.headCount, keyCount = operation.keyCount
        let width = operation.headWidth, kvHeads = operation.kvHeadCount, group = heads / kvHeads
        let q = operation.query.floatPointer, output = operation.output.mutableFloatPointer
        let keys = operation.keys.rawPointer.assumingMemoryBound(to: Float.self)
        let values = operation.values.rawPointer.assumingMemoryBound(to: Float.self)
        let queryStride = Int32(heads * width), keyStride = Int32(kvHeads * width)
        for h in 0..<heads {
            let g = h / group
            parallelRows.park()
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(keyCount), Int32(width), operation.scale,
                q + h * width, queryStride, keys + g * width, keyStride, 0, scores, Int32(keyCount))
            parallelRows.run(rowCount: n, workPerRow: keyCount * 4) { begin, end in
                ck_attention_softmax_rows(
                    scores, Int64(keyCount), causal, Int64(first), Int64(window), mask?.floatPointer, Int64(begin), Int64(end))
            }
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(width), Int32(keyCount), 1,
                scores, Int32(keyCount), values + g * width, keyStride, 0, output + h * width, queryStride)
        }
    }
}

/// One weight of ``BLASBackend``'s fused dot products: its rows are `firstRow ..< endRow`
/// of the shared parallel loop.
private struct FusedDotPart {
    let weight: UnsafeRawPointer, rowByteCount: Int, type: ck_type, kind: BLASBackend.DotKind
    let outputLength: Int64, output: UnsafeMutablePointer<Float>, firstRow: Int, endRow: Int
}

/// What the fused dot products' loop needs: the input (as floats and quantized) and the
/// table of weights.
private struct FusedDotArguments {
    let isa: ck_isa, k: Int64, x: UnsafePointer<Float>, n: Int64
    let floatPrefetch: Int32, quantizedPrefetch: Int32, blockPairs: Int32
    let int8: UnsafePointer<ck_q8_activation>, int16: UnsafePointer<ck_q16_activation>
    let half: UnsafePointer<ck_half_activation>
    let parts: UnsafePointer<FusedDotPart>, partCount: Int
}
