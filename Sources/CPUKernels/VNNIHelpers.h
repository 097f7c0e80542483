// Small vector helpers shared by the two families of integer-activation kernels
// (Int8Matvec.c and QuantizedMatvec.c). x86-64 only; include inside the files'
// `#if defined(__x86_64__) ...` sections.
#ifndef CK_VNNI_HELPERS_H
#define CK_VNNI_HELPERS_H

#include <immintrin.h>

#include "Half.h"

/// The instruction sets of the AVX-512 VL + VNNI kernels (256-bit registers).
#define CK_VNNI __attribute__((target("avx2,avx512f,avx512bw,avx512vl,avx512vnni,f16c,fma")))

CK_VNNI static inline float f16(const uint8_t *p) { return _cvtsh_ss(ck_load_u16(p)); }

/// The 32 nibbles of 16 bytes as bytes: values 0..15 (low nibbles), then 16..31.
CK_VNNI static inline __m256i nibbles(const uint8_t *qs) {
    const __m128i packed = _mm_loadu_si128((const __m128i *)qs);
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(packed, 4), packed), _mm256_set1_epi8(0x0F));
}

CK_VNNI static inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/// The f16 at byte `offset` of 8 consecutive blocks `stride` bytes apart, widened to floats.
CK_VNNI static inline __m256 gather_f16(const uint8_t *first, int stride, int offset) {
    __m128i h = _mm_setzero_si128();
    h = _mm_insert_epi16(h, ck_load_u16(first + offset), 0);
    h = _mm_insert_epi16(h, ck_load_u16(first + stride + offset), 1);
    h = _mm_insert_epi16(h, ck_load_u16(first + 2 * stride + offset), 2);
    h = _mm_insert_epi16(h, ck_load_u16(first + 3 * stride + offset), 3);
    h = _mm_insert_epi16(h, ck_load_u16(first + 4 * stride + offset), 4);
    h = _mm_insert_epi16(h, ck_load_u16(first + 5 * stride + offset), 5);
    h = _mm_insert_epi16(h, ck_load_u16(first + 6 * stride + offset), 6);
    h = _mm_insert_epi16(h, ck_load_u16(first + 7 * stride + offset), 7);
    return _mm256_cvtph_ps(h);
}

/// ck_q16_quantize_block (and the int8 rounding of Int8Matvec.c) with AVX-512: the 32
/// values `v` divided by max |v| / `steps` and rounded to nearest even, as lrintf does
/// (the same integers as the scalar code). Returns the scale; the values are left in
/// `x0`, `x1` and their rounded integers in `i0`, `i1` (values 0–15 and 16–31).
__attribute__((target("avx2,avx512f,avx512bw,avx512vl,avx512dq,fma"))) static inline float ck_quantize_block_avx512(
    const float *v, float steps, __m512 *x0, __m512 *x1, __m512i *i0, __m512i *i1) {
    const __m512 sign = _mm512_set1_ps(-0.0f);
    *x0 = _mm512_loadu_ps(v);
    *x1 = _mm512_loadu_ps(v + 16);
    const float maximum = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_andnot_ps(sign, *x0), _mm512_andnot_ps(sign, *x1)));
    const float scale = maximum / steps;
    const __m512 inverse = _mm512_set1_ps(scale > 0 ? 1.0f / scale : 0.0f);
    *i0 = _mm512_cvtps_epi32(_mm512_mul_ps(*x0, inverse));
    *i1 = _mm512_cvtps_epi32(_mm512_mul_ps(*x1, inverse));
    return scale;
}

#endif
