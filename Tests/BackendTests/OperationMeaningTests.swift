import Foundation
import Testing
import TensorCore
import TestSupport

/// What each operation means, shown on small known examples, on every backend.
struct OperationMeaningTests {
    func close(_ a: [Float], _ b: [Float], tolerance: Float = 1e-5) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tolerance * max(1, abs($1)) }
    }

    @Test(arguments: TestBackends.names)
    func matrixMultiplicationOfKnownMatrices(backend name: String) throws {
        let backend = try TestBackends.make(name)
        let x = try Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        let w = try Tensor(shape: [2, 3], values: [1, 0, -1, 0.5, 0.5, 0.5])
        #expect(try backend.matmul(x, weight: w).floats() == [-2, 3, -2, 7.5])
        // A quantized weight whose values are exact in q8_0 (scale 1 after rounding).
        let exact = try Tensor(shape: [1, 32], values: (0..<32).map { Float($0 - 16) * 127 / 16 }.map { $0.rounded() })
        let q = try Tensor(converting: exact, to: .q8_0)
        let ones = try Tensor(shape: [1, 32], values: Array(repeating: 1, count: 32))
        #expect(try backend.matmul(ones, weight: q).floats() == [exact.floats().reduce(0, +)])
        #expect(throws: TensorError.self) { try backend.matmul(x, weight: try Tensor(zeros: [2, 4])) }
    }

    @Test(arguments: TestBackends.names)
    func mismatchedShapesNameBothShapes(backend name: String) throws {
        let backend = try TestBackends.make(name)
        do {
            try backend.add(try Tensor(zeros: [2, 3]), try Tensor(zeros: [3, 2]), into: try Tensor(zeros: [2, 3]))
            Issue.record("adding [2, 3] and [3, 2] must throw")
        } catch {
            #expect("\(error)".contains("[2, 3]") && "\(error)".contains("[3, 2]"), "\(error)")
        }
    }

    @Test(arguments: TestBackends.names)
    func rmsNormOfAKnownVector(backend name: String) throws {
        let backend = try TestBackends.make(name)
        let x = try Tensor(shape: [1, 4], values: [1, 2, 3, 4])
        let w = try Tensor(shape: [4], values: [1, 1, 2, 0.5])
        let y = try Tensor(zeros: [1, 4])
        try backend.rmsNorm(x, weight: w, epsilon: 0, into: y)
        let r = Float(7.5).squareRoot()  // mean of 1, 4, 9, 16
        #expect(close(y.floats(), [1 / r, 2 / r, 6 / r, 2 / r]))
        try backend.rmsNorm(x, weight: w, epsilon: 2.5, into: y)  // √(7.5 + 2.5) = √10
        #expect(close(y.floats(), [1, 2, 6, 2].map { $0 / Float(10).squareRoot() }))
    }

    @Test(arguments: TestBackends.names, RotaryEmbedding.Layout.allCases)
    func ropeIsARotation(backend name: String, layout: RotaryEmbedding.Layout) throws {
        let backend = try TestBackends.make(name)
        var factory = TensorFactory(seed: 7)
        let x = try factory.f32([1, 3, 64], magnitude: 1)
        let parameters = RotaryEmbedding.Parameters(base: 10_000, layout: layout, dimensions: 64)
        func rotate(_ input: Tensor, by position: Int) throws -> Tensor {
            let output = try Tensor(zeros: input.shape)
            try backend.rope(input, positions: [position], parameters: parameters, into: output)
            return output
        }
        // Position 0 is the identity.
        #expect(try rotate(x, by: 0).floats() == x.floats())
        // A rotation keeps the length of every pair, so of every head.
        let rotated = try rotate(x, by: 1234)
        for head in 0..<3 {
            let before = x.floats()[head * 64..<(head + 1) * 64].map { Double($0) * Double($0) }.reduce(0, +)
            let after = rotated.floats()[head * 64..<(head + 1) * 64].map { Double($0) * Double($0) }.reduce(0, +)
            #expect(abs(before - after) <= 1e-5 * before)
        }
        // Rotating by p then by q is rotating by p + q.
        let twice = try rotate(try rotate(x, by: 17), by: 25)
        let once = try rotate(x, by: 42)
        #expect(close(twice.floats(), once.floats(), tolerance: 1e-5))
        // The pairing: with one pair, interleaved rotates (x0, x1) and half-split (x0, x32).
        let unit = try Tensor(shape: [1, 1, 64], values: (0..<64).map { $0 == 0 ? 1 : 0 })
        let turned = try rotate(unit, by: 1).floats()
        let partner = layout == .interleaved ? 1 : 32
        #expect(abs(turned[0] - Float(cos(1.0))) < 1e-6 && abs(turned[partner] - Float(sin(1.0))) < 1e-6)
    }

    @Test(arguments: TestBackends.names)
    func ropeScalingDividesPositions(backend name: String) throws {
        let backend = try TestBackends.make(name)
        var factory = TensorFactory(seed: 8)
        let x = try factory.f32([1, 2, 16], magnitude: 1)
        let scaled = RotaryEmbedding.Parameters(base: 10_000, layout: .halfSplit, dimensions: 16, positionScale: 4)
        let plain = RotaryEmbedding.Parameters(base: 10_000, layout: .halfSplit, dimensions: 16)
        let a = try Tensor(zeros: x.shape), b = try Tensor(zeros: x.shape)
        try backend.rope(x, positions: [40], parameters: scaled, into: a)
        try backend.rope(x, positions: [10], parameters: plain, into: b)
        #expect(close(a.floats(), b.floats(), tolerance: 1e-6))
    }

    @Test(arguments: TestBackends.names)
    func softmaxRowsSumToOneAndMaskedEntriesGetZero(backend name: String) throws {
        let backend = try TestBackends.make(name)
        let x = try Tensor(shape: [3, 4], values: [1, 2, 3, 4, 1000, 1000, -1000, 0, 0, 0, 0, 0])
        let mask = try Tensor(shape: [3, 4], values: [0, -.infinity, 0, 0, 0, 0, 0, 0, -.infinity, -.infinity, -.infinity, -.infinity])
        let y = try Tensor(zeros: [3, 4])
        try backend.softmax(x, mask: mask, into: y)
        let p = y.floats()
        #expect(abs(p[0..<4].reduce(0, +) - 1) < 1e-6)
        #expect(abs(p[4..<8].reduce(0, +) - 1) < 1e-6)
        #expect(p[1] == 0)
        #expect(abs(p[4] - 0.5) < 1e-6 && abs(p[5] - 0.5) < 1e-6)  // large values do not overflow
        #expect(p[8..<12].allSatisfy { $0 == 0 })  // a fully masked row is zeros, not NaN
        let e = [1, 3, 4].map { exp(Double($0)) }
        #expect(abs(Double(p[3]) - e[2] / e.reduce(0, +)) < 1e-6)
    }

    /// Multi-head attention written out with the tensors' numbers, no backend.
    func plainMultiHeadAttention(
        query: [Float], keys: [Float], values: [Float], queries: Int, keyCount: Int, heads: Int, kvHeads: Int,
        width: Int, first: Int
    ) -> [Float] {
        var output = [Float](repeating: 0, count: queries * heads * width)
        for i in 0..<queries {
            for h in 0..<heads {
                let g = h * kvHeads / heads
                let visible = first + i + 1
                let q = (i * heads + h) * width
                var scores: [Double] = []
                for j in 0..<visible {
                    var dot = 0.0
                    for l in 0..<width { dot += Double(query[q + l]) * Double(keys[(j * kvHeads + g) * width + l]) }
                    scores.append(dot / Double(width).squareRoot())
                }
                let top = scores.max()!
                scores = scores.map { exp($0 - top) }
                let total = scores.reduce(0, +)
                for l in 0..<width {
                    var sum = 0.0
                    for j in 0..<visible { sum += scores[j] / total * Double(values[(j * kvHeads + g) * width + l]) }
                    output[q + l] = Float(sum)
                }
            }
        }
        return output
    }

    @Test(arguments: TestBackends.names)
    func groupedQueryAttentionMatchesMultiHeadAttention(backend name: String) throws {
        let backend = try TestBackends.make(name)
        var factory = TensorFactory(seed: 11)
        let (queries, heads, width, first) = (3, 4, 8, 2)
        let keyCount = first + queries
        let query = try factory.f32([queries, heads, width], magnitude: 1)
        // n_kv_heads = n_heads: plain multi-head attention.
        let keys = try factory.f32([keyCount, heads, width], magnitude: 1)
        let values = try factory.f32([keyCount, heads, width], magnitude: 1)
        let output = try Tensor(zeros: [queries, heads, width])
        let scale = 1 / Float(width).squareRoot()
        try backend.attention(
            query: query, keys: keys, values: values, mask: .causal(firstQueryPosition: first), scale: scale, into: output)
        let expected = plainMultiHeadAttention(
            query: query.floats(), keys: keys.floats(), values: values.floats(), queries: queries, keyCount: keyCount,
            heads: heads, kvHeads: heads, width: width, first: first)
        #expect(close(output.floats(), expected))

        // Two KV heads shared by pairs of query heads equal four KV heads where each is
        // repeated for its pair (Hugging Face's repeat_kv).
        let sharedKeys = try factory.f32([keyCount, 2, width], magnitude: 1)
        let sharedValues = try factory.f32([keyCount, 2, width], magnitude: 1)
        func repeatHeads(_ t: Tensor) throws -> Tensor {
            let v = t.floats()
            var repeated: [Float] = []
            for j in 0..<keyCount {
                for h in 0..<4 {
                    let source = (j * 2 + h / 2) * width
                    repeated += v[source..<source + width]
                }
            }
            return try Tensor(shape: [keyCount, 4, width], values: repeated)
        }
        let grouped = try Tensor(zeros: [queries, heads, width])
        let repeated = try Tensor(zeros: [queries, heads, width])
        try backend.attention(
            query: query, keys: sharedKeys, values: sharedValues, mask: .causal(firstQueryPosition: first), scale: scale,
            into: grouped)
        try backend.attention(
            query: query, keys: repeatHeads(sharedKeys), values: repeatHeads(sharedValues),
            mask: .causal(firstQueryPosition: first), scale: scale, into: repeated)
        #expect(close(grouped.floats(), repeated.floats(), tolerance: 1e-6))
    }

    @Test(arguments: TestBackends.names)
    func slidingWindowSeesOnlyTheLastKeys(backend name: String) throws {
        let backend = try TestBackends.make(name)
        // One head of width 1; every score is equal, so the output is the mean of the
        // visible values.
        let keys = try Tensor(shape: [6, 1, 1], values: Array(repeating: 0, count: 6))
        let values = try Tensor(shape: [6, 1, 1], values: [1, 2, 3, 4, 5, 6])
        let query = try Tensor(shape: [2, 1, 1], values: [1, 1])
        let output = try Tensor(zeros: [2, 1, 1])
        try backend.attention(
            query: query, keys: keys, values: values, mask: .causal(firstQueryPosition: 4, window: 3), scale: 1,
            into: output)
        // Query at position 4 sees keys 2, 3, 4; at position 5, keys 3, 4, 5.
        #expect(close(output.floats(), [4, 5]))
        try backend.attention(query: query, keys: keys, values: values, mask: .causal(firstQueryPosition: 4), scale: 1, into: output)
        #expect(close(output.floats(), [3, 3.5]))
    }

    @Test(arguments: TestBackends.names)
    func activationsAtKnownPoints(backend name: String) throws {
        let backend = try TestBackends.make(name)
        let x = try Tensor(shape: [4], values: [0, 1, -1, 3])
        let y = try Tensor(zeros: [4])
        try backend.silu(x, into: y)
        #expect(close(y.floats(), [0, 0.7310586, -0.26894143, 2.8577223]))
        try backend.gelu(x, into: y)  // PyTorch's gelu(x, approximate="tanh")
        #expect(close(y.floats(), [0, 0.8411920, -0.15880801, 2.9963627]))
        let up = try Tensor(shape: [4], values: [2, 2, 2, 2])
        try backend.swiglu(gate: x, up: up, into: y)
        #expect(close(y.floats(), [0, 1.4621172, -0.53788286, 5.7154446]))
        try backend.geglu(gate: x, up: up, into: y)
        #expect(close(y.floats(), [0, 1.682384, -0.31761602, 5.9927254]))
    }

    @Test(arguments: TestBackends.names)
    func embeddingArgmaxAndConversion(backend name: String) throws {
        let backend = try TestBackends.make(name)
        let table = try Tensor(shape: [3, 2], values: [1, 2, 3, 4, 5, 6])
        let rows = try Tensor(zeros: [2, 2])
        try backend.embedding(table, ids: [2, 0], into: rows)
        #expect(rows.floats() == [5, 6, 1, 2])
        #expect(throws: TensorError.self) { try backend.embedding(table, ids: [3], into: try Tensor(zeros: [1, 2])) }
        #expect(try backend.argmax(try Tensor(shape: [2, 3], values: [1, 5, 5, 9, 0, -1])) == [1, 0])
        let half = try Tensor(zeros: [2, 2], elementType: .f16)
        try backend.convert(rows, into: half)
        #expect(half.floats() == [5, 6, 1, 2])
    }
}
