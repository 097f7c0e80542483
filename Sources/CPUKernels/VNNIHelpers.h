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

/// The 8 six-bit scales (`which` 0) or minimums (1) of a Q4_K/Q5_K super-block's 12 packed
/// scale bytes `s` as floats, all at once (ck_k_scale_min for j = 0…7): sub-blocks 0–3 keep
/// the low 6 bits of bytes 0–3 (scales) and 4–7 (minimums); sub-blocks 4–7 take a nibble of
/// bytes 8–11 and, as bits 4–5, the top 2 bits of bytes 0–3 (scales) or 4–7 (minimums).
CK_VNNI static inline __m256 k_scales_or_minimums(const uint8_t *s, int which) {
    const uint32_t low = ck_load_u32(s + 4 * which), high = ck_load_u32(s + 8);
    const uint32_t first = low & 0x3F3F3F3Fu;
    const uint32_t second = ((high >> (4 * which)) & 0x0F0F0F0Fu) | ((low >> 2) & 0x30303030u);
    const __m128i bytes = _mm_cvtsi64_si128((long long)((uint64_t)first | (uint64_t)second << 32));
    return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes));
}

/// The integer-activation kernels of Q4_K and Q5_K take a super-block of 256 values at a
/// time: its 8 sub-block scales d·sc_j·s_b and minimum terms dmin·m_j·Σx_b are one vector
/// each, so a sub-block costs only its integer product, a conversion and a multiply-add.
/// (Unpacking the scales and converting them one sub-block at a time in scalar code made
/// these kernels 2–2.5 times slower per weight than Q4_0's.)
///
/// Stores the 8 scales of super-block `block` in `scales` (with `activation_scale`, the
/// activation's 8 block scales) and returns `minimums` plus its minimum terms (with
/// `sums`, the activation's 8 block sums).
CK_VNNI static inline __m256 k_super_block_scales(const uint8_t *block, const float *activation_scale, const float *sums,
                                                  float *scales, __m256 minimums) {
    const __m256 d = _mm256_set1_ps(f16(block)), dmin = _mm256_set1_ps(f16(block + 2));
    _mm256_store_ps(scales, _mm256_mul_ps(_mm256_mul_ps(d, k_scales_or_minimums(block + 4, 0)), _mm256_loadu_ps(activation_scale)));
    return _mm256_fmadd_ps(_mm256_mul_ps(dmin, k_scales_or_minimums(block + 4, 1)), _mm256_loadu_ps(sums), minimums);
}

/// The 32 unsigned values (0–15, Q5_K 0–31) of sub-block g of a Q4_K/Q5_K super-block, as
/// bytes: `packed` holds the 32 bytes of sub-blocks g & ~1 (low nibbles) and g | 1 (high),
/// `qh` the Q5_K super-block's 32 fifth-bit bytes.
CK_VNNI static inline __m256i k_sub_block(int is_q5, __m256i packed, __m256i qh, int g) {
    const __m256i low = _mm256_set1_epi8(0x0F);
    __m256i w = g % 2 == 0 ? _mm256_and_si256(packed, low) : _mm256_and_si256(_mm256_srli_epi16(packed, 4), low);
    if (is_q5) w = _mm256_or_si256(w, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, g), _mm256_set1_epi8(0x01)), 4));
    return w;
}

/// Q6_K in the integer-activation kernels, per half super-block (128 values, 8 groups of 16
/// with an int8 scale each): returns the 8 group scales d·sc_g·s_b (group g belongs to
/// activation block b0 + g/2; `activation_scale` points at block b0) and adds the groups'
/// −32 offset terms d·sc_g·s_b·Σq(g) to `offsets` (`qsum16`: the activation's integer sums
/// of 16 values from block b0 on), to be multiplied by −32.
CK_VNNI static inline __m256 q6_k_group_scales(const uint8_t *block, int half, const float *activation_scale, const int32_t *qsum16,
                                               __m256 *offsets) {
    const __m256 d = _mm256_set1_ps(f16(block + 208));
    const __m256 block_scales = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(_mm_loadu_ps(activation_scale)),
                                                         _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3));
    const __m256 group_scales = _mm256_mul_ps(_mm256_mul_ps(d, block_scales),
                                              _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(block + 192 + half * 8)))));
    *offsets = _mm256_fmadd_ps(group_scales, _mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)qsum16)), *offsets);
    return group_scales;
}

/// The scales of sub-block t (0–3) of a Q6_K half: group 2t's in lanes 0–3 (an integer
/// product's values 0–15) and group 2t + 1's in lanes 4–7 (values 16–31).
CK_VNNI static inline __m256 q6_k_sub_block_scales(__m256 group_scales, int t) {
    return _mm256_permutevar8x32_ps(group_scales, _mm256_add_epi32(_mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1), _mm256_set1_epi32(2 * t)));
}

/// The unsigned 6-bit values (0–63, the −32 offset left out) of the 4 sub-blocks of 32 of
/// half `half` of a Q6_K super-block, as bytes.
CK_VNNI static inline void q6_k_sub_blocks(const uint8_t *block, int half, __m256i parts[4]) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(0x03);
    const __m256i ql0 = _mm256_loadu_si256((const __m256i *)(block + half * 64));
    const __m256i ql1 = _mm256_loadu_si256((const __m256i *)(block + half * 64 + 32));
    const __m256i qh = _mm256_loadu_si256((const __m256i *)(block + 128 + half * 32));
    parts[0] = _mm256_or_si256(_mm256_and_si256(ql0, m4), _mm256_slli_epi16(_mm256_and_si256(qh, m2), 4));
    parts[1] = _mm256_or_si256(_mm256_and_si256(ql1, m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m2), 4));
    parts[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m2), 4));
    parts[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m2), 4));
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
