import Foundation
import TensorCore
import Testing
import TestSupport
@testable import WeightConverter

/// GPTQ on a synthetic layer whose inputs are correlated (as activations are): the error
/// it leaves in the layer's outputs on those inputs, ‖X (W − Q)ᵀ‖², is smaller than
/// round-to-nearest's and than the importance-weighted encoders', for every type with
/// levels, and its blocks decode as the type's blocks do.
struct GPTQTests {
    static func normal(_ random: inout SeededRandom) -> Float {
        let u = Double.random(in: 1e-12..<1, using: &random), v = Double.random(in: 0..<1, using: &random)
        return Float((-2 * log(u)).squareRoot() * cos(2 * .pi * v))
    }

    /// Weights [rows, k], inputs [n, k] with correlated columns, and H = XᵀX.
    static func layer(rows: Int, k: Int, n: Int) -> (w: [Float], x: [Float], h: [Float]) {
        var random = SeededRandom(seed: 3)
        let w = (0..<rows * k).map { _ in normal(&random) * 0.05 }
        // Each input row mixes 16 latent factors, plus noise, with a few loud columns.
        let factors = (0..<16 * k).map { _ in normal(&random) }
        var x = [Float](repeating: 0, count: n * k)
        for r in 0..<n {
            let z = (0..<16).map { _ in normal(&random) }
            for c in 0..<k {
                var v: Float = 0.3 * normal(&random)
                for f in 0..<16 { v += z[f] * factors[f * k + c] }
                x[r * k + c] = v * (c % 37 == 0 ? 4 : 1)
            }
        }
        var h = [Float](repeating: 0, count: k * k)
        for r in 0..<n {
            for i in 0..<k { for j in 0..<k { h[i * k + j] += x[r * k + i] * x[r * k + j] } }
        }
        return (w, x, h)
    }

    static func outputError(_ w: [Float], _ q: Tensor, _ x: [Float], rows: Int, k: Int, n: Int) -> Double {
        let dq = try! Tensor(converting: q, to: .f32).floats()
        var total = 0.0
        for r in 0..<n {
            for o in 0..<rows {
                var e = 0.0
                for c in 0..<k { e += Double(x[r * k + c]) * Double(w[o * k + c] - dq[o * k + c]) }
                total += e * e
            }
        }
        return total
    }

    @Test(arguments: ElementType.allCases.filter { BlockGrid.maximumLevel(of: $0) != nil })
    func gptqLeavesLessOutputErrorThanRounding(type: ElementType) throws {
        let (rows, k, n) = (16, 512, 384)
        let (w, x, h) = Self.layer(rows: rows, k: k, n: n)
        let weight = try Tensor(shape: [rows, k], values: w)
        let gptq = try GPTQ.quantize(weight, to: type, moments: h, sampleCount: n)
        let rounded = try Tensor(converting: weight, to: type)
        let importance = (0..<k).map { h[$0 * k + $0] / Float(n) }
        let weighted = try WeightConverter.quantize(weight, to: type, importance: type == .q8_0 ? nil : importance)
        let (eGPTQ, eRTN, eWeighted) = (
            Self.outputError(w, gptq, x, rows: rows, k: k, n: n), Self.outputError(w, rounded, x, rows: rows, k: k, n: n),
            Self.outputError(w, weighted, x, rows: rows, k: k, n: n)
        )
        #expect(eGPTQ < 0.5 * eRTN, "\(type): GPTQ \(eGPTQ), round to nearest \(eRTN)")
        #expect(eGPTQ < eWeighted, "\(type): GPTQ \(eGPTQ), importance-weighted \(eWeighted)")
    }

    @Test func aMatrixThatIsNotPositiveDefiniteAfterDampingIsAnError() throws {
        let weight = try Tensor(shape: [2, 32], values: [Float](repeating: 0.1, count: 64))
        var h = [Float](repeating: 0, count: 32 * 32)
        for i in 0..<32 { h[i * 32 + i] = 1 }
        h[1] = 50  // not symmetric positive definite
        h[32] = 50
        #expect(throws: GPTQ.Failure.self) { _ = try GPTQ.quantize(weight, to: .q4_0, moments: h, sampleCount: 1, dampening: 0.01) }
        #expect(throws: GPTQ.Failure.self) { _ = try GPTQ.quantize(weight, to: .q4_0, moments: [1, 2, 3], sampleCount: 1) }
    }
}
