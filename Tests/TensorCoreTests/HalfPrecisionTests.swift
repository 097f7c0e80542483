import Testing
@testable import TensorCore

struct HalfPrecisionTests {
    @Test func everyF16RoundTripsThroughFloat() {
        for bits in 0...UInt16.max {
            let value = HalfPrecision.float(fromF16: bits)
            if value.isNaN {
                #expect(HalfPrecision.f16Bits(from: value) & 0x7C00 == 0x7C00)
            } else {
                #expect(HalfPrecision.f16Bits(from: value) == bits, "f16 \(bits) → \(value)")
            }
        }
    }

    #if !(os(macOS) && arch(x86_64))
    @Test func conversionsMatchSwiftFloat16() {
        var generator = SystemRandomNumberGenerator()
        for bits in 0...UInt16.max where !Float16(bitPattern: bits).isNaN {
            #expect(HalfPrecision.float(fromF16: bits) == Float(Float16(bitPattern: bits)))
        }
        // Narrowing: random bit patterns cover normal, subnormal, overflowing and halfway values.
        for _ in 0..<200_000 {
            let value = Float(bitPattern: UInt32.random(in: 0...UInt32.max, using: &generator))
            guard !value.isNaN else { continue }
            #expect(HalfPrecision.f16Bits(from: value) == Float16(value).bitPattern, "\(value)")
        }
        for halfway: Float in [1 + 0x1p-11, 1 + 3 * 0x1p-11, 0x1p-25, 3 * 0x1p-25, 65520, 65519.99] {
            #expect(HalfPrecision.f16Bits(from: halfway) == Float16(halfway).bitPattern, "\(halfway)")
        }
    }
    #endif

    @Test func bfloat16RoundsToNearestEven() {
        #expect(HalfPrecision.bf16Bits(from: 1) == 0x3F80)
        #expect(HalfPrecision.bf16Bits(from: Float(bitPattern: 0x3F80_8000)) == 0x3F80)  // tie, even stays
        #expect(HalfPrecision.bf16Bits(from: Float(bitPattern: 0x3F81_8000)) == 0x3F82)  // tie, odd rounds up
        #expect(HalfPrecision.bf16Bits(from: Float(bitPattern: 0x3F80_8001)) == 0x3F81)
        #expect(HalfPrecision.float(fromBF16: 0xC040) == -3)
        #expect(HalfPrecision.float(fromBF16: HalfPrecision.bf16Bits(from: .nan)).isNaN)
    }
}
