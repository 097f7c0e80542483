// Matrix-vector products of block-quantized weights with an activation vector
// quantized to int16 per block of 32 (scale = max|x| / 32512). Integer products of
// the weights' small integers with the int16 activations are exact; rounding the
// activations to 16 bits changes a dot product by about 1e-5 of its size, far below
// the weights' own quantization error, and keeps the backend within 1e-6 NMSE of the
// float reference (see Documentation/Performance.md).
//
// Each type has a portable C kernel and, on x86-64 processors with AVX-512 (F, BW, VL,
// VNNI), a vector kernel that splits each int16 activation into two bytes and
// multiplies them with the weights' bytes in vpdpbusd, exactly (or widens the weights to
// int16 for vpdpwssd); processors with AVX2 but not these take the int16 kernels of
// Int16MatvecAVX2.c.

#include <math.h>
#include <stdlib.h>

#include "CPUKernels.h"
#include "Half.h"
#include "Kernels.h"

// MARK: Activation

static size_t round_up(size_t n) { return (n + 63) & ~(size_t)63; }

size_t ck_int16_activation_bytes(int64_t k) {
    return 2 * round_up((size_t)k * 2) + 2 * round_up((size_t)k) + 3 * round_up((size_t)(k / 32) * 4) + 2 * round_up((size_t)(k / 16) * 4);
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include "VNNIHelpers.h"

/// The blocks of ck_int16_quantize with AVX-512: the same integers, the float sums added
/// in another order.
__attribute__((target("avx2,avx512f,avx512bw,avx512vl,avx512dq,fma"))) static void quantize_blocks_avx512(const float *x, ck_int16_activation *a) {
    for (int64_t b = 0; b < a->k / 32; b++) {
        __m512i i0, i1;
        ck_quantize_block_sums_avx512(x, b, 32512.0f, CK_BLOCK_SUM_FIELDS(a), &i0, &i1);
        _mm256_storeu_si256((__m256i *)(a->q + b * 32), _mm512_cvtepi32_epi16(i0));
        _mm256_storeu_si256((__m256i *)(a->q + b * 32 + 16), _mm512_cvtepi32_epi16(i1));
        _mm_storeu_si128((__m128i *)(a->lo + b * 32), _mm512_cvtepi32_epi8(i0));
        _mm_storeu_si128((__m128i *)(a->lo + b * 32 + 16), _mm512_cvtepi32_epi8(i1));
        _mm_storeu_si128((__m128i *)(a->hi + b * 32), _mm512_cvtepi32_epi8(_mm512_srai_epi32(i0, 8)));
        _mm_storeu_si128((__m128i *)(a->hi + b * 32 + 16), _mm512_cvtepi32_epi8(_mm512_srai_epi32(i1, 8)));
    }
}
#endif

/// The blocks of ck_int16_quantize in portable C.
static void quantize_blocks_portable(const float *x, ck_int16_activation *a) {
    for (int64_t b = 0; b < a->k / 32; b++) {
        const float *v = x + b * 32;
        const float scale = ck_int16_quantize_block(v, a->q + b * 32);
        int32_t q0 = 0, q1 = 0;
        float s0 = 0, s1 = 0;
        for (int i = 0; i < 32; i++) {
            const int16_t q = a->q[b * 32 + i];
            a->lo[b * 32 + i] = (uint8_t)(q & 0xFF);
            a->hi[b * 32 + i] = (int8_t)(q >> 8);
            if (i < 16) { q0 += q; s0 += v[i]; } else { q1 += q; s1 += v[i]; }
        }
        ck_store_block_sums(a->scale, a->sum16, a->qsum16, a->qsum32, a->sum32, b, scale, s0, s1, q0, q1);
    }
}

/// Fills q_even_odd from q: per block of 32, values 0, 2, …, 30, then 1, 3, …, 31.
static void store_even_odd(ck_int16_activation *a) {
    for (int64_t b = 0; b < a->k / 32; b++) {
        const int16_t *q = a->q + b * 32;
        int16_t *split = a->q_even_odd + b * 32;
        for (int i = 0; i < 16; i++) {
            split[i] = q[2 * i];
            split[16 + i] = q[2 * i + 1];
        }
    }
}

void ck_int16_quantize(ck_isa isa, const float *x, int64_t k, void *memory, ck_int16_activation *a) {
    char *base = memory;
    a->q = (int16_t *)base;
    base += round_up((size_t)k * 2);
    a->lo = (uint8_t *)base;
    base += round_up((size_t)k);
    a->hi = (int8_t *)base;
    base += round_up((size_t)k);
    a->q_even_odd = (int16_t *)base;
    base += round_up((size_t)k * 2);
    a->scale = (float *)base;
    base += round_up((size_t)(k / 32) * 4);
    a->sum16 = (float *)base;
    base += round_up((size_t)(k / 16) * 4);
    a->qsum16 = (int32_t *)base;
    base += round_up((size_t)(k / 16) * 4);
    a->qsum32 = (float *)base;
    base += round_up((size_t)(k / 32) * 4);
    a->sum32 = (float *)base;
    a->k = k;
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
    if (ck_use_avx512(isa)) quantize_blocks_avx512(x, a);
    else if (ck_use_avx2(isa)) ck_int16_quantize_blocks_avx2(x, a);
    else
#endif
        quantize_blocks_portable(x, a);
    store_even_odd(a);
}

// MARK: AVX-512 VL + VNNI kernels: exact int16 products from two 8-bit products

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))

/// Σ q·x over 32 values for small unsigned weights q (0..63): x = hi·256 + lo, so the
/// sum is 256·Σ q·hi + Σ lo·q, both exact vpdpbusd products (u8 × s8).
CK_VNNI static inline __m256i dot_unsigned(__m256i q, const ck_int16_activation *a, int64_t b) {
    const __m256i lo = _mm256_loadu_si256((const __m256i *)(a->lo + b * 32));
    const __m256i hi = _mm256_loadu_si256((const __m256i *)(a->hi + b * 32));
    const __m256i high = _mm256_dpbusd_epi32(_mm256_setzero_si256(), q, hi);
    return _mm256_dpbusd_epi32(_mm256_slli_epi32(high, 8), lo, q);
}

/// The same for signed weights w (Q8_0): |w| against hi with w's sign moved onto it.
CK_VNNI static inline __m256i dot_signed(__m256i w, const ck_int16_activation *a, int64_t b) {
    const __m256i lo = _mm256_loadu_si256((const __m256i *)(a->lo + b * 32));
    const __m256i hi = _mm256_loadu_si256((const __m256i *)(a->hi + b * 32));
    const __m256i high = _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_abs_epi8(w), _mm256_sign_epi8(hi, w));
    return _mm256_dpbusd_epi32(_mm256_slli_epi32(high, 8), lo, w);
}

/// `acc` + vpdpwssd(`w`, the 16 int16 at `x`), written as the instruction itself: the
/// compilers otherwise split vpdpwssd into vpmaddwd and vpaddd when they tune for no
/// particular processor, one more vector operation in a loop bound by them.
CK_VNNI static inline __m256i dpwssd_fused(__m256i acc, __m256i w, const int16_t *x) {
    __asm__("vpdpwssd %2, %1, %0" : "+v"(acc) : "v"(w), "m"(*(const __m256i *)x));
    return acc;
}

/// dpwssd_fused for 512-bit registers, with the activation's words already in one.
CK_VNNI static inline __m512i dpwssd512_fused(__m512i acc, __m512i w, __m512i x) {
    __asm__("vpdpwssd %2, %1, %0" : "+v"(acc) : "v"(w), "v"(x));
    return acc;
}

/// Σ w·x over 32 values with the weights widened to int16 and the activation's int16
/// values, vpmaddwd and one vpdpwssd: fewer instructions than two 8-bit products for the
/// types whose bytes widen in one step. `low` holds values 0–15, `high` values 16–31.
/// The fused vpdpwssd (dpwssd_fused) was measured faster for Q4_0 on an AMD EPYC of the
/// Zen 4 generation.
CK_VNNI static inline __m256i dot_words(__m256i low, __m256i high, const ck_int16_activation *a, int64_t b) {
    const __m256i x0 = _mm256_loadu_si256((const __m256i *)(a->q + b * 32));
    return dpwssd_fused(_mm256_madd_epi16(low, x0), high, a->q + b * 32 + 16);
}

/// The 32 nibbles of 16 bytes as int16: byte j widened, its low nibble (value j) and high
/// nibble (value j + 16).
CK_VNNI static inline __m256i dot_nibble_words(const uint8_t *qs, const ck_int16_activation *a, int64_t b) {
    const __m256i bytes = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)qs));
    return dot_words(_mm256_and_si256(bytes, _mm256_set1_epi16(0x0F)), _mm256_srli_epi16(bytes, 4), a, b);
}

CK_VNNI static inline __attribute__((always_inline)) __m256i block_products16(ck_type type, const uint8_t *block, const ck_int16_activation *a, int64_t b) {
    switch (type) {
    case CK_Q8_0:
        return dot_words(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(block + 2))),
                         _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(block + 18))), a, b);
    case CK_Q4_0: return dot_nibble_words(block + 2, a, b);
    case CK_Q4_1: return dot_nibble_words(block + 4, a, b);
    case CK_Q5_0: {
        const __m256i fifth = _mm256_and_si256(_mm256_movm_epi8((__mmask32)ck_load_u32(block + 2)), _mm256_set1_epi8(0x10));
        return dot_unsigned(_mm256_or_si256(nibbles(block + 6), fifth), a, b);
    }
    default: {  // Q5_1
        const __m256i fifth = _mm256_and_si256(_mm256_movm_epi8((__mmask32)ck_load_u32(block + 4)), _mm256_set1_epi8(0x10));
        return dot_unsigned(_mm256_or_si256(nibbles(block + 8), fifth), a, b);
    }
    }
}

/// The blocks of a row from `b` on, one at a time, for the row kernels below: their
/// products, scaled, added to `*acc`; returns their offset or minimum terms.
CK_VNNI static inline __attribute__((always_inline)) float remaining_blocks16(ck_type type, const uint8_t *row, const ck_int16_activation *a,
                                                                             int64_t b, __m256 *acc) {
    const ck_block32_kind kind = ck_block32(type, a->k);
    float extra = 0;
    for (; b < a->k / 32; b++) {
        const uint8_t *block = row + b * kind.bytes;
        const float d = f16(block);
        *acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(block_products16(type, block, a, b)), _mm256_set1_ps(d * a->scale[b]), *acc);
        if (kind.has_minimum) extra += f16(block + 2) * a->sum32[b];
        else extra += kind.offset * d * a->qsum32[b];
    }
    return extra;
}

/// Rows of the 32-value types, eight blocks at a time (see Int8Matvec.c's row_blocks32):
/// Σ_b d_b·s_b·(Σ q·x) + offset·Σ_b d_b·s_b·Σx_q + Σ_b m_b·Σx_b.
CK_VNNI static inline __attribute__((always_inline)) float row_blocks32_16(ck_type type, const uint8_t *row, const ck_int16_activation *a,
                                                                          int every_row) {
    const ck_block32_kind kind = ck_block32(type, a->k);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps(), acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps();
    __m256 terms = _mm256_setzero_ps();
    int64_t b = 0;
    float scales[8] __attribute__((aligned(32)));
    const int prefetch = ck_prefetches_rows(a->k, every_row);
    uintptr_t prefetched = (uintptr_t)row + CK_PREFETCH_DISTANCE;  // the previous row prefetched up to here
    for (; b + 8 <= kind.blocks; b += 8) {
        const uint8_t *first = row + b * kind.bytes;
        if (prefetch) ck_prefetch_weights(&prefetched, first + 8 * kind.bytes, every_row);
        const __m256 d = gather_f16(first, kind.bytes, 0);
        _mm256_store_ps(scales, _mm256_mul_ps(d, _mm256_loadu_ps(a->scale + b)));
        if (kind.has_minimum) terms = _mm256_fmadd_ps(gather_f16(first, kind.bytes, 2), _mm256_loadu_ps(a->sum32 + b), terms);
        else if (kind.offset != 0) terms = _mm256_fmadd_ps(d, _mm256_loadu_ps(a->qsum32 + b), terms);
        acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(block_products16(type, first, a, b)), _mm256_broadcast_ss(scales + 0), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(block_products16(type, first + kind.bytes, a, b + 1)), _mm256_broadcast_ss(scales + 1), acc1);
        acc2 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(block_products16(type, first + 2 * kind.bytes, a, b + 2)), _mm256_broadcast_ss(scales + 2), acc2);
        acc3 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(block_products16(type, first + 3 * kind.bytes, a, b + 3)), _mm256_broadcast_ss(scales + 3), acc3);
        acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(block_products16(type, first + 4 * kind.bytes, a, b + 4)), _mm256_broadcast_ss(scales + 4), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(block_products16(type, first + 5 * kind.bytes, a, b + 5)), _mm256_broadcast_ss(scales + 5), acc1);
        acc2 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(block_products16(type, first + 6 * kind.bytes, a, b + 6)), _mm256_broadcast_ss(scales + 6), acc2);
        acc3 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(block_products16(type, first + 7 * kind.bytes, a, b + 7)), _mm256_broadcast_ss(scales + 7), acc3);
    }
    const float extra = remaining_blocks16(type, row, a, b, &acc0);
    const __m256 total = _mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3));
    return hsum(total) + (kind.has_minimum ? 1.0f : kind.offset) * hsum(terms) + extra;
}

/// The weights of blocks b and b + 1 of the types that widen to int16 in one step, as
/// int16 in two 512-bit registers: `low` holds values 0–15 of block b then of block b + 1,
/// `high` values 16–31 of each.
CK_VNNI static inline __attribute__((always_inline)) void block_pair_words(ck_type type, const uint8_t *block, int bytes, __m512i *low,
                                                                          __m512i *high) {
    if (type == CK_Q8_0) {
        *low = _mm512_cvtepi8_epi16(_mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(block + 2))),
                                                            _mm_loadu_si128((const __m128i *)(block + bytes + 2)), 1));
        *high = _mm512_cvtepi8_epi16(_mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(block + 18))),
                                                             _mm_loadu_si128((const __m128i *)(block + bytes + 18)), 1));
    } else {  // Q4_0, Q4_1: byte j holds value j (low nibble) and j + 16 (high nibble)
        const int qs = type == CK_Q4_0 ? 2 : 4;
        const __m512i words = _mm512_cvtepu8_epi16(_mm256_inserti128_si256(
            _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(block + qs))), _mm_loadu_si128((const __m128i *)(block + bytes + qs)), 1));
        *low = _mm512_and_si512(words, _mm512_set1_epi16(0x0F));
        *high = _mm512_srli_epi16(words, 4);
    }
}

/// Σ w·x of blocks b and b + 1 (lanes 0–7 and 8–15 hold partial sums of each), two
/// 512-bit vpdpwssd against the activation's int16 values rearranged to match.
CK_VNNI static inline __attribute__((always_inline)) __m512i block_pair_products16(ck_type type, const uint8_t *block, int bytes,
                                                                                  const ck_int16_activation *a, int64_t b) {
    __m512i low, high;
    block_pair_words(type, block, bytes, &low, &high);
    const __m512i first = _mm512_loadu_si512((const void *)(a->q + b * 32));         // block b: values 0–15, 16–31
    const __m512i second = _mm512_loadu_si512((const void *)(a->q + b * 32 + 32));   // block b + 1
    const __m512i x_low = _mm512_shuffle_i64x2(first, second, _MM_SHUFFLE(1, 0, 1, 0));
    const __m512i x_high = _mm512_shuffle_i64x2(first, second, _MM_SHUFFLE(3, 2, 3, 2));
    return dpwssd512_fused(_mm512_madd_epi16(low, x_low), high, x_high);
}

/// row_blocks32_16 for Q8_0, Q4_0 and Q4_1 with two blocks per 512-bit register: the same
/// exact integer sums in about half the instructions per block: faster where the 512-bit
/// units are full width (Zen 5), slower on Zen 4 (ck_block_pairs_are_faster in
/// ProcessorPolicy.c; see Documentation/Performance.md). The blocks after the
/// last group of 8 take row_blocks32_16's 256-bit arithmetic.
CK_VNNI static inline __attribute__((always_inline)) float row_block_pairs16(ck_type type, const uint8_t *row, const ck_int16_activation *a,
                                                                            int every_row) {
    const ck_block32_kind kind = ck_block32(type, a->k);
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps(), acc2 = _mm512_setzero_ps(), acc3 = _mm512_setzero_ps();
    __m256 terms = _mm256_setzero_ps();
    int64_t b = 0;
    // Lane i of a pair's products belongs to its first block for i < 8: the scales of
    // blocks 2p and 2p + 1 spread to lanes 0–7 and 8–15.
    const __m512i pair0 = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m512i pair1 = _mm512_add_epi32(pair0, _mm512_set1_epi32(2));
    const __m512i pair2 = _mm512_add_epi32(pair0, _mm512_set1_epi32(4));
    const __m512i pair3 = _mm512_add_epi32(pair0, _mm512_set1_epi32(6));
    const int prefetch = ck_prefetches_rows(a->k, every_row);
    uintptr_t prefetched = (uintptr_t)row + CK_PREFETCH_DISTANCE;  // the previous row prefetched up to here
    for (; b + 8 <= kind.blocks; b += 8) {
        const uint8_t *first = row + b * kind.bytes;
        if (prefetch) ck_prefetch_weights(&prefetched, first + 8 * kind.bytes, every_row);
        const __m256 d = gather_f16(first, kind.bytes, 0);
        const __m512 scales = _mm512_castps256_ps512(_mm256_mul_ps(d, _mm256_loadu_ps(a->scale + b)));
        if (kind.has_minimum) terms = _mm256_fmadd_ps(gather_f16(first, kind.bytes, 2), _mm256_loadu_ps(a->sum32 + b), terms);
        else if (kind.offset != 0) terms = _mm256_fmadd_ps(d, _mm256_loadu_ps(a->qsum32 + b), terms);
        acc0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(block_pair_products16(type, first, kind.bytes, a, b)), _mm512_permutexvar_ps(pair0, scales), acc0);
        acc1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(block_pair_products16(type, first + 2 * kind.bytes, kind.bytes, a, b + 2)),
                               _mm512_permutexvar_ps(pair1, scales), acc1);
        acc2 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(block_pair_products16(type, first + 4 * kind.bytes, kind.bytes, a, b + 4)),
                               _mm512_permutexvar_ps(pair2, scales), acc2);
        acc3 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(block_pair_products16(type, first + 6 * kind.bytes, kind.bytes, a, b + 6)),
                               _mm512_permutexvar_ps(pair3, scales), acc3);
    }
    __m256 tail = _mm256_setzero_ps();
    const float extra = remaining_blocks16(type, row, a, b, &tail);
    const __m512 total = _mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3));
    return _mm512_reduce_add_ps(total) + hsum(tail) + (kind.has_minimum ? 1.0f : kind.offset) * hsum(terms) + extra;
}

/// dot_unsigned for two sub-blocks at once: `q` holds the 64 unsigned weights of blocks
/// b and b + 1 of the activation, whose hi and lo bytes lie next to each other; lanes 0–7
/// of the result hold partial sums of block b, lanes 8–15 of block b + 1.
CK_VNNI static inline __m512i dot_unsigned_pair(__m512i q, const ck_int16_activation *a, int64_t b) {
    const __m512i lo = _mm512_loadu_si512((const void *)(a->lo + b * 32));
    const __m512i hi = _mm512_loadu_si512((const void *)(a->hi + b * 32));
    const __m512i high = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q, hi);
    return _mm512_dpbusd_epi32(_mm512_slli_epi32(high, 8), lo, q);
}

/// Q4_K and Q5_K (see k_super_block_scales), two sub-blocks per 512-bit register as
/// row_block_pairs16 does for Q4_0. Q5_K always takes this kernel; Q4_K where two blocks
/// per register are faster (ck_block_pairs_are_faster; on Zen 5 this kernel was measured
/// faster than one sub-block per register), row_q4_k_words16 elsewhere (on Zen 4 faster).
CK_VNNI static float row_q45_k_16(int is_q5, const uint8_t *row, const ck_int16_activation *a, int every_row) {
    __m512 acc[2] = {_mm512_setzero_ps(), _mm512_setzero_ps()};
    __m256 minimums = _mm256_setzero_ps();
    const int bytes = is_q5 ? 176 : 144, qs_offset = is_q5 ? 48 : 16;
    float scales[8] __attribute__((aligned(32)));
    // The scales of sub-blocks 2p and 2p + 1 spread to lanes 0–7 and 8–15.
    const __m512i pair0 = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m512i pair_index[4] = {pair0, _mm512_add_epi32(pair0, _mm512_set1_epi32(2)), _mm512_add_epi32(pair0, _mm512_set1_epi32(4)),
                                   _mm512_add_epi32(pair0, _mm512_set1_epi32(6))};
    const int prefetch = ck_prefetches_rows(a->k, every_row);
    uintptr_t prefetched = (uintptr_t)row + CK_PREFETCH_DISTANCE;  // the previous row prefetched up to here
    for (int64_t s = 0; s < a->k / 256; s++) {
        const uint8_t *block = row + s * bytes;
        if (prefetch) ck_prefetch_weights(&prefetched, block + bytes, every_row);
        minimums = k_super_block_scales(block, a->scale + s * 8, a->sum32 + s * 8, scales, minimums);
        const __m512 sub_block_scales = _mm512_castps256_ps512(_mm256_load_ps(scales));
        const __m256i qh = is_q5 ? _mm256_loadu_si256((const __m256i *)(block + 16)) : _mm256_setzero_si256();
        for (int pair = 0; pair < 4; pair++) {
            const __m256i packed = _mm256_loadu_si256((const __m256i *)(block + qs_offset + pair * 32));
            const __m512i q = _mm512_inserti64x4(_mm512_castsi256_si512(k_sub_block(is_q5, packed, qh, 2 * pair)),
                                                 k_sub_block(is_q5, packed, qh, 2 * pair + 1), 1);
            const __m512i products = dot_unsigned_pair(q, a, s * 8 + 2 * pair);
            acc[pair % 2] =
                _mm512_fmadd_ps(_mm512_cvtepi32_ps(products), _mm512_permutexvar_ps(pair_index[pair], sub_block_scales), acc[pair % 2]);
        }
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(acc[0], acc[1])) - hsum(minimums);
}

/// Q4_K with the weights as words (q4_k_pair_words), as the AVX2 kernel takes them
/// (Int16MatvecAVX2.c's row_q45_k), against the activation in q_even_odd order; one
/// vpmaddwd and one vpdpwssd per sub-block. On Zen 4 it was measured faster than the
/// byte-split kernel (two sub-blocks per 512-bit vpdpbusd, row_q45_k_16), from L2 and in
/// TinyLlama Q4_K_M decode.
CK_VNNI static float row_q4_k_words16(const uint8_t *row, const ck_int16_activation *a, int every_row) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps(), minimums = _mm256_setzero_ps();
    float scales[8] __attribute__((aligned(32)));
    const int prefetch = ck_prefetches_rows(a->k, every_row);
    uintptr_t prefetched = (uintptr_t)row + CK_PREFETCH_DISTANCE;  // the previous row prefetched up to here
    for (int64_t s = 0; s < a->k / 256; s++) {
        const uint8_t *block = row + s * 144;
        if (prefetch) ck_prefetch_weights(&prefetched, block + 144, every_row);
        minimums = k_super_block_scales(block, a->scale + s * 8, a->sum32 + s * 8, scales, minimums);
        for (int pair = 0; pair < 4; pair++) {
            const __m256i packed = _mm256_loadu_si256((const __m256i *)(block + 16 + pair * 32));
            const int g = 2 * pair;
            const int16_t *x = a->q_even_odd + (s * 8 + g) * 32;
            __m256i words[4];
            q4_k_pair_words(packed, words);
            const __m256i p0 = dpwssd_fused(_mm256_madd_epi16(words[0], _mm256_loadu_si256((const __m256i *)x)), words[1], x + 16);
            const __m256i p1 = dpwssd_fused(_mm256_madd_epi16(words[2], _mm256_loadu_si256((const __m256i *)(x + 32))), words[3], x + 48);
            acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p0), _mm256_broadcast_ss(scales + g), acc0);
            acc1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p1), _mm256_broadcast_ss(scales + g + 1), acc1);
        }
    }
    return hsum(_mm256_add_ps(acc0, acc1)) - hsum(minimums);
}

/// Q6_K (see q6_k_group_scales), two sub-blocks of 32 per 512-bit register as
/// row_q45_k_16.
CK_VNNI static float row_q6_k_16(const uint8_t *row, const ck_int16_activation *a, int every_row) {
    __m512 acc[2] = {_mm512_setzero_ps(), _mm512_setzero_ps()};
    __m256 offsets = _mm256_setzero_ps();
    // Lanes 0–3 of sub-block t's products take group 2t's scale, lanes 4–7 group 2t + 1's;
    // sub-blocks t and t + 1 share a register, so groups 2t … 2t + 3 spread over 16 lanes.
    const __m512i groups01 = _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
    const __m512i groups45 = _mm512_add_epi32(groups01, _mm512_set1_epi32(4));
    const int prefetch = ck_prefetches_rows(a->k, every_row);
    uintptr_t prefetched = (uintptr_t)row + CK_PREFETCH_DISTANCE;  // the previous row prefetched up to here
    for (int64_t s = 0; s < a->k / 256; s++) {
        const uint8_t *block = row + s * 210;
        if (prefetch) ck_prefetch_weights(&prefetched, block + 210, every_row);
        for (int half = 0; half < 2; half++) {
            const int64_t b0 = s * 8 + half * 4;  // the half's first activation block of 32
            const __m512 group_scales =
                _mm512_castps256_ps512(q6_k_group_scales(block, half, a->scale + b0, a->qsum16 + 2 * b0, &offsets));
            __m256i parts[4];
            q6_k_sub_blocks(block, half, parts);
            for (int pair = 0; pair < 2; pair++) {
                const __m512i q = _mm512_inserti64x4(_mm512_castsi256_si512(parts[2 * pair]), parts[2 * pair + 1], 1);
                const __m512i products = dot_unsigned_pair(q, a, b0 + 2 * pair);
                const __m512 scales = _mm512_permutexvar_ps(pair == 0 ? groups01 : groups45, group_scales);
                acc[pair] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(products), scales, acc[pair]);
            }
        }
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(acc[0], acc[1])) - 32.0f * hsum(offsets);
}

/// `every_row`: prefetch every row into all cache levels (ck_quantized_weight_prefetch_is_faster),
/// else only long rows, non-temporally (see ck_prefetch_weights). `pairs`: two blocks per
/// 512-bit register for Q8_0, Q4_0, Q4_1 and Q4_K (ck_block_pairs_are_faster).
CK_VNNI static float row_avx512(ck_type type, const uint8_t *row, const ck_int16_activation *a, int every_row, int pairs) {
    switch (type) {
    case CK_Q8_0: return pairs ? row_block_pairs16(CK_Q8_0, row, a, every_row) : row_blocks32_16(CK_Q8_0, row, a, every_row);
    case CK_Q4_0: return pairs ? row_block_pairs16(CK_Q4_0, row, a, every_row) : row_blocks32_16(CK_Q4_0, row, a, every_row);
    case CK_Q4_1: return pairs ? row_block_pairs16(CK_Q4_1, row, a, every_row) : row_blocks32_16(CK_Q4_1, row, a, every_row);
    case CK_Q5_0: return row_blocks32_16(CK_Q5_0, row, a, every_row);
    case CK_Q5_1: return row_blocks32_16(CK_Q5_1, row, a, every_row);
    case CK_Q4_K: return pairs ? row_q45_k_16(0, row, a, every_row) : row_q4_k_words16(row, a, every_row);
    case CK_Q5_K: return row_q45_k_16(1, row, a, every_row);
    case CK_Q6_K: return row_q6_k_16(row, a, every_row);
    default: return 0;
    }
}

#endif

// MARK: Entry points (the CK_ACT_INT16 column of KernelTable.c)

/// The activation as the portable row (ck_integer_row_portable) reads it.
static inline ck_integer_values portable_values(const ck_int16_activation *a) {
    return (ck_integer_values){a->q, 1, a->scale, a->sum16, a->k};
}

CK_DEFINE_MATVEC(ck_matvec_int16_portable, ck_int16_activation, ck_integer_row_portable(type, row, portable_values(activation)))

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
/// Needs AVX-512 VNNI; reads CK_OPTION_PREFETCH and CK_OPTION_BLOCK_PAIRS.
CK_DEFINE_MATVEC(ck_matvec_int16_avx512, ck_int16_activation,
                 row_avx512(type, row, activation, (options & CK_OPTION_PREFETCH) != 0, (options & CK_OPTION_BLOCK_PAIRS) != 0))
#endif
