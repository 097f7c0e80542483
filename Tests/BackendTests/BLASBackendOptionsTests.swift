import BLASBackend
import Foundation
import Testing
import TensorCore

/// The BLAS backend's settings: defaults, parsing, and clear errors for bad values.
struct BLASBackendOptionsTests {
    func make(_ options: [String: String]) throws -> BLASBackend {
        var configuration = BackendConfiguration(threadCount: 1)
        configuration.options = options
        return try BLASBackend(configuration: configuration)
    }

    @Test func defaults() throws {
        let backend = try make([:])
        #expect(backend.activationPrecision == .int16)
        #expect(backend.instructionSet == BLASBackend.InstructionSet.detected)
        #expect(backend.matrixRowThreshold == 16)
        #expect(backend.panelRowThreshold == 32)
        #expect(backend.panelByteCount == 16 << 20)
        #expect(backend.integerMatrixRowThreshold == BLASBackend.defaultIntegerMatrixRowThreshold(for: backend.instructionSet))
        #expect(backend.quantizedPrefill == .int16)
        #expect(backend.blockAttentionRowThreshold == 8)
        #expect(backend.halfActivations == BLASBackend.halfActivationsAreFaster)
        #expect(backend.prefetchesFloatWeights == BLASBackend.floatWeightPrefetchIsFaster)
        #expect(backend.prefetchesQuantizedWeights == BLASBackend.quantizedWeightPrefetchIsFaster)
        #expect(backend.takesBlockPairs == BLASBackend.blockPairsAreFaster)
    }

    @Test func integerMatrixRowThresholdFollowsTheTiles() throws {
        // The AVX2 tiles (and the portable fallback, which has none) take over from 16 rows.
        #expect(try make(["instruction-set": "avx2"]).integerMatrixRowThreshold == 16)
        #expect(try make(["instruction-set": "portable"]).integerMatrixRowThreshold == 16)
        #expect(try make(["instruction-set": "avx2", "integer-gemm-min-rows": "9"]).integerMatrixRowThreshold == 9)
        #expect([6, 16].contains(BLASBackend.defaultIntegerMatrixRowThreshold(for: .avx512)))
    }

    @Test func instructionSetIsCappedByTheProcessor() throws {
        #expect(try make(["instruction-set": "portable"]).instructionSet == .portable)
        let avx2 = try make(["instruction-set": "avx2"]).instructionSet
        #expect(avx2 == min(.avx2, BLASBackend.InstructionSet.detected))
        #expect(try make(["instruction-set": "avx512"]).instructionSet == BLASBackend.InstructionSet.detected)
    }

    @Test(arguments: [
        ("instruction-set", "sse2", "instruction-set=sse2 must be avx512, avx2 or portable"),
        ("activations", "int4", "activations=int4 must be int8, int16 or float"),
        ("panel-bytes", "0", "panel-bytes=0 must be a positive integer"),
        ("gemm-min-rows", "many", "gemm-min-rows=many must be a positive integer"),
        ("panel-min-rows", "-3", "panel-min-rows=-3 must be a positive integer"),
        ("integer-gemm-min-rows", "0", "integer-gemm-min-rows=0 must be a positive integer"),
        ("quantized-prefill", "int8", "quantized-prefill=int8 must be int16 or panels"),
        ("half-activations", "yes", "half-activations=yes must be on, off or auto"),
        ("openblas-core", "SkylakeX", "openblas-core=SkylakeX must be auto or keep"),
        ("weight-prefetch", "2048", "weight-prefetch=2048 must be on, off or auto"),
        ("block-pairs", "2", "block-pairs=2 must be on, off or auto"),
    ])
    func badValuesAreNamed(key: String, value: String, message: String) {
        do {
            _ = try make([key: value])
            Issue.record("\(key)=\(value) was accepted")
        } catch {
            #expect("\(error)".contains(message), "\(error)")
        }
    }

    /// A misspelt key is an error naming it, not a setting silently ignored; every key the
    /// backend documents is accepted with a valid value.
    @Test func unknownKeysAreNamed() throws {
        do {
            _ = try make(["weight-prefech": "off"])
            Issue.record("weight-prefech=off was accepted")
        } catch {
            #expect("\(error)".contains("unknown option weight-prefech; the options are activations, block-attention-min-rows"), "\(error)")
        }
        let valid = [
            "activations": "int16", "block-attention-min-rows": "8", "block-pairs": "auto", "gemm-min-rows": "16",
            "half-activations": "auto", "instruction-set": "avx512", "integer-gemm-min-rows": "6", "openblas-core": "auto",
            "panel-bytes": "16777216", "panel-min-rows": "32", "quantized-prefill": "int16", "weight-prefetch": "auto",
        ]
        #expect(valid.keys.sorted() == BLASBackend.optionKeys)
        _ = try make(valid)
    }

    /// An OpenBLAS that fell back to its SSE3 ("Prescott") kernels on a processor it did
    /// not know (Debian 12's OpenBLAS on a recent Xeon) runs its AVX-512 or AVX2 kernels
    /// once a backend exists, unless OPENBLAS_CORETYPE chose for it; its products stay
    /// right (the agreement tests run `sgemm` from 16 rows).
    @Test func openBLASDoesNotRunItsFallbackKernels() throws {
        _ = try make([:])
        let core = try #require(BLASBackend.openBLASCore)
        if BLASBackend.InstructionSet.detected >= .avx2 && ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil {
            #expect(core != "Prescott")
        }
    }

    /// The AVX-512 processors other than AMD's before family 26 (Zen 5), read independently
    /// from /proc/cpuinfo (nil without it), with a description for failure messages: where
    /// the float kernels' every-row prefetch and the block pairs are on by default.
    func isAVX512OutsideOlderAMD() -> (Bool, String)? {
        guard let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return nil }
        let family = cpuinfo.split(separator: "\n").first { $0.hasPrefix("cpu family") }
            .flatMap { $0.split(separator: ":").last }.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let vendorIsAMD = cpuinfo.contains("AuthenticAMD")
        let answer = BLASBackend.InstructionSet.detected >= .avx512 && (!vendorIsAMD || (family ?? 0) >= 26)
        return (answer, "family \(family.map(String.init) ?? "?"), AMD: \(vendorIsAMD)")
    }

    /// The processor's own answer for `weight-prefetch=auto`: for quantized weights on with
    /// AVX-512, for float weights too unless the processor is AMD's before family 26 (Zen 5).
    @Test func weightPrefetchFollowsTheProcessor() throws {
        guard let (expected, processor) = isAVX512OutsideOlderAMD() else { return }
        #expect(BLASBackend.floatWeightPrefetchIsFaster == expected, "\(processor)")
        #expect(BLASBackend.quantizedWeightPrefetchIsFaster == (BLASBackend.InstructionSet.detected >= .avx512))
    }

    /// The processor's own answer for `block-pairs=auto`: on with AVX-512 unless the
    /// processor is AMD's before family 26 (Zen 5).
    @Test func blockPairsFollowTheProcessor() throws {
        guard let (expected, processor) = isAVX512OutsideOlderAMD() else { return }
        #expect(BLASBackend.blockPairsAreFaster == expected, "\(processor)")
        #expect(try make(["block-pairs": "on"]).takesBlockPairs && !(try make(["block-pairs": "off"]).takesBlockPairs))
    }

    /// The weight prefetch changes only the speed: products of float weights (with f32
    /// activations, and `f16`/`bf16` ones with f16 activations) and of quantized ones (int16
    /// and int8 activations), for rows shorter and longer than 4096 values, on every
    /// instruction set, are the same bits with and without it.
    @Test(arguments: [ElementType.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1])
    func weightPrefetchKeepsTheProducts(type: ElementType) throws {
        var factory = TensorFactory(seed: 11)
        let halfActivations = type == .f16 || type == .bf16 ? ["off", "on"] : ["off"]
        for k in [2048, 4352] {
            let weight = try factory.weight(type, rows: 300, length: k)
            for (n, isa) in [(1, "avx512"), (3, "avx512"), (1, "avx2"), (2, "portable")] {
                let input = try factory.f32([n, k])
                for activations in ["int16", "int8"] {
                    for half in halfActivations {
                        var outputs: [[Float]] = []
                        for prefetch in ["on", "off"] {
                            let backend = try make([
                                "weight-prefetch": prefetch, "half-activations": half, "instruction-set": isa,
                                "activations": activations,
                            ])
                            #expect(backend.prefetchesFloatWeights == (prefetch == "on"))
                            #expect(backend.prefetchesQuantizedWeights == (prefetch == "on"))
                            outputs.append(try backend.matmul(input, weight: weight).floats())
                        }
                        #expect(outputs[0] == outputs[1], "\(type) k=\(k) n=\(n) \(isa) \(activations) half=\(half)")
                    }
                }
            }
        }
    }
}
