import PropertyBased
import Testing
import TensorCore
import TestSupport

/// Every operation gives the same result on the BLAS backend as on the naive
/// reference, for generated shapes (including 1, odd sizes, and sizes that are not
/// multiples of anything where the element type allows it) and generated values
/// (magnitudes from 10⁻⁴ to 10⁴). Tolerances: ``AgreementTolerance``.
struct BackendAgreementTests {
    let seeds = Gen.int(in: 0...Int(Int32.max))

    /// Runs `compute` on the naive backend and on each BLAS variant and checks that the
    /// outputs agree within `tolerance(variant name)`.
    func expectAgreement(
        _ what: @autoclosure () -> String, tolerance: (String) -> Double,
        _ compute: (any Backend) throws -> [Float], sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let reference = try compute(TestBackends.naive)
        for (name, backend) in TestBackends.candidates {
            let error = normalizedMeanSquaredError(try compute(backend), reference)
            #expect(error <= tolerance(name), "\(what()) on \(name): NMSE \(error) > \(tolerance(name))", sourceLocation: sourceLocation)
        }
    }

    func expectAgreement(
        _ what: @autoclosure () -> String, tolerance: Double,
        _ compute: (any Backend) throws -> [Float], sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        try expectAgreement(what(), tolerance: { _ in tolerance }, compute, sourceLocation: sourceLocation)
    }

    /// `input × weightᵀ` on every BLAS variant against the naive backend. Variants that
    /// round the activations more coarsely than `f32` does — to int8 per block of 32 for
    /// quantized weights, or to `f16` for `f16` and `bf16` weights — are held to the
    /// statistics of that rounding rather than a fixed NMSE, which fails by chance when a
    /// few outputs nearly cancel (``roundingBounds(_:input:weight:)``): every output must be
    /// within 4σ (6.9 standard deviations), and with 64 outputs or more their root mean
    /// square in units of σ within 1.2 (expected 0.58 or less), which a systematic error
    /// does not pass. The others are held to ``AgreementTolerance/forWeight(_:backend:)``.
    func expectMatmulAgreement(
        _ what: @autoclosure () -> String, input: Tensor, weight: Tensor, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let type = weight.elementType
        let reference = try TestBackends.naive.matmul(input, weight: weight).floats()
        let n = input.rowCount, m = weight.rowCount
        var bounds: [ActivationRounding: [Double]] = [:]
        for (name, backend) in TestBackends.candidates {
            let output = try backend.matmul(input, weight: weight).floats()
            guard let rounding = ActivationRounding(of: backend, name: name, weightType: type) else {
                let error = normalizedMeanSquaredError(output, reference)
                let tolerance = AgreementTolerance.forWeight(type, backend: name)
                #expect(error <= tolerance, "\(what()) on \(name): NMSE \(error) > \(tolerance)", sourceLocation: sourceLocation)
                continue
            }
            if bounds[rounding] == nil { bounds[rounding] = try roundingBounds(rounding, input: input, weight: weight) }
            let sigmas = bounds[rounding]!
            var worst = 0.0, sumOfSquares = 0.0
            for index in 0..<(n * m) {
                let z = Double(abs(output[index] - reference[index])) / sigmas[index]
                worst = max(worst, z)
                sumOfSquares += z * z
            }
            let rms = (sumOfSquares / Double(n * m)).squareRoot()
            #expect(worst <= 4, "\(what()) on \(name): an output is off by \(worst) σ of \(rounding) rounding", sourceLocation: sourceLocation)
            #expect(n * m < 64 || rms <= 1.2, "\(what()) on \(name): outputs off by \(rms) σ of \(rounding) rounding (rms)", sourceLocation: sourceLocation)
        }
    }

    /// For each output r of input row j (index j · m + r), the σ of the activation rounding
    /// `rounding`: each activation x moves by δ, uniform within half a rounding step, so the
    /// output moves by Σ w·δ, with a standard deviation of σ/√3 where σ² = Σ (w · max |δ|)².
    /// - int8 per block of 32: |δ| ≤ max |x| / 254 over the block; for types with a block
    ///   minimum m the weights multiply δ by w − m, so the block's range replaces each w.
    /// - `f16` (the row scaled by a power of two that puts max |x| in [2¹⁴, 2¹⁵)): |δ| ≤
    ///   2⁻¹¹ |x| for normal values, and at most 2⁻²⁵ of the scaled unit, max |x| · 2⁻³⁹,
    ///   for subnormal ones.
    ///
    /// Plus `f32` rounding of the sum, 10⁻⁵ of Σ |x·w|.
    func roundingBounds(_ rounding: ActivationRounding, input: Tensor, weight: Tensor) throws -> [Double] {
        let n = input.rowCount, k = input.rowLength, m = weight.rowCount
        let hasMinimum = [ElementType.q4_1, .q5_1, .q4_K, .q5_K, .q2_K].contains(weight.elementType)
        let x = input.floats(), w = try Tensor(converting: weight, to: .f32).floats()
        var sigmas = [Double](repeating: 0, count: n * m)
        for j in 0..<n {
            let rowLargest = x[(j * k)..<(j * k + k)].reduce(0.0) { max($0, Double(abs($1))) }
            for r in 0..<m {
                var variance = 0.0, magnitude = 0.0
                for b in stride(from: 0, to: k, by: 32) {
                    var largest = 0.0, squares = 0.0, low = Double.infinity, high = -Double.infinity
                    for i in b..<min(b + 32, k) {
                        let value = Double(w[r * k + i]), activation = Double(x[j * k + i])
                        magnitude += abs(activation * value)
                        switch rounding {
                        case .int8PerBlock:
                            largest = max(largest, abs(activation))
                            squares += value * value
                            low = min(low, value)
                            high = max(high, value)
                        case .half:
                            let step = max(abs(activation) * 0x1p-11, rowLargest * 0x1p-39)
                            variance += (step * value) * (step * value)
                        }
                    }
                    if rounding == .int8PerBlock {
                        if hasMinimum { squares = Double(min(b + 32, k) - b) * (high - low) * (high - low) }
                        variance += (largest / 254) * (largest / 254) * squares
                    }
                }
                sigmas[j * m + r] = variance.squareRoot() + magnitude * 1e-5 + 1e-30
            }
        }
        return sigmas
    }

    @Test(arguments: ElementType.allCases)
    func matrixMultiplication(weightType: ElementType) async throws {
        let rowCounts = Gen.element(of: [1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 33]).map { $0! }
        await propertyCheck(count: 25, input: rowCounts, Gen.int(in: 1...3072), Gen.int(in: 1...160), seeds) {
            n, requestedLength, requestedRows, seed in
            let block = weightType.blockLength
            let k = max(block, requestedLength / block * block)
            var m = requestedRows
            while n * m * k > 1_500_000 && m > 1 { m /= 2 }
            var factory = TensorFactory(seed: seed)
            let weight = try factory.weight(weightType, rows: m, length: k)
            let input = try factory.f32([n, k])
            try expectMatmulAgreement("matmul \(weightType) n=\(n) k=\(k) m=\(m) seed=\(seed)", input: input, weight: weight)
        }
    }

    /// Rows long enough that the integer matrix products split them into several packed
    /// panels (11008 values: 22 groups of 512, the last half padding), with row counts
    /// that are not multiples of the tile sizes.
    @Test(arguments: [ElementType.q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q5_K, .q6_K])
    func matrixMultiplicationWithLongRows(weightType: ElementType) throws {
        for (n, k, m, seed) in [(7, 11008, 70, 1), (33, 4608, 130, 2)] {
            var factory = TensorFactory(seed: seed)
            let weight = try factory.weight(weightType, rows: m, length: k)
            let input = try factory.f32([n, k])
            try expectMatmulAgreement("matmul \(weightType) n=\(n) k=\(k) m=\(m)", input: input, weight: weight)
        }
    }

    /// Products of one input computed together (``SharedInputMatrixMultiplication``: one
    /// quantized input, one parallel loop over the rows of all weights) give exactly the
    /// products computed one by one, on every variant, for decode and prompt row counts and
    /// for weights of mixed types (float and integer dots, int16 and other kernels).
    @Test func sharedInputProductsEqualSeparateProducts() async throws {
        let typeSets: [[ElementType]] = [[.q4_0, .q4_0, .q4_0], [.q4_K, .q6_K, .f32], [.f16, .q8_0], [.q5_0, .bf16, .q5_K]]
        let rowCounts = Gen.element(of: [1, 2, 3, 7, 16, 40]).map { $0! }
        await propertyCheck(count: 12, input: rowCounts, Gen.element(of: typeSets).map { $0! }, Gen.int(in: 1...4), seeds) {
            n, types, blocks, seed in
            var factory = TensorFactory(seed: seed)
            let k = 256 * blocks
            let weights = try types.enumerated().map { try factory.weight($1, rows: 37 + 29 * $0, length: k) }
            let input = try factory.f32([n, k])
            for (name, backend) in TestBackends.candidates + [("naive", TestBackends.naive)] {
                let together = try weights.map { try Tensor(zeros: [n, $0.rowCount]) }
                try backend.matmul(input, weights: weights, into: together)
                for (weight, output) in zip(weights, together) {
                    let alone = try backend.matmul(input, weight: weight).floats()
                    let differing = zip(output.floats(), alone).filter { $0 != $1 }.count
                    #expect(differing == 0, "\(name) \(weight.elementType) n=\(n) k=\(k) seed=\(seed): \(differing) of \(alone.count) outputs differ")
                }
            }
        }
    }

    /// A case the property test once drew (CI, seed 1693680587): one input row, two outputs
    /// that nearly cancel, where int8 activations gave an NMSE of 1.3e-3 (the outputs, not
    /// the rounding, were small).
    @Test func int8ActivationsWithCancellingOutputs() throws {
        var factory = TensorFactory(seed: 1_693_680_587)
        let weight = try factory.weight(.q4_0, rows: 2, length: 1760)
        let input = try factory.f32([1, 1760])
        try expectMatmulAgreement("matmul Q4_0 n=1 k=1760 m=2", input: input, weight: weight)
    }

    /// A case the property test once drew (CI, seed 258449300): six input rows, one `bf16`
    /// weight row, where `f16` activations gave an NMSE of 1.7e-6 against the fixed 1e-6
    /// that held them before (the outputs nearly cancel; the rounding was within its bound).
    @Test func halfActivationsWithCancellingOutputs() throws {
        var factory = TensorFactory(seed: 258_449_300)
        let weight = try factory.weight(.bf16, rows: 1, length: 380)
        let input = try factory.f32([6, 380])
        try expectMatmulAgreement("matmul BF16 n=6 k=380 m=1", input: input, weight: weight)
    }

    /// The largest integer products the packed kernels meet: Q6_K blocks whose every value
    /// is −32 × scale −128 (the packed integer 4096) against activations that all round to
    /// the int16 maximum. Sums of 16 such steps overflow int32; the kernels must not.
    /// 9 rows take the AVX-512 VNNI integer tiles, 17 the AVX2 ones (from 16 rows).
    @Test(arguments: [9, 17])
    func extremeQ6KProductsDoNotOverflow(n: Int) throws {
        let k = 1024, m = 8
        let weight = try Tensor(zeros: [m, k], elementType: .q6_K)
        let bytes = weight.mutableRawPointer
        for block in 0..<weight.byteCount / 210 {
            let base = block * 210
            for i in 0..<128 { bytes.storeBytes(of: UInt8(0), toByteOffset: base + i, as: UInt8.self) }  // low bits
            for i in 0..<64 { bytes.storeBytes(of: UInt8(0), toByteOffset: base + 128 + i, as: UInt8.self) }  // high bits
            for i in 0..<16 { bytes.storeBytes(of: UInt8(0x80), toByteOffset: base + 192 + i, as: UInt8.self) }  // scales −128
            bytes.storeBytes(of: HalfPrecision.f16Bits(from: 0.001), toByteOffset: base + 208, as: UInt16.self)
        }
        let input = try Tensor(shape: [n, k], values: (0..<(n * k)).map { Float(1 + $0 / k) })
        try expectMatmulAgreement("extreme Q6_K n=\(n)", input: input, weight: weight)
    }

    /// The largest products the int8 decode kernels meet: Q8_0 weights of −128 (a file can
    /// hold them; the quantizer writes −127 … 127) against activations that round to ±127.
    /// The AVX2 kernels add pairs of such products in int16 (vpmaddubsw: 2 · 128 · 127 =
    /// 32512, just below its saturation at 32767); a sign or saturation mistake moves every
    /// output by about a third.
    @Test(arguments: [Float(1), -1])
    func extremeInt8ProductsDoNotSaturate(sign: Float) throws {
        let k = 512, m = 4
        let weight = try Tensor(zeros: [m, k], elementType: .q8_0)
        let bytes = weight.mutableRawPointer
        for block in 0..<weight.byteCount / 34 {
            bytes.storeBytes(of: HalfPrecision.f16Bits(from: 0.01), toByteOffset: block * 34, as: UInt16.self)
            for i in 0..<32 { bytes.storeBytes(of: UInt8(0x80), toByteOffset: block * 34 + 2 + i, as: UInt8.self) }
        }
        // Every block rounds exactly (to ±127 and ±64), so the outputs must match the reference
        // to float precision.
        let input = try Tensor(shape: [1, k], values: (0..<k).map { i in sign * (i % 8 == 7 ? 64 / 127 : 1) })
        try expectMatmulAgreement("extreme Q8_0 int8 sign=\(sign)", input: input, weight: weight)
    }

    @Test(arguments: ElementType.allCases)
    func embeddingLookup(tableType: ElementType) async throws {
        await propertyCheck(count: 20, input: Gen.int(in: 1...300), Gen.int(in: 1...1024), Gen.int(in: 1...12), seeds) {
            vocabulary, requestedWidth, idCount, seed in
            let width = max(tableType.blockLength, requestedWidth / tableType.blockLength * tableType.blockLength)
            var factory = TensorFactory(seed: seed)
            let table = try factory.weight(tableType, rows: vocabulary, length: width)
            let ids = (0..<idCount).map { _ in Int.random(in: 0..<vocabulary, using: &factory.random) }
            try expectAgreement("embedding \(tableType) seed=\(seed)", tolerance: AgreementTolerance.exact) {
                let output = try Tensor(zeros: [idCount, width])
                try $0.embedding(table, ids: ids, into: output)
                return output.floats()
            }
        }
    }

    @Test(arguments: ElementwiseOperation.Kind.allCases)
    func elementwise(kind: ElementwiseOperation.Kind) async throws {
        await propertyCheck(count: 30, input: Gen.int(in: 1...9), Gen.int(in: 1...5000), seeds) { rows, length, seed in
            var factory = TensorFactory(seed: seed)
            let a = try factory.f32([rows, length]), b = try factory.f32([rows, length])
            try expectAgreement("\(kind) seed=\(seed)", tolerance: AgreementTolerance.exact) {
                let output = try Tensor(zeros: [rows, length])
                try $0.execute(ElementwiseOperation(kind, a, b, output: output))
                return output.floats()
            }
        }
    }

    @Test func scaling() async throws {
        await propertyCheck(count: 30, input: Gen.int(in: 1...5000), seeds) { length, seed in
            var factory = TensorFactory(seed: seed)
            let x = try factory.f32([length])
            let factor = factory.values(1)[0]
            try expectAgreement("scale seed=\(seed)", tolerance: AgreementTolerance.exact) {
                let output = try Tensor(zeros: [length])
                try $0.scale(x, by: factor, into: output)
                return output.floats()
            }
        }
    }

    @Test(arguments: Activation.Function.allCases)
    func activations(function: Activation.Function) async throws {
        await propertyCheck(count: 30, input: Gen.int(in: 1...5000), seeds) { length, seed in
            var factory = TensorFactory(seed: seed)
            let gate = try factory.f32([length], magnitude: 10), up = try factory.f32([length])
            try expectAgreement("\(function) seed=\(seed)", tolerance: AgreementTolerance.exact) {
                let output = try Tensor(zeros: [length])
                try $0.execute(Activation(function, gate, output: output))
                return output.floats()
            }
            try expectAgreement("gated \(function) seed=\(seed)", tolerance: AgreementTolerance.exact) {
                let output = try Tensor(zeros: [length])
                try $0.execute(GatedActivation(function, gate: gate, up: up, output: output))
                return output.floats()
            }
        }
    }

    @Test func rmsNormalization() async throws {
        await propertyCheck(count: 40, input: Gen.int(in: 1...9), Gen.int(in: 1...4096), seeds) { rows, width, seed in
            var factory = TensorFactory(seed: seed)
            let x = try factory.f32([rows, width]), weight = try factory.f32([width], magnitude: 2)
            let epsilon = Float.random(in: 1e-7...1e-4, using: &factory.random)
            try expectAgreement("rmsNorm seed=\(seed)", tolerance: AgreementTolerance.exact) {
                let output = try Tensor(zeros: [rows, width])
                try $0.rmsNorm(x, weight: weight, epsilon: epsilon, into: output)
                return output.floats()
            }
        }
    }

    @Test(arguments: RotaryEmbedding.Layout.allCases)
    func rotaryEmbedding(layout: RotaryEmbedding.Layout) async throws {
        let bases: [Float] = [10_000, 5_000_000, 1_000_000, 500]
        await propertyCheck(count: 40, input: Gen.int(in: 1...9), Gen.int(in: 1...8), Gen.int(in: 1...128), seeds) {
            tokens, heads, halfWidth, seed in
            var factory = TensorFactory(seed: seed)
            let width = 2 * halfWidth
            let dimensions = 2 * Int.random(in: 1...halfWidth, using: &factory.random)
            let parameters = RotaryEmbedding.Parameters(
                base: bases.randomElement(using: &factory.random)!, layout: layout, dimensions: dimensions,
                positionScale: [1, 2, 4, 8].randomElement(using: &factory.random)!)
            let positions = (0..<tokens).map { _ in Int.random(in: 0...10_000, using: &factory.random) }
            let x = try factory.f32([tokens, heads, width])
            try expectAgreement("rope seed=\(seed)", tolerance: AgreementTolerance.exact) {
                let output = try Tensor(zeros: [tokens, heads, width])
                try $0.rope(x, positions: positions, parameters: parameters, into: output)
                return output.floats()
            }
        }
    }

    @Test func softmax() async throws {
        await propertyCheck(count: 40, input: Gen.int(in: 1...9), Gen.int(in: 1...3000), Gen.bool, seeds) {
            rows, columns, masked, seed in
            var factory = TensorFactory(seed: seed)
            let x = try factory.f32([rows, columns], magnitude: 20)
            let mask: Tensor? = masked ? try Tensor(shape: [rows, columns], values: (0..<rows * columns).map { _ in
                Bool.random(using: &factory.random) ? -.infinity : Float.random(in: -3...3, using: &factory.random)
            }) : nil
            try expectAgreement("softmax seed=\(seed)", tolerance: AgreementTolerance.exact) {
                let output = try Tensor(zeros: [rows, columns])
                try $0.softmax(x, mask: mask, into: output)
                return output.floats()
            }
        }
    }

    @Test(arguments: [ElementType.f32, .f16])
    func attention(cacheType: ElementType) async throws {
        await propertyCheck(
            // 8 queries and more take the BLAS backend's matrix-product path (prompts).
            count: 40, input: Gen.element(of: [1, 2, 3, 7, 8, 9, 16, 37]).map { $0! }, Gen.int(in: 1...4), Gen.int(in: 1...4), Gen.int(in: 1...128), seeds
        ) { queries, kvHeads, groupSize, width, seed in
            var factory = TensorFactory(seed: seed)
            let heads = kvHeads * groupSize
            let first = Int.random(in: 0...40, using: &factory.random)
            let keyCount = first + queries + Int.random(in: 0...3, using: &factory.random)
            let query = try factory.f32([queries, heads, width], magnitude: 1)
            let keys = try Tensor(converting: factory.f32([keyCount, kvHeads, width], magnitude: 1), to: cacheType)
            let values = try Tensor(converting: factory.f32([keyCount, kvHeads, width]), to: cacheType)
            let masks: [AttentionMask] = [
                .none,
                .causal(firstQueryPosition: first),
                .causal(firstQueryPosition: first, window: Int.random(in: 1...8, using: &factory.random)),
                .additive(try factory.f32([queries, keyCount], magnitude: 2)),
            ]
            let scale = 1 / Float(width).squareRoot()
            for mask in masks {
                try expectAgreement("attention \(mask) seed=\(seed)", tolerance: AgreementTolerance.exact) {
                    let output = try Tensor(zeros: [queries, heads, width])
                    try $0.attention(query: query, keys: keys, values: values, mask: mask, scale: scale, into: output)
                    return output.floats()
                }
            }
        }
    }

    @Test func argmax() async throws {
        await propertyCheck(count: 40, input: Gen.int(in: 1...9), Gen.int(in: 1...5000), seeds) { rows, columns, seed in
            var factory = TensorFactory(seed: seed)
            // Few distinct values, so that ties (first index wins) happen.
            let x = try Tensor(shape: [rows, columns], values: (0..<rows * columns).map { _ in
                Float(Int.random(in: -20...20, using: &factory.random))
            })
            for (name, backend) in TestBackends.candidates {
                #expect(try backend.argmax(x) == TestBackends.naive.argmax(x), "\(name) seed=\(seed)")
            }
        }
    }

    @Test(arguments: ElementType.allCases.filter(\.canEncode))
    func conversion(target: ElementType) async throws {
        await propertyCheck(count: 20, input: Gen.int(in: 1...9), Gen.int(in: 1...2048), seeds) { rows, requested, seed in
            let length = max(target.blockLength, requested / target.blockLength * target.blockLength)
            var factory = TensorFactory(seed: seed)
            let x = try factory.f32([rows, length])
            try expectAgreement("convert to \(target) seed=\(seed)", tolerance: AgreementTolerance.exact) {
                let output = try Tensor(zeros: [rows, length], elementType: target)
                try $0.convert(x, into: output)
                return output.floats()
            }
        }
    }
}
