// Matrix-vector products of block-quantized weights with an activation vector
// quantized to int8 per block of 32, llama.cpp's arrangement: the small integers of a
// weight block meet the activation bytes in one u8 × s8 product, one block per 256-bit
// register (Int8RowsTemplate.h): vpdpbusd with AVX-512 VNNI here, vpmaddubsw + vpmaddwd with
// AVX2 (Int8MatvecAVX2.c), portable C elsewhere. Rounding the activations to 8 bits
// changes a dot product by about 2e-3 of its size (NMSE about 1e-5), the price of being
// faster than the int16 kernels; see Documentation/Performance.md.

#include <math.h>
#include <stdlib.h>

#include "CPUKernels.h"
#include "Half.h"
#include "Kernels.h"

static size_t round_up(size_t n) { return (n + 63) & ~(size_t)63; }

size_t ck_int8_activation_bytes(int64_t k) {
    return round_up((size_t)k) + 3 * round_up((size_t)(k / 32) * 4) + 2 * round_up((size_t)(k / 16) * 4);
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include "VNNIHelpers.h"

/// The blocks of ck_int8_quantize with AVX-512: the same integers, the float sums added in
/// another order.
__attribute__((target("avx2,avx512f,avx512bw,avx512vl,avx512dq,fma"))) static void quantize_blocks_avx512(const float *x, ck_int8_activation *a) {
    for (int64_t b = 0; b < a->k / 32; b++) {
        __m512i i0, i1;
        ck_quantize_block_sums_avx512(x, b, 127.0f, CK_BLOCK_SUM_FIELDS(a), &i0, &i1);
        _mm_storeu_si128((__m128i *)(a->q + b * 32), _mm512_cvtepi32_epi8(i0));
        _mm_storeu_si128((__m128i *)(a->q + b * 32 + 16), _mm512_cvtepi32_epi8(i1));
    }
}
#endif

void ck_int8_quantize(ck_isa isa, const float *x, int64_t k, void *memory, ck_int8_activation *a) {
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
    if (ck_use_avx2(isa)) {
        ck_int8_quantize_blocks_avx2(x, a);
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

// MARK: AVX-512 VL + VNNI kernels (256-bit registers): Int8RowsTemplate.h with vpdpbusd

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))

/// Σ u8 × s8 over 32 bytes, as 8 int32 partial sums.
CK_VNNI static inline __m256i dot_u8_s8_vnni(__m256i u, __m256i s) { return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s); }

/// A Q5_0/Q5_1 block's fifth bits as 0x10 in byte j, from a mask register.
CK_VNNI static inline __m256i fifth_bits_vnni(const uint8_t *qh) {
    return _mm256_and_si256(_mm256_movm_epi8((__mmask32)ck_load_u32(qh)), _mm256_set1_epi8(0x10));
}

#define CK_INT8_TARGET CK_VNNI
#define CK_INT8_NAME(name) name##_vnni
#define int8_dot dot_u8_s8_vnni
#define int8_gather_f16 gather_f16
#define int8_fifth_bits fifth_bits_vnni
#include "Int8RowsTemplate.h"
#undef CK_INT8_TARGET
#undef CK_INT8_NAME
#undef int8_dot
#undef int8_gather_f16
#undef int8_fifth_bits

#endif

// MARK: Entry points (the CK_ACT_INT8 column of KernelTable.c)

/// The activation as the portable row (ck_integer_row_portable) reads it.
static inline ck_integer_values portable_values(const ck_int8_activation *a) {
    return (ck_integer_values){a->q, 0, a->scale, a->sum16, a->k};
}

CK_DEFINE_MATVEC(ck_matvec_int8_portable, ck_int8_activation, ck_integer_row_portable(type, row, portable_values(activation)))

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
/// Needs AVX-512 VNNI; reads CK_OPTION_PREFETCH.
CK_DEFINE_MATVEC(ck_matvec_int8_avx512, ck_int8_activation, row_vnni(type, row, activation, (options & CK_OPTION_PREFETCH) != 0))
#endif
