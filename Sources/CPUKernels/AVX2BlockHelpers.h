// Small AVX2 vector helpers for the integer-activation kernels: the f16 scales, the
// nibbles and the sub-blocks of the quantized block types, and the scales of the K-quant
// super-blocks. Used by the AVX-512 VNNI kernels (Int8Matvec.c, Int16Matvec.c, through
// VNNIHelpers.h), which inline them, and by the AVX2 kernels (Int16MatvecAVX2.c).
// x86-64 only; include inside the files' `#if defined(__x86_64__) ...` sections.
#ifndef CK_AVX2_BLOCK_HELPERS_H
#define CK_AVX2_BLOCK_HELPERS_H

#include <immintrin.h>

#include "Half.h"
#include "Kernels.h"

CK_AVX2 static inline float f16(const uint8_t *p) { return _cvtsh_ss(ck_load_u16(p)); }

/// The 32 nibbles of 16 bytes as bytes: values 0..15 (low nibbles), then 16..31.
/// The 16 bytes are loaded into both halves (vbroadcasti128, a load without a shuffle) and
/// only the upper half shifted (vpsrlvd): one shuffle fewer than shifting a copy and
/// inserting it.
CK_AVX2 static inline __m256i nibbles(const uint8_t *qs) {
    const __m256i both = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)qs));
    return _mm256_and_si256(_mm256_srlv_epi32(both, _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4)), _mm256_set1_epi8(0x0F));
}

/// The rounding of an activation block (ck_int16_quantize_block with `limit` 32512, the int8
/// quantizer's with 127) with AVX2: loads the block's 32 values at `v` into `x` and rounds
/// them into `q` as int32 (the values times the same float inverse, rounded to nearest even
/// as lrintf does); returns the scale, max |v| / `limit`.
CK_AVX2 static inline float round_block_avx2(const float *v, float limit, __m256 x[4], __m256i q[4]) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int i = 0; i < 4; i++) x[i] = _mm256_loadu_ps(v + 8 * i);
    const __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign, x[0]), _mm256_andnot_ps(sign, x[1])),
                                   _mm256_max_ps(_mm256_andnot_ps(sign, x[2]), _mm256_andnot_ps(sign, x[3])));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const float scale = _mm_cvtss_f32(m4) / limit;
    const __m256 inverse = _mm256_set1_ps(scale > 0 ? 1.0f / scale : 0.0f);
    for (int i = 0; i < 4; i++) q[i] = _mm256_cvtps_epi32(_mm256_mul_ps(x[i], inverse));
    return scale;
}

/// Two vectors of 8 int32 as 16 int16 in order (saturating, as vpackssdw; the permute
/// undoes its interleaving of 128-bit lanes).
CK_AVX2 static inline __m256i pack_words_in_order(__m256i a, __m256i b) {
    return _mm256_permute4x64_epi64(_mm256_packs_epi32(a, b), _MM_SHUFFLE(3, 1, 2, 0));
}

CK_AVX2 static inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/// The integer sums of values 0–15 (`q0`) and 16–31 (`q1`) of a block rounded by
/// round_block_avx2, and the float sums of the same values (`s0`, `s1`), for
/// ck_store_block_sums.
CK_AVX2 static inline void block_sums_avx2(const __m256 x[4], const __m256i q[4], float *s0, float *s1, int32_t *q0, int32_t *q1) {
    const __m256i sums = _mm256_hadd_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]));  // lanes 0,1,4,5: values 0–15
    const __m256i pairs = _mm256_hadd_epi32(sums, sums);                                         // lane 0 + 4: 0–15, 1 + 5: 16–31
    *q0 = _mm256_extract_epi32(pairs, 0) + _mm256_extract_epi32(pairs, 4);
    *q1 = _mm256_extract_epi32(pairs, 1) + _mm256_extract_epi32(pairs, 5);
    *s0 = hsum(_mm256_add_ps(x[0], x[1]));
    *s1 = hsum(_mm256_add_ps(x[2], x[3]));
}

/// Block b of an activation with AVX2: rounds its 32 values of x to integers of at most
/// `limit` (round_block_avx2), left in `q`, and stores its scale and sums into the fields
/// (CK_BLOCK_SUM_FIELDS) with ck_store_block_sums.
CK_AVX2 static inline void quantize_block_sums_avx2(const float *x, int64_t b, float limit, float *scale, float *sum16, int32_t *qsum16,
                                                    float *qsum32, float *sum32, __m256i q[4]) {
    __m256 v[4];
    const float block_scale = round_block_avx2(x + b * 32, limit, v, q);
    float s0, s1;
    int32_t q0, q1;
    block_sums_avx2(v, q, &s0, &s1, &q0, &q1);
    ck_store_block_sums(scale, sum16, qsum16, qsum32, sum32, b, block_scale, s0, s1, q0, q1);
}

/// The f16 at byte `offset` of 8 consecutive blocks `stride` bytes apart, widened to
/// floats: the halves gathered in two general registers, so that only one vector
/// insert runs on the shuffle units (not eight).
CK_AVX2 static inline __attribute__((always_inline)) __m256 gather_halves(const uint8_t *first, int stride, int offset) {
    const uint8_t *p = first + offset;
    const uint64_t low = (uint64_t)ck_load_u16(p) | (uint64_t)ck_load_u16(p + stride) << 16 | (uint64_t)ck_load_u16(p + 2 * stride) << 32 |
                         (uint64_t)ck_load_u16(p + 3 * stride) << 48;
    p += 4 * stride;
    const uint64_t high = (uint64_t)ck_load_u16(p) | (uint64_t)ck_load_u16(p + stride) << 16 | (uint64_t)ck_load_u16(p + 2 * stride) << 32 |
                          (uint64_t)ck_load_u16(p + 3 * stride) << 48;
    return _mm256_cvtph_ps(_mm_set_epi64x((long long)high, (long long)low));
}

/// The fifth bits of a Q5_0 or Q5_1 block (bit j of the 32 bits at `qh` for value j) as
/// 0x10 in byte j: the bits in every lane, each byte given the byte of its bit (vpshufb
/// within lanes) and tested against its own bit.
CK_AVX2 static inline __m256i fifth_bit_bytes(const uint8_t *qh) {
    const __m256i all = _mm256_set1_epi32((int)ck_load_u32(qh));
    const __m256i order = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i bit = _mm256_set1_epi64x(0x8040201008040201LL);
    const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(_mm256_shuffle_epi8(all, order), bit), bit);
    return _mm256_and_si256(set, _mm256_set1_epi8(0x10));
}

/// The 8 six-bit scales (`which` 0) or minimums (1) of a Q4_K/Q5_K super-block's 12 packed
/// scale bytes `s` as floats, all at once (ck_k_scale_min for j = 0…7): sub-blocks 0–3 keep
/// the low 6 bits of bytes 0–3 (scales) and 4–7 (minimums); sub-blocks 4–7 take a nibble of
/// bytes 8–11 and, as bits 4–5, the top 2 bits of bytes 0–3 (scales) or 4–7 (minimums).
CK_AVX2 static inline __m256 k_scales_or_minimums(const uint8_t *s, int which) {
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
/// these kernels much slower per weight than Q4_0's.)
///
/// Stores the 8 scales of super-block `block` in `scales` (with `activation_scale`, the
/// activation's 8 block scales) and returns `minimums` plus its minimum terms (with
/// `sums`, the activation's 8 block sums).
CK_AVX2 static inline __m256 k_super_block_scales(const uint8_t *block, const float *activation_scale, const float *sums,
                                                  float *scales, __m256 minimums) {
    const __m256 d = _mm256_set1_ps(f16(block)), dmin = _mm256_set1_ps(f16(block + 2));
    _mm256_store_ps(scales, _mm256_mul_ps(_mm256_mul_ps(d, k_scales_or_minimums(block + 4, 0)), _mm256_loadu_ps(activation_scale)));
    return _mm256_fmadd_ps(_mm256_mul_ps(dmin, k_scales_or_minimums(block + 4, 1)), _mm256_loadu_ps(sums), minimums);
}

/// The 32 unsigned values (0–15, Q5_K 0–31) of sub-block g of a Q4_K/Q5_K super-block, as
/// bytes: `packed` holds the 32 bytes of sub-blocks g & ~1 (low nibbles) and g | 1 (high),
/// `qh` the Q5_K super-block's 32 fifth-bit bytes.
CK_AVX2 static inline __m256i k_sub_block(int is_q5, __m256i packed, __m256i qh, int g) {
    const __m256i low = _mm256_set1_epi8(0x0F);
    __m256i w = g % 2 == 0 ? _mm256_and_si256(packed, low) : _mm256_and_si256(_mm256_srli_epi16(packed, 4), low);
    if (is_q5) w = _mm256_or_si256(w, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, g), _mm256_set1_epi8(0x01)), 4));
    return w;
}

/// The values of sub-blocks g and g + 1 of a Q4_K super-block as words, from `packed`, the
/// 32 bytes that hold both: the four nibbles of each word are values 2i and 2i + 1 of
/// sub-block g (bits 0–3, 8–11) and of g + 1 (bits 4–7, 12–15), taken apart by masks and
/// shifts of words, no shuffle. `words` receives sub-block g's even-indexed values (0, 2,
/// …, 30), its odd-indexed ones, then the same for g + 1: the order of an activation in
/// q_even_odd order.
CK_AVX2 static inline void q4_k_pair_words(__m256i packed, __m256i words[4]) {
    const __m256i nibble = _mm256_set1_epi16(0x0F);
    words[0] = _mm256_and_si256(packed, nibble);
    words[1] = _mm256_and_si256(_mm256_srli_epi16(packed, 8), nibble);
    words[2] = _mm256_and_si256(_mm256_srli_epi16(packed, 4), nibble);
    words[3] = _mm256_srli_epi16(packed, 12);
}

/// Q6_K in the integer-activation kernels, per half super-block (128 values, 8 groups of 16
/// with an int8 scale each): returns the 8 group scales d·sc_g·s_b (group g belongs to
/// activation block b0 + g/2; `activation_scale` points at block b0) and adds the groups'
/// −32 offset terms d·sc_g·s_b·Σq(g) to `offsets` (`qsum16`: the activation's integer sums
/// of 16 values from block b0 on), to be multiplied by −32.
CK_AVX2 static inline __m256 q6_k_group_scales(const uint8_t *block, int half, const float *activation_scale, const int32_t *qsum16,
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
CK_AVX2 static inline __m256 q6_k_sub_block_scales(__m256 group_scales, int t) {
    return _mm256_permutevar8x32_ps(group_scales, _mm256_add_epi32(_mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1), _mm256_set1_epi32(2 * t)));
}

/// The unsigned 6-bit values (0–63, the −32 offset left out) of the 4 sub-blocks of 32 of
/// half `half` of a Q6_K super-block, as bytes.
CK_AVX2 static inline void q6_k_sub_blocks(const uint8_t *block, int half, __m256i parts[4]) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(0x03);
    const __m256i ql0 = _mm256_loadu_si256((const __m256i *)(block + half * 64));
    const __m256i ql1 = _mm256_loadu_si256((const __m256i *)(block + half * 64 + 32));
    const __m256i qh = _mm256_loadu_si256((const __m256i *)(block + 128 + half * 32));
    parts[0] = _mm256_or_si256(_mm256_and_si256(ql0, m4), _mm256_slli_epi16(_mm256_and_si256(qh, m2), 4));
    parts[1] = _mm256_or_si256(_mm256_and_si256(ql1, m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m2), 4));
    parts[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m2), 4));
    parts[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m2), 4));
}

#endif
