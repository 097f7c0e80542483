// Matrix-vector products of block-quantized weights with an activation vector
// quantized to int8 per block of 32, llama.cpp's arrangement: the small integers of
// a weight block meet the activation bytes in vpdpbusd (u8 × s8 → s32), one block
// per 256-bit register. Rounding the activations to 8 bits changes a dot product by
// about 2e-3 of its size (NMSE about 1e-5), the price of twice the speed of the
// int16 kernels; see Documentation/Performance.md.

#include <math.h>
#include <stdlib.h>

#include "CPUKernels.h"
#include "Half.h"
#include "Kernels.h"

static size_t round_up(size_t n) { return (n + 63) & ~(size_t)63; }

size_t ck_q8_activation_bytes(int64_t k) {
    return round_up((size_t)k) + 3 * round_up((size_t)(k / 32) * 4) + 2 * round_up((size_t)(k / 16) * 4);
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include "VNNIHelpers.h"

/// The blocks of ck_q8_quantize with AVX-512: the same integers, the float sums added in
/// another order.
__attribute__((target("avx2,avx512f,avx512bw,avx512vl,avx512dq,fma"))) static void quantize_blocks_avx512(const float *x, ck_q8_activation *a) {
    for (int64_t b = 0; b < a->k / 32; b++) {
        __m512 x0, x1;
        __m512i i0, i1;
        const float scale = ck_quantize_block_avx512(x + b * 32, 127.0f, &x0, &x1, &i0, &i1);
        _mm_storeu_si128((__m128i *)(a->q + b * 32), _mm512_cvtepi32_epi8(i0));
        _mm_storeu_si128((__m128i *)(a->q + b * 32 + 16), _mm512_cvtepi32_epi8(i1));
        const int32_t q0 = _mm512_reduce_add_epi32(i0), q1 = _mm512_reduce_add_epi32(i1);
        const float s0 = _mm512_reduce_add_ps(x0), s1 = _mm512_reduce_add_ps(x1);
        ck_store_block_sums(a->scale, a->sum16, a->qsum16, a->qsum32, a->sum32, b, scale, s0, s1, q0, q1);
    }
}
#endif

void ck_q8_quantize(ck_isa isa, const float *x, int64_t k, void *memory, ck_q8_activation *a) {
    char *base = memory;
    a->q = (int8_t *)base;
    base += round_up((size_t)k);
    a->scale = (float *)base;
    base += round_up((size_t)(k / 32) * 4);
    a->qsum16 = (int32_t *)base;
    base += round_up((size_t)(k / 16) * 4);
    a->sum16 = (float *)base;
    base += round_up((size_t)(k / 16) * 4);
    a->qsum32 = (float *)base;
    base += round_up((size_t)(k / 32) * 4);
    a->sum32 = (float *)base;
    a->k = k;
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
    if (ck_use_avx512(isa)) {
        quantize_blocks_avx512(x, a);
        return;
    }
#endif
    for (int64_t b = 0; b < k / 32; b++) {
        const float *v = x + b * 32;
        float maximum = 0;
        for (int i = 0; i < 32; i++) maximum = fmaxf(maximum, fabsf(v[i]));
        const float scale = maximum / 127.0f;
        const float inverse = scale > 0 ? 1.0f / scale : 0.0f;
        int32_t q0 = 0, q1 = 0;
        float s0 = 0, s1 = 0;
        for (int i = 0; i < 32; i++) {
            const int8_t q = (int8_t)lrintf(v[i] * inverse);
            a->q[b * 32 + i] = q;
            if (i < 16) { q0 += q; s0 += v[i]; } else { q1 += q; s1 += v[i]; }
        }
        ck_store_block_sums(a->scale, a->sum16, a->qsum16, a->qsum32, a->sum32, b, scale, s0, s1, q0, q1);
    }
}

// MARK: Portable kernels: decode a block to integers, multiply with the int8 values.

static int32_t dot_range(const int32_t *q, const int8_t *x, int n) {
    int32_t sum = 0;
    for (int i = 0; i < n; i++) sum += q[i] * x[i];
    return sum;
}

static float row_portable(ck_type type, const uint8_t *row, const ck_q8_activation *a) {
    int32_t q[32];
    float sum = 0;
    const int64_t blocks = a->k / 32;
    switch (type) {
    case CK_Q8_0: case CK_Q4_0: case CK_Q5_0: case CK_Q4_1: case CK_Q5_1: {
        const int bytes = ck_block_bytes(type);
        for (int64_t b = 0; b < blocks; b++) {
            const uint8_t *block = row + b * bytes;
            float minimum = 0;
            ck_unpack_block32(type, block, q);
            if (ck_block32_has_minimum(type)) minimum = ck_load_f16(block + 2) * (a->sum16[2 * b] + a->sum16[2 * b + 1]);
            sum += ck_load_f16(block) * a->scale[b] * (float)dot_range(q, a->q + b * 32, 32) + minimum;
        }
        return sum;
    }
    case CK_Q4_K: case CK_Q5_K: {
        const int bytes = type == CK_Q4_K ? 144 : 176;
        for (int64_t s = 0; s < a->k / 256; s++) {
            const uint8_t *block = row + s * bytes;
            const float d = ck_load_f16(block), dmin = ck_load_f16(block + 2);
            for (int g = 0; g < 8; g++) {
                int sc, mn;
                ck_k_scale_min(g, block + 4, &sc, &mn);
                ck_unpack_k_sub_block(type == CK_Q5_K, block, g, q);
                const int64_t b = s * 8 + g;
                sum += d * (float)sc * a->scale[b] * (float)dot_range(q, a->q + b * 32, 32)
                     - dmin * (float)mn * (a->sum16[2 * b] + a->sum16[2 * b + 1]);
            }
        }
        return sum;
    }
    case CK_Q6_K: {
        for (int64_t s = 0; s < a->k / 256; s++) {
            const uint8_t *block = row + s * 210;
            const float d = ck_load_f16(block + 208);
            for (int g = 0; g < 8; g++) {
                const int64_t b = s * 8 + g;
                ck_unpack_q6_k_sub_block(block, g, q);
                sum += d * a->scale[b] * ((float)(int8_t)block[192 + 2 * g] * (float)dot_range(q, a->q + b * 32, 16)
                                        + (float)(int8_t)block[193 + 2 * g] * (float)dot_range(q + 16, a->q + b * 32 + 16, 16));
            }
        }
        return sum;
    }
    default:
        return 0;
    }
}

// MARK: AVX-512 VL + VNNI kernels (256-bit registers)

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))

CK_VNNI static inline __m256i load_x(const int8_t *x) { return _mm256_loadu_si256((const __m256i *)x); }

/// Σ u8 × s8 over 32 bytes, as 8 int32 partial sums.
CK_VNNI static inline __m256i dot_u8_s8(__m256i u, __m256i s) { return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s); }

/// The integer dot product of one block of a 32-value type with its activation block.
CK_VNNI static inline __attribute__((always_inline)) __m256i block_products(ck_type type, const uint8_t *block, const int8_t *xq) {
    const __m256i x = load_x(xq);
    switch (type) {
    case CK_Q8_0: {
        const __m256i w = _mm256_loadu_si256((const __m256i *)(block + 2));
        return dot_u8_s8(_mm256_abs_epi8(w), _mm256_sign_epi8(x, w));
    }
    case CK_Q4_0: return dot_u8_s8(nibbles(block + 2), x);
    case CK_Q4_1: return dot_u8_s8(nibbles(block + 4), x);
    case CK_Q5_0: {
        const __m256i fifth = _mm256_and_si256(_mm256_movm_epi8((__mmask32)ck_load_u32(block + 2)), _mm256_set1_epi8(0x10));
        return dot_u8_s8(_mm256_or_si256(nibbles(block + 6), fifth), x);
    }
    default: {  // Q5_1
        const __m256i fifth = _mm256_and_si256(_mm256_movm_epi8((__mmask32)ck_load_u32(block + 4)), _mm256_set1_epi8(0x10));
        return dot_u8_s8(_mm256_or_si256(nibbles(block + 8), fifth), x);
    }
    }
}

/// Rows of the 32-value types, eight blocks at a time: the eight block scales are
/// converted and multiplied with the activation scales in one vector, and the offset
/// and minimum terms of the eight blocks are one more multiply-add.
///
/// Σ_b d_b·s_b·(Σ q·x) + offset·Σ_b d_b·s_b·Σx_q (Q4_0: −8, Q5_0: −16) + Σ_b m_b·Σx_b (Q4_1, Q5_1).
CK_VNNI static inline __attribute__((always_inline)) float row_blocks32(ck_type type, const uint8_t *row, const ck_q8_activation *a,
                                                                       int prefetch) {
    const int bytes = ck_block_bytes(type);
    const int has_minimum = ck_block32_has_minimum(type);
    const float offset = ck_block32_offset(type);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps(), acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps();
    __m256 terms = _mm256_setzero_ps();
    const int64_t blocks = a->k / 32;
    int64_t b = 0;
    float scales[8] __attribute__((aligned(32)));
    uintptr_t prefetched = (uintptr_t)row + CK_PREFETCH_DISTANCE;  // the previous row prefetched up to here
    for (; b + 8 <= blocks; b += 8) {
        const uint8_t *first = row + b * bytes;
        if (prefetch) ck_prefetch_weights(&prefetched, first + 8 * bytes, 1);
        const __m256 d = gather_f16(first, bytes, 0);
        _mm256_store_ps(scales, _mm256_mul_ps(d, _mm256_loadu_ps(a->scale + b)));
        if (has_minimum) terms = _mm256_fmadd_ps(gather_f16(first, bytes, 2), _mm256_loadu_ps(a->sum32 + b), terms);
        else if (offset != 0) terms = _mm256_fmadd_ps(d, _mm256_loadu_ps(a->qsum32 + b), terms);
        acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(block_products(type, first, a->q + b * 32)), _mm256_broadcast_ss(scales + 0), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(block_products(type, first + bytes, a->q + b * 32 + 32)), _mm256_broadcast_ss(scales + 1), acc1);
        acc2 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(block_products(type, first + 2 * bytes, a->q + b * 32 + 64)), _mm256_broadcast_ss(scales + 2), acc2);
        acc3 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(block_products(type, first + 3 * bytes, a->q + b * 32 + 96)), _mm256_broadcast_ss(scales + 3), acc3);
        acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(block_products(type, first + 4 * bytes, a->q + b * 32 + 128)), _mm256_broadcast_ss(scales + 4), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(block_products(type, first + 5 * bytes, a->q + b * 32 + 160)), _mm256_broadcast_ss(scales + 5), acc1);
        acc2 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(block_products(type, first + 6 * bytes, a->q + b * 32 + 192)), _mm256_broadcast_ss(scales + 6), acc2);
        acc3 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(block_products(type, first + 7 * bytes, a->q + b * 32 + 224)), _mm256_broadcast_ss(scales + 7), acc3);
    }
    float extra = 0;
    for (; b < blocks; b++) {
        const uint8_t *block = row + b * bytes;
        const float d = f16(block);
        acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(block_products(type, block, a->q + b * 32)), _mm256_set1_ps(d * a->scale[b]), acc0);
        if (has_minimum) extra += f16(block + 2) * a->sum32[b];
        else extra += offset * d * a->qsum32[b];
    }
    const __m256 total = _mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3));
    return hsum(total) + (has_minimum ? 1.0f : offset) * hsum(terms) + extra;
}

/// Q4_K and Q5_K (see k_super_block_scales).
CK_VNNI static float row_q45_k(int is_q5, const uint8_t *row, const ck_q8_activation *a, int prefetch) {
    __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
    __m256 minimums = _mm256_setzero_ps();
    const int bytes = is_q5 ? 176 : 144, qs_offset = is_q5 ? 48 : 16;
    float scales[8] __attribute__((aligned(32)));
    uintptr_t prefetched = (uintptr_t)row + CK_PREFETCH_DISTANCE;  // the previous row prefetched up to here
    for (int64_t s = 0; s < a->k / 256; s++) {
        const uint8_t *block = row + s * bytes;
        if (prefetch) ck_prefetch_weights(&prefetched, block + bytes, 1);
        minimums = k_super_block_scales(block, a->scale + s * 8, a->sum32 + s * 8, scales, minimums);
        const __m256i qh = is_q5 ? _mm256_loadu_si256((const __m256i *)(block + 16)) : _mm256_setzero_si256();
        for (int pair = 0; pair < 4; pair++) {
            const __m256i packed = _mm256_loadu_si256((const __m256i *)(block + qs_offset + pair * 32));
            for (int half = 0; half < 2; half++) {
                const int g = 2 * pair + half;
                const __m256i products = dot_u8_s8(k_sub_block(is_q5, packed, qh, g), load_x(a->q + (s * 8 + g) * 32));
                acc[half] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(products), _mm256_broadcast_ss(scales + g), acc[half]);
            }
        }
    }
    return hsum(_mm256_add_ps(acc[0], acc[1])) - hsum(minimums);
}

/// Q6_K (see q6_k_group_scales).
CK_VNNI static float row_q6_k(const uint8_t *row, const ck_q8_activation *a, int prefetch) {
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    __m256 offsets = _mm256_setzero_ps();
    uintptr_t prefetched = (uintptr_t)row + CK_PREFETCH_DISTANCE;  // the previous row prefetched up to here
    for (int64_t s = 0; s < a->k / 256; s++) {
        const uint8_t *block = row + s * 210;
        if (prefetch) ck_prefetch_weights(&prefetched, block + 210, 1);
        for (int half = 0; half < 2; half++) {
            const int64_t b0 = s * 8 + half * 4;  // the half's first activation block of 32
            const __m256 group_scales = q6_k_group_scales(block, half, a->scale + b0, a->qsum16 + 2 * b0, &offsets);
            __m256i parts[4];
            q6_k_sub_blocks(block, half, parts);
            for (int t = 0; t < 4; t++) {
                const __m256i products = dot_u8_s8(parts[t], load_x(a->q + (b0 + t) * 32));
                acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(products), q6_k_sub_block_scales(group_scales, t), acc[t]);
            }
        }
    }
    return hsum(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]))) - 32.0f * hsum(offsets);
}

/// `prefetch`: prefetch every row into all cache levels (ck_quantized_weight_prefetch_is_faster).
/// Unlike the int16 kernels, these never prefetch long rows non-temporally: with half the
/// activation bytes that gained nothing on Zen 4 (rows of 11008, see Kernels.h).
CK_VNNI static float row_vnni(ck_type type, const uint8_t *row, const ck_q8_activation *a, int prefetch) {
    switch (type) {
    case CK_Q4_K: return row_q45_k(0, row, a, prefetch);
    case CK_Q5_K: return row_q45_k(1, row, a, prefetch);
    case CK_Q6_K: return row_q6_k(row, a, prefetch);
    case CK_Q8_0: return row_blocks32(CK_Q8_0, row, a, prefetch);
    case CK_Q4_0: return row_blocks32(CK_Q4_0, row, a, prefetch);
    case CK_Q4_1: return row_blocks32(CK_Q4_1, row, a, prefetch);
    case CK_Q5_0: return row_blocks32(CK_Q5_0, row, a, prefetch);
    default: return row_blocks32(CK_Q5_1, row, a, prefetch);
    }
}

#endif

void ck_matvec_q8(ck_isa isa, ck_type type, const void *weight, size_t row_bytes, const ck_q8_activation *x,
                  int64_t x_count, float *y, int64_t y_stride, int64_t row_begin, int64_t row_end, int prefetch) {
    const uint8_t *w = weight;
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
    if (ck_use_avx512_vnni(isa)) {
        for (int64_t r = row_begin; r < row_end; r++) {
            for (int64_t j = 0; j < x_count; j++) y[j * y_stride + r] = row_vnni(type, w + (size_t)r * row_bytes, x + j, prefetch);
        }
        return;
    }
#endif
    for (int64_t r = row_begin; r < row_end; r++) {
        for (int64_t j = 0; j < x_count; j++) y[j * y_stride + r] = row_portable(type, w + (size_t)r * row_bytes, x + j);
    }
}
