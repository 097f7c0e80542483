// The int16-activation matrix-vector products of Int16Matvec.c (ck_matvec_int16) for
// x86-64 processors with AVX2, FMA and F16C but without AVX-512 VNNI (AMD Zen 2 and Zen 3,
// Intel before Ice Lake): each block's weights are widened to int16 and multiplied with
// the activation's int16 values by vpmaddwd, which adds pairs of products in int32. The
// products are exact (|w| ≤ 128, |x| ≤ 32512: four products per lane stay far below
// 2^31), so the integer sums are those of the portable kernels; only the float sums of the
// scaled blocks are added in another order (and the 4- and 5-bit types' upper lanes, which
// hold 16 times their sums, are rounded to float at 2^-24 of that: nibbles_even_odd).
//
// Without AVX-512 these processors (AMD Zen 3 measured) are held back by their two
// shuffle units more than by arithmetic: the kernels take bytes apart with masks and
// shifts or widen them within 128-bit lanes, read broadcast operands from memory, and
// gather the blocks' f16 scales in general registers, each measured faster than the
// shuffles it replaced.

#include "CPUKernels.h"
#include "Kernels.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include "AVX2BlockHelpers.h"

// MARK: Activation

/// The blocks of ck_int16_quantize with AVX2: the same integers (the values times the same
/// float inverse, rounded to nearest even as lrintf does), the float sums added in
/// another order.
CK_AVX2 void ck_int16_quantize_blocks_avx2(const float *x, ck_int16_activation *a) {
    for (int64_t b = 0; b < a->k / 32; b++) {
        __m256i i[4];
        quantize_block_sums_avx2(x, b, 32512.0f, CK_BLOCK_SUM_FIELDS(a), i);
        const __m256i q0 = pack_words_in_order(i[0], i[1]), q1 = pack_words_in_order(i[2], i[3]);
        _mm256_storeu_si256((__m256i *)(a->q + b * 32), q0);
        _mm256_storeu_si256((__m256i *)(a->q + b * 32 + 16), q1);
        const __m256i byte_mask = _mm256_set1_epi16(0xFF);
        const __m256i lo = _mm256_packus_epi16(_mm256_and_si256(q0, byte_mask), _mm256_and_si256(q1, byte_mask));
        const __m256i hi = _mm256_packs_epi16(_mm256_srai_epi16(q0, 8), _mm256_srai_epi16(q1, 8));
        _mm256_storeu_si256((__m256i *)(a->lo + b * 32), _mm256_permute4x64_epi64(lo, _MM_SHUFFLE(3, 1, 2, 0)));
        _mm256_storeu_si256((__m256i *)(a->hi + b * 32), _mm256_permute4x64_epi64(hi, _MM_SHUFFLE(3, 1, 2, 0)));
    }
}

// MARK: Integer products

/// Σ w·x over a block of 32: `low` holds the weights of values 0–15 as int16, `high` those
/// of values 16–31; `x` the block's 32 activation values. Eight lanes of partial sums.
/// The K-quant and 4- and 5-bit kernels pass the words of the even-indexed values (0, 2,
/// …, 30) as `low`, the odd-indexed ones as `high` and the activation in q_even_odd order,
/// whose halves hold the same values; lanes 0–3 then sum values 0–15, lanes 4–7 values
/// 16–31.
CK_AVX2 static inline __m256i block_dot(__m256i low, __m256i high, const int16_t *x) {
    return _mm256_add_epi32(_mm256_madd_epi16(low, _mm256_loadu_si256((const __m256i *)x)),
                            _mm256_madd_epi16(high, _mm256_loadu_si256((const __m256i *)(x + 16))));
}

/// The 16 packed bytes of a Q4_0, Q4_1, Q5_0 or Q5_1 block (value j in the low nibble of
/// byte j, value j + 16 in the high one) as the unsigned words of its even-indexed values
/// (`even`) and odd-indexed ones (`odd`), for block_dot against the block's activation in
/// q_even_odd order, with no shuffle: the bytes are loaded into both 128-bit halves (a
/// load), and in each word the low nibbles of its two bytes are values 2i and 2i + 1, the
/// high nibbles values 2i + 16 and 2i + 17. The lower half keeps the low nibbles, the
/// upper half the high ones where they are, as 16 times the value: block_dot's lanes 4–7
/// then hold 16 times their sums, which row_blocks32 takes back once per row (a power of
/// two). On Zen 4 with `instruction-set=avx2` this was measured faster than widening the
/// bytes by vpshufb and subtracting the offsets per block, for Q4_0, Q4_1, Q5_0 and Q5_1
/// (shifting the upper half instead, by vpsrlvd, is an instruction more).
CK_AVX2 static inline void nibbles_even_odd(const uint8_t *qs, __m256i *even, __m256i *odd) {
    const __m256i both = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)qs));
    const __m256i nibble = _mm256_setr_epi16(0x0F, 0x0F, 0x0F, 0x0F, 0x0F, 0x0F, 0x0F, 0x0F, 0xF0, 0xF0, 0xF0, 0xF0, 0xF0, 0xF0, 0xF0, 0xF0);
    *even = _mm256_and_si256(both, nibble);
    *odd = _mm256_and_si256(_mm256_srli_epi16(both, 8), nibble);
}

/// Adds the fifth bits of a Q5_0 or Q5_1 block (the 32 bits at `qh`, bit j for value j) to
/// the words of nibbles_even_odd, as 16 (lower half) or 256 (upper half, whose nibbles are
/// 16 times the value): the bits are loaded into every lane (a load, no shuffle), one
/// in-lane vpshufb gives each word the byte of its value (both orders share it: values 2i
/// and 2i + 1 sit in the same byte), and each word tests its bit.
CK_AVX2 static inline void add_fifth_bits(const uint8_t *qh, __m256i *even, __m256i *odd) {
    const __m256i all = _mm256_castps_si256(_mm256_broadcast_ss((const float *)qh));
    const __m256i order = _mm256_setr_epi8(0, -1, 0, -1, 0, -1, 0, -1, 1, -1, 1, -1, 1, -1, 1, -1, 2, -1, 2, -1, 2, -1, 2, -1, 3, -1, 3, -1, 3,
                                           -1, 3, -1);
    const __m256i bytes = _mm256_shuffle_epi8(all, order);
    const __m256i even_bits = _mm256_setr_epi16(1, 4, 16, 64, 1, 4, 16, 64, 1, 4, 16, 64, 1, 4, 16, 64);
    const __m256i odd_bits = _mm256_setr_epi16(2, 8, 32, 128, 2, 8, 32, 128, 2, 8, 32, 128, 2, 8, 32, 128);
    const __m256i sixteen = _mm256_setr_epi16(16, 16, 16, 16, 16, 16, 16, 16, 256, 256, 256, 256, 256, 256, 256, 256);
    *even = _mm256_or_si256(*even, _mm256_and_si256(_mm256_cmpeq_epi16(_mm256_and_si256(bytes, even_bits), even_bits), sixteen));
    *odd = _mm256_or_si256(*odd, _mm256_and_si256(_mm256_cmpeq_epi16(_mm256_and_si256(bytes, odd_bits), odd_bits), sixteen));
}

/// Σ w·x of one block of the 32-value types: Q8_0's signed bytes against the activation's
/// q (values in order); the 4- and 5-bit types' unsigned values (without Q4_0's −8 and
/// Q5_0's −16 offsets, which row_blocks32 adds per 8 blocks) against q_even_odd.
CK_AVX2 static inline __attribute__((always_inline)) __m256i block_products(ck_type type, const uint8_t *block, const int16_t *x) {
    __m256i even, odd;
    switch (type) {
    case CK_Q8_0:
        return block_dot(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(block + 2))),
                         _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(block + 18))), x);
    case CK_Q4_0: nibbles_even_odd(block + 2, &even, &odd); break;
    case CK_Q4_1: nibbles_even_odd(block + 4, &even, &odd); break;
    case CK_Q5_0:
        nibbles_even_odd(block + 6, &even, &odd);
        add_fifth_bits(block + 2, &even, &odd);
        break;
    default:  // Q5_1
        nibbles_even_odd(block + 8, &even, &odd);
        add_fifth_bits(block + 4, &even, &odd);
        break;
    }
    return block_dot(even, odd, x);
}

// MARK: Rows

/// Σ_b d_b·s_b·(Σ q·x) (+ Σ_b m_b·Σx_b for Q4_1 and Q5_1, + offset·Σ_b d_b·s_b·Σx_b for
/// Q4_0 and Q5_0) over a row of a 32-value type, eight blocks at a time (their scales, and
/// minimums or offset terms, gathered once) into four accumulators; the blocks after the
/// last group of 8 one at a time.
CK_AVX2 static inline __attribute__((always_inline)) float row_blocks32(ck_type type, const uint8_t *row, const ck_int16_activation *a) {
    const ck_block32_kind kind = ck_block32(type, a->k);
    const int16_t *q = type == CK_Q8_0 ? a->q : a->q_even_odd;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps(), acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps();
    __m256 minimum_terms = _mm256_setzero_ps(), offset_terms = _mm256_setzero_ps();
    float minimums = 0, offsets = 0;
    float scales[8] __attribute__((aligned(32)));
    int64_t b = 0;
#define CK_BLOCK(acc, i)                                                                                                       \
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(block_products(type, first + (i) * kind.bytes, q + (b + (i)) * 32)),                  \
                          _mm256_broadcast_ss(scales + (i)), acc)
    for (; b + 8 <= kind.blocks; b += 8) {
        const uint8_t *first = row + b * kind.bytes;
        const __m256 d = gather_halves(first, kind.bytes, 0);
        _mm256_store_ps(scales, _mm256_mul_ps(d, _mm256_loadu_ps(a->scale + b)));
        if (kind.has_minimum) minimum_terms = _mm256_fmadd_ps(gather_halves(first, kind.bytes, 2), _mm256_loadu_ps(a->sum32 + b), minimum_terms);
        if (kind.offset != 0) offset_terms = _mm256_fmadd_ps(d, _mm256_loadu_ps(a->qsum32 + b), offset_terms);
        CK_BLOCK(acc0, 0);
        CK_BLOCK(acc1, 1);
        CK_BLOCK(acc2, 2);
        CK_BLOCK(acc3, 3);
        CK_BLOCK(acc0, 4);
        CK_BLOCK(acc1, 5);
        CK_BLOCK(acc2, 6);
        CK_BLOCK(acc3, 7);
    }
#undef CK_BLOCK
    for (; b < kind.blocks; b++) {
        const uint8_t *block = row + b * kind.bytes;
        const __m256 products = _mm256_cvtepi32_ps(block_products(type, block, q + b * 32));
        acc0 = _mm256_fmadd_ps(products, _mm256_set1_ps(f16(block) * a->scale[b]), acc0);
        if (kind.has_minimum) minimums += f16(block + 2) * a->sum32[b];
        if (kind.offset != 0) offsets += f16(block) * a->qsum32[b];
    }
    // The 4- and 5-bit types' lanes 4–7 hold 16 times their sums (nibbles_even_odd).
    const __m256 lanes = type == CK_Q8_0 ? _mm256_set1_ps(1.0f) : _mm256_setr_ps(1, 1, 1, 1, 0.0625f, 0.0625f, 0.0625f, 0.0625f);
    return hsum(_mm256_mul_ps(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)), lanes)) + hsum(minimum_terms) + minimums +
           kind.offset * (hsum(offset_terms) + offsets);
}

/// Σ w·x over a block of 32 unsigned byte values `v` (value j in byte j) against the
/// block's activation in q_even_odd order `x`: the bytes split into the words of the
/// even-indexed values by a mask and of the odd-indexed ones by a shift, for block_dot,
/// with no shuffle and no widening across lanes (measured faster than widen_in_lanes for
/// Q5_K and Q6_K on Zen 4 with `instruction-set=avx2`).
CK_AVX2 static inline __m256i bytes_dot(__m256i v, const int16_t *x) {
    return block_dot(_mm256_and_si256(v, _mm256_set1_epi16(0x00FF)), _mm256_srli_epi16(v, 8), x);
}

/// Q4_K and Q5_K: per super-block of 256, the 8 sub-block scales and minimum terms as one
/// vector each (k_super_block_scales). Q5_K's sub-blocks are built as bytes (k_sub_block:
/// the low or high nibbles of 32 packed bytes and the fifth bit, bit g of byte l for value
/// l of sub-block g) for bytes_dot; Q4_K's 32 packed bytes of two sub-blocks are split
/// into the four nibbles of each word, the even and odd values of both, for block_dot.
CK_AVX2 static float row_q45_k(int is_q5, const uint8_t *row, const ck_int16_activation *a) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps(), minimums = _mm256_setzero_ps();
    const int bytes = is_q5 ? 176 : 144, qs_offset = is_q5 ? 48 : 16;
    float scales[8] __attribute__((aligned(32)));
    for (int64_t s = 0; s < a->k / 256; s++) {
        const uint8_t *block = row + s * bytes;
        minimums = k_super_block_scales(block, a->scale + s * 8, a->sum32 + s * 8, scales, minimums);
        const __m256i qh = is_q5 ? _mm256_loadu_si256((const __m256i *)(block + 16)) : _mm256_setzero_si256();
        for (int pair = 0; pair < 4; pair++) {
            const __m256i packed = _mm256_loadu_si256((const __m256i *)(block + qs_offset + pair * 32));
            const int g = 2 * pair;
            const int16_t *x = a->q_even_odd + (s * 8 + g) * 32;
            __m256i p0, p1;
            if (is_q5) {
                p0 = bytes_dot(k_sub_block(1, packed, qh, g), x);
                p1 = bytes_dot(k_sub_block(1, packed, qh, g + 1), x + 32);
            } else {
                __m256i words[4];
                q4_k_pair_words(packed, words);
                p0 = block_dot(words[0], words[1], x);
                p1 = block_dot(words[2], words[3], x + 32);
            }
            acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p0), _mm256_broadcast_ss(scales + g), acc0);
            acc1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p1), _mm256_broadcast_ss(scales + g + 1), acc1);
        }
    }
    return hsum(_mm256_add_ps(acc0, acc1)) - hsum(minimums);
}

/// Q6_K: per half super-block, the 8 group scales (q6_k_group_scales, which also adds the
/// groups' −32 offset terms) and the 4 sub-blocks of 32 unsigned values, built as bytes
/// from 32 bytes of ql and the 32 of qh and multiplied by bytes_dot. Values 0–15 of
/// sub-block t belong to group 2t, values 16–31 to group 2t + 1, and bytes_dot keeps them
/// in lanes 0–3 and 4–7: one conversion and one multiply-add by the two groups' scales
/// (in those lanes) per sub-block.
CK_AVX2 static float row_q6_k(const uint8_t *row, const ck_int16_activation *a) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps(), offsets = _mm256_setzero_ps();
    const __m256i m4 = _mm256_set1_epi8(0x0F), m30 = _mm256_set1_epi8(0x30);
    const __m256i pick0 = _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1), pick1 = _mm256_setr_epi32(2, 2, 2, 2, 3, 3, 3, 3);
    const __m256i pick2 = _mm256_setr_epi32(4, 4, 4, 4, 5, 5, 5, 5), pick3 = _mm256_setr_epi32(6, 6, 6, 6, 7, 7, 7, 7);
    for (int64_t s = 0; s < a->k / 256; s++) {
        const uint8_t *block = row + s * 210;
        for (int half = 0; half < 2; half++) {
            const int64_t b0 = s * 8 + half * 4;  // the half's first activation block of 32
            const __m256 scales = q6_k_group_scales(block, half, a->scale + b0, a->qsum16 + 2 * b0, &offsets);
            // Value l of sub-block t: the low nibble of byte l of ql (t 0) or of ql + 32 (t 1),
            // the high nibble of the same bytes (t 2, 3), bits 4–5 from bits 2t, 2t + 1 of
            // qh[l]. The 16-bit shifts move bits between the bytes of a word only where the
            // byte masks clear them.
            const uint8_t *ql = block + half * 64, *qh = block + 128 + half * 32;
            const __m256i l0 = _mm256_loadu_si256((const __m256i *)ql), l1 = _mm256_loadu_si256((const __m256i *)(ql + 32));
            const __m256i h = _mm256_loadu_si256((const __m256i *)qh);
            const __m256i v0 = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_and_si256(_mm256_slli_epi16(h, 4), m30));
            const __m256i v1 = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_and_si256(_mm256_slli_epi16(h, 2), m30));
            const __m256i v2 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(h, m30));
            const __m256i v3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4), _mm256_and_si256(_mm256_srli_epi16(h, 2), m30));
            const int16_t *x = a->q_even_odd + b0 * 32;
            acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(bytes_dot(v0, x)), _mm256_permutevar8x32_ps(scales, pick0), acc0);
            acc1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(bytes_dot(v1, x + 32)), _mm256_permutevar8x32_ps(scales, pick1), acc1);
            acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(bytes_dot(v2, x + 64)), _mm256_permutevar8x32_ps(scales, pick2), acc0);
            acc1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(bytes_dot(v3, x + 96)), _mm256_permutevar8x32_ps(scales, pick3), acc1);
        }
    }
    return hsum(_mm256_add_ps(acc0, acc1)) - 32.0f * hsum(offsets);
}

CK_AVX2 static float row_avx2(ck_type type, const uint8_t *row, const ck_int16_activation *a) {
    switch (type) {
    case CK_Q8_0: return row_blocks32(CK_Q8_0, row, a);
    case CK_Q4_0: return row_blocks32(CK_Q4_0, row, a);
    case CK_Q4_1: return row_blocks32(CK_Q4_1, row, a);
    case CK_Q5_0: return row_blocks32(CK_Q5_0, row, a);
    case CK_Q5_1: return row_blocks32(CK_Q5_1, row, a);
    case CK_Q4_K: return row_q45_k(0, row, a);
    case CK_Q5_K: return row_q45_k(1, row, a);
    case CK_Q6_K: return row_q6_k(row, a);
    default: return 0;
    }
}

/// The CK_ACT_INT16 entry point of KernelTable.c for AVX2.
CK_AVX2 CK_DEFINE_MATVEC(ck_matvec_int16_avx2, ck_int16_activation, row_avx2(type, row, activation))

#endif
