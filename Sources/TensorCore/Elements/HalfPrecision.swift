/// Conversions between `Float` and the two 16-bit floating-point formats that
/// model files use: IEEE 754 binary16 ("f16") and bfloat16 ("bf16").
///
/// They work on bit patterns (`UInt16`) so that they are available on every
/// platform, including those where Swift's `Float16` type is not (macOS on Intel).
/// Both narrowing conversions round to nearest, ties to even, like NumPy and
/// the `gguf` Python package, so quantized blocks written here are bit-identical
/// to theirs.
public enum HalfPrecision {
    /// Widens an IEEE binary16 bit pattern to `Float`. Exact for every input.
    @inlinable
    public static func float(fromF16 bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = UInt32(bits >> 10) & 0x1F
        let mantissa = UInt32(bits & 0x03FF)
        if exponent == 0x1F {
            // Infinity or NaN: keep the payload.
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        }
        if exponent == 0 {
            if mantissa == 0 { return Float(bitPattern: sign) }
            // Subnormal half: value = mantissa * 2^-24, exactly representable as Float.
            let magnitude = Float(mantissa) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        }
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
    }

    /// Narrows a `Float` to an IEEE binary16 bit pattern, rounding to nearest even.
    /// Values beyond the binary16 range become infinity; NaN stays NaN.
    @inlinable
    public static func f16Bits(from value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = UInt16((bits >> 16) & 0x8000)
        let exponent = Int((bits >> 23) & 0xFF)
        let mantissa = bits & 0x007F_FFFF
        if exponent == 0xFF {
            // Infinity, or NaN made quiet with the top payload bits kept.
            return mantissa == 0 ? sign | 0x7C00 : sign | 0x7E00 | UInt16(truncatingIfNeeded: mantissa >> 13)
        }
        let halfExponent = exponent - 127 + 15
        if halfExponent >= 0x1F { return sign | 0x7C00 }
        if halfExponent <= 0 {
            // Subnormal half (or zero): shift the full significand into place and round.
            if halfExponent < -10 { return sign }
            let significand = mantissa | 0x0080_0000
            let shift = UInt32(14 - halfExponent)
            var half = significand >> shift
            let remainder = significand & ((1 << shift) - 1)
            let halfway = UInt32(1) << (shift - 1)
            if remainder > halfway || (remainder == halfway && (half & 1) == 1) { half += 1 }
            return sign | UInt16(half)
        }
        var half = UInt32(halfExponent) << 10 | (mantissa >> 13)
        let remainder = mantissa & 0x1FFF
        if remainder > 0x1000 || (remainder == 0x1000 && (half & 1) == 1) {
            half += 1  // may carry into the exponent, which rounds up to the next power of two or to infinity
        }
        return sign | UInt16(half)
    }

    /// Widens a bfloat16 bit pattern to `Float`. Exact for every input.
    @inlinable
    public static func float(fromBF16 bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// Narrows a `Float` to bfloat16, rounding to nearest even; NaN becomes a quiet NaN.
    /// This is ggml's `ggml_compute_fp32_to_bf16` and the `gguf` package's BF16 quantizer.
    @inlinable
    public static func bf16Bits(from value: Float) -> UInt16 {
        let bits = value.bitPattern
        if bits & 0x7FFF_FFFF > 0x7F80_0000 {
            return UInt16(truncatingIfNeeded: (bits >> 16) | 64)
        }
        let rounded = (UInt64(bits) + UInt64(0x7FFF + ((bits >> 16) & 1))) >> 16
        return UInt16(truncatingIfNeeded: rounded)
    }
}
