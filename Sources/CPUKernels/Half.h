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

static inline float ck_bf16_to_f32(uint16_t h) { return ck_f32_from_bits((uint32_t)h << 16); }

static inline uint16_t ck_load_u16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t ck_load_u32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline float ck_load_f16(const uint8_t *p) { return ck_f16_to_f32(ck_load_u16(p)); }

#endif
