// f16 and bf16 to float, exact, in portable C.
#ifndef CK_HALF_H
#define CK_HALF_H

#include <stdint.h>
#include <string.h>

static inline float ck_f32_from_bits(uint32_t bits) {
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static inline float ck_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exponent = (h >> 10) & 0x1F;
    uint32_t mantissa = h & 0x3FF;
    if (exponent == 0x1F) return ck_f32_from_bits(sign | 0x7F800000u | (mantissa << 13));
    if (exponent == 0) {
        float magnitude = (float)mantissa * 0x1p-24f;
        return sign ? -magnitude : magnitude;
    }
    return ck_f32_from_bits(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

/// f to f16, rounded to nearest even (as F16C's vcvtps2ph and Swift's Float16(_:)):
/// magnitudes from 65520 up become infinities, NaNs stay (quiet) NaNs, magnitudes
/// below 2^-14 become subnormals.
static inline uint16_t ck_f16_from_f32(float f) {
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    const uint16_t sign = (uint16_t)((bits >> 16) & 0x8000);
    const uint32_t magnitude = bits & 0x7FFFFFFFu;
    if (magnitude > 0x7F800000u) return sign | 0x7E00 | (uint16_t)((magnitude >> 13) & 0x3FF);  // NaN
    if (magnitude >= 0x477FF000u) return sign | 0x7C00;  // ≥ 65520: infinity
    if (magnitude >= 0x38800000u) {                      // ≥ 2^-14: normal
        // Rebias the exponent (127 → 15) and round the 13 dropped bits to nearest even;
        // a carry out of the mantissa correctly moves to the next exponent.
        const uint32_t rounded = magnitude - 0x38000000u + 0xFFFu + ((magnitude >> 13) & 1);
        return sign | (uint16_t)(rounded >> 13);
    }
    if (magnitude <= 0x33000000u) return sign;  // ≤ 2^-25: rounds to zero
    // Subnormal: the value is m · 2^(e - 150) with m the 24-bit significand; in units of
    // 2^-24 that is m >> (126 - e), rounded to nearest even (1024 is the smallest normal).
    const uint32_t exponent = magnitude >> 23, significand = (magnitude & 0x7FFFFFu) | 0x800000u;
    const uint32_t shift = 126 - exponent, half = 1u << (shift - 1);
    uint32_t result = significand >> shift;
    const uint32_t remainder = significand & ((1u << shift) - 1);
    if (remainder > half || (remainder == half && (result & 1))) result++;
    return sign | (uint16_t)result;
}

static inline float ck_bf16_to_f32(uint16_t h) { return ck_f32_from_bits((uint32_t)h << 16); }

static inline uint16_t ck_load_u16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t ck_load_u32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline float ck_load_f16(const uint8_t *p) { return ck_f16_to_f32(ck_load_u16(p)); }

#endif
