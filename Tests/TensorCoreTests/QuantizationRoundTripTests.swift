import Foundation
import PropertyBased
import TestSupport
import Testing
@testable import TensorCore

/// Quantize-then-dequantize error bounds for the encodable block types, on generated
/// rows of any length (whole blocks) and magnitudes from 1e-6 to 1e4.
///
/// The bound for each value is half a quantization step, where the step is the
/// block's scale, plus what storing the scale (and minimum) as f16 adds: the scale
/// used to quantize is the f32 one, the one stored is rounded to 11 bits, so each
/// level moves by at most 2⁻¹¹ of the scale. Two types clip one end of their range:
/// `q4_0` and `q5_0` map the block's largest-magnitude value to the lowest level
/// exactly, so a value of the opposite sign near that magnitude needs the level one
/// past the top and is clipped to the top (an error of up to one step).
struct QuantizationRoundTripTests {
    static let blockTypes: [ElementType] = [.q8_0, .q4_0, .q4_1, .q5_0, .q5_1]

    @Test(arguments: blockTypes)
    func roundTripStaysWithinHalfAStep(type: ElementType) async throws {
        await propertyCheck(count: 60, input: Gen.int(in: 1...24), Gen.int(in: -6...4), Gen.int(in: 0...Int(Int32.max))) {
            blocks, exponent, seed in
            var random = SeededRandom(seed: seed)
            let scale = Float(pow(10.0, Double(exponent)))
            let values = (0..<blocks * 32).map { _ in Float.random(in: -1...1, using: &random) * scale }
            let source = try Tensor(shape: [1, values.count], values: values)
            let quantized = try Tensor(converting: source, to: type)
            let restored = quantized.floats()
            for b in 0..<blocks {
                let block = Array(values[b * 32..<(b + 1) * 32])
                let bound = Self.errorBounds(type, block)
                for i in 0..<32 {
                    let error = abs(block[i] - restored[b * 32 + i])
                    #expect(error <= bound[i], "\(type) block \(b) value \(i): \(block[i]) → \(restored[b * 32 + i]), error \(error) > \(bound[i])")
                }
            }
        }
    }

    /// The allowed error of each value of a 32-value block, per the derivation above.
    static func errorBounds(_ type: ElementType, _ x: [Float]) -> [Float] {
        // Storing a value as f16 moves it by at most 2⁻¹¹ of itself, or by half the
        // subnormal spacing (2⁻²⁵) when it is tiny.
        func f16Error(_ v: Float) -> Float { max(abs(v) * 0x1p-11, 0x1p-25) }
        let slack: Float = 1e-6  // float rounding of the reconstruction itself, relative
        switch type {
        case .q8_0:
            let d = x.map(abs).max()! / 127
            return x.map { 0.5 * d + 127 * f16Error(d) + abs($0) * slack }
        case .q4_0, .q5_0:
            let top: Float = type == .q4_0 ? 7 : 15
            let maximum = x.max { abs($0) < abs($1) }!
            let d = abs(maximum) / (top + 1)
            return x.map { value in
                // The level of `value` runs from −(top+1) (at `maximum`) to top+1.
                let level = maximum != 0 ? -value / maximum * (top + 1) : 0
                let clipped = max(0, level - top - 0.5)
                return (0.5 + clipped) * d + (top + 1) * f16Error(d) + abs(value) * slack
            }
        case .q4_1, .q5_1:
            let levels: Float = type == .q4_1 ? 15 : 31
            let minimum = x.min()!, maximum = x.max()!
            let d = (maximum - minimum) / levels
            return x.map { 0.5 * d + levels * f16Error(d) + f16Error(minimum) + abs($0) * slack }
        default:
            return x.map { _ in 0 }
        }
    }
}

