// Small vector helpers shared by the two families of AVX-512 VNNI integer-activation
// kernels (Int8Matvec.c and Int16Matvec.c); the AVX2 ones are in AVX2BlockHelpers.h.
// x86-64 only; include inside the files' `#if defined(__x86_64__) ...` sections.
#ifndef CK_VNNI_HELPERS_H
#define CK_VNNI_HELPERS_H

#include <immintrin.h>

#include "AVX2BlockHelpers.h"
#include "Half.h"

/// The instruction sets of the AVX-512 VL + VNNI kernels (256-bit registers).
#define CK_VNNI __attribute__((target("avx2,avx512f,avx512bw,avx512vl,avx512vnni,f16c,fma")))

/// Words 0–7 of the permute of the 64 bytes at `a` followed by the 64 at `b` (word i of
/// the result is word index[i] of the 128 bytes): one load and one vpermt2w, written as
/// inline assembly because clang otherwise rewrites the permute, and the kernels' other
/// loads of the same bytes, as scalar byte inserts (several times slower).
CK_VNNI static inline __attribute__((always_inline)) __m128i permute_words(const uint8_t *a, const uint8_t *b, __m128i index) {
    __m512i table;
    __asm__("vmovdqu64 %[a], %[table]\n\tvpermt2w %[b], %[index], %[table]"
            : [table] "=&v"(table)
            : [a] "m"(*(const uint8_t(*)[64])a), [b] "m"(*(const uint8_t(*)[64])b), [index] "v"(_mm512_castsi128_si512(index)));
    return _mm512_castsi512_si128(table);
}

/// The f16 at byte `offset` of 8 consecutive blocks `stride` bytes apart, widened to floats.
///
/// For Q4_0 (18-byte blocks), Q4_1 (20) and Q8_0 (34) the halves come from 512-bit loads
/// of the blocks and two-source word permutes (one for Q4_0 and Q4_1, two for Q8_0); other
/// strides insert them one by one. The inserts all run on the shuffle units, 8 for every 8
/// blocks, which held back the kernels of the small block types (AMD Zen 5 from L2: see
/// Documentation/Performance.md). The loads stay inside the 8 blocks.
CK_VNNI static inline __attribute__((always_inline)) __m256 gather_f16(const uint8_t *first, int stride, int offset) {
    const int w = stride / 2, o = offset / 2;  // in 16-bit words
    if (stride == 18) {  // the 8 halves lie in the first 128 bytes
        const __m128i index = _mm_setr_epi16(o, w + o, 2 * w + o, 3 * w + o, 4 * w + o, 5 * w + o, 6 * w + o, 7 * w + o);
        return _mm256_cvtph_ps(permute_words(first, first + 64, index));
    }
    if (stride == 20) {  // blocks 0-3 in the first 64 bytes, blocks 4-7 in the 64 from block 4
        const __m128i index = _mm_setr_epi16(o, w + o, 2 * w + o, 3 * w + o, 32 + o, 32 + w + o, 32 + 2 * w + o, 32 + 3 * w + o);
        return _mm256_cvtph_ps(permute_words(first, first + 4 * stride, index));
    }
    if (stride == 34) {  // blocks 0-3 in the first 128 bytes, blocks 4-7 in the 128 from block 4
        const __m128i index = _mm_setr_epi16(o, w + o, 2 * w + o, 3 * w + o, 0, 0, 0, 0);
        const uint8_t *fifth = first + 4 * stride;
        return _mm256_cvtph_ps(_mm_unpacklo_epi64(permute_words(first, first + 64, index), permute_words(fifth, fifth + 64, index)));
    }
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

/// ck_int16_quantize_block (and the int8 rounding of Int8Matvec.c) with AVX-512: the 32
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

/// Block b of an activation with AVX-512: rounds its 32 values of x to integers of at most
/// `steps` (ck_quantize_block_avx512), left in `i0` and `i1`, and stores its scale and sums
/// into the fields (CK_BLOCK_SUM_FIELDS) with ck_store_block_sums.
__attribute__((target("avx2,avx512f,avx512bw,avx512vl,avx512dq,fma"))) static inline void ck_quantize_block_sums_avx512(
    const float *x, int64_t b, float steps, float *scale, float *sum16, int32_t *qsum16, float *qsum32, float *sum32, __m512i *i0,
    __m512i *i1) {
    __m512 x0, x1;
    const float block_scale = ck_quantize_block_avx512(x + b * 32, steps, &x0, &x1, i0, i1);
    const int32_t q0 = _mm512_reduce_add_epi32(*i0), q1 = _mm512_reduce_add_epi32(*i1);
    ck_store_block_sums(scale, sum16, qsum16, qsum32, sum32, b, block_scale, _mm512_reduce_add_ps(x0), _mm512_reduce_add_ps(x1), q0, q1);
}

#endif
