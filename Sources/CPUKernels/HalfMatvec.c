// Matrix-vector products of f16 and bf16 weights with the activation vector rounded to
// f16, as llama.cpp computes f16 weights (it converts the activations to f16 for its f16
// dot products; for bf16 weights it rounds them to bf16, which is coarser).
//
// Why: with f32 activations a dot product loads two bytes of activation for every byte
// of weight, with f16 activations one. On the 2-core AVX-512 (AMD) machine of
// Documentation/Performance.md f16 rows streamed faster with f16 activations than with
// f32 ones (the activation loads seem to hold back how far ahead the weight stream runs),
// and F16 and BF16 decode were faster; f32 weights (one activation byte per weight byte)
// gained nothing from it and keep f32 activations. Where it is used is
// ck_half_activations_are_faster (ProcessorPolicy.c).
//
// Precision: the activations are first scaled by a power of two (exact) so that the
// largest magnitude lies in [2^14, 2^15), inside f16's range, then rounded to nearest
// even; the dot product is multiplied back by the inverse power of two (exact). Each
// value moves by at most 2^-11 of itself (values below 2^-29 of the largest lose more,
// as f16 subnormals), the rounding f16 weights already have; `activations=float` in the
// BLAS backend keeps f32 activations for exact products. Infinities and NaNs stay
// infinities and NaNs (no scaling is applied then), so non-finite inputs still give
// non-finite outputs.

#include <math.h>
#include <stdlib.h>

#include "CPUKernels.h"
#include "Half.h"
#include "Kernels.h"

size_t ck_half_activation_bytes(int64_t k) { return ((size_t)k * 2 + 63) & ~(size_t)63; }

/// The power of two that brings `largest` into [2^14, 2^15): 2^(15 - e) where
/// largest = m · 2^e with 0.5 ≤ m < 1. 1 for 0 and for a non-finite `largest` (an
/// infinity or NaN among the activations, which stays one).
static float scale_for(float largest) {
    if (largest == 0 || !isfinite(largest)) return 1;
    int exponent;
    frexpf(largest, &exponent);
    if (exponent < -100) exponent = -100;  // keeps 2^(15 - e) finite for tiny inputs
    return ldexpf(1, 15 - exponent);
}

/// The largest magnitude of x; NaN if x has a NaN.
static float largest_magnitude(const float *x, int64_t k) {
    float largest = 0;
    for (int64_t i = 0; i < k; i++) {
        if (isnan(x[i])) return NAN;
        largest = fabsf(x[i]) > largest ? fabsf(x[i]) : largest;
    }
    return largest;
}

/// A weight value of a 16-bit float type: bf16 if `bf16`, f16 otherwise.
static inline float weight_value(const uint8_t *p, int bf16) {
    return bf16 ? ck_bf16_to_f32(ck_load_u16(p)) : ck_load_f16(p);
}

/// The dot product of an f16 (or, with `bf16`, bf16) row with an f16 activation. Each
/// kernel below is written once for both weight types; `bf16` is a constant in each
/// caller, so the compiler makes two loops without the test.
static inline float dot_portable(const uint8_t *row, const uint16_t *x, int64_t k, int bf16) {
    float sum = 0;
    for (int64_t i = 0; i < k; i++) sum += weight_value(row + 2 * i, bf16) * ck_f16_to_f32(x[i]);
    return sum;
}

static float dot_half_portable(const uint8_t *row, const uint16_t *x, int64_t k) { return dot_portable(row, x, k, 0); }
static float dot_bf16_half_portable(const uint8_t *row, const uint16_t *x, int64_t k) { return dot_portable(row, x, k, 1); }

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define CK_INLINE static inline __attribute__((always_inline))

/// 8 weight values at `p` (bf16 or f16) widened to floats.
CK_AVX2 CK_INLINE __m256 load_weight8(const uint8_t *p, int bf16) {
    return bf16 ? ck_bf16x8_to_f32(p) : ck_f16x8_to_f32(p);
}

CK_AVX2 CK_INLINE float dot_avx2(const uint8_t *row, const uint16_t *x, int64_t k, int bf16) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= k; i += 16) {
        a0 = _mm256_fmadd_ps(load_weight8(row + 2 * i, bf16), ck_f16x8_to_f32(x + i), a0);
        a1 = _mm256_fmadd_ps(load_weight8(row + 2 * i + 16, bf16), ck_f16x8_to_f32(x + i + 8), a1);
    }
    return ck_hsum256(_mm256_add_ps(a0, a1)) + dot_portable(row + 2 * i, x + i, k - i, bf16);
}

CK_AVX2 static float dot_half_avx2(const uint8_t *row, const uint16_t *x, int64_t k) { return dot_avx2(row, x, k, 0); }
CK_AVX2 static float dot_bf16_half_avx2(const uint8_t *row, const uint16_t *x, int64_t k) { return dot_avx2(row, x, k, 1); }

/// 16 weight values at `p` (bf16 or f16) widened to floats.
CK_AVX512F CK_INLINE __m512 load_weight16(const uint8_t *p, int bf16) {
    return bf16 ? ck_bf16x16_to_f32(p) : ck_f16x16_to_f32(p);
}

/// 64 values per iteration with four accumulators, like the f32-activation kernels, and
/// their every-row prefetch where `prefetch` (a constant in each caller).
CK_AVX512F CK_INLINE float dot_avx512(const uint8_t *row, const uint16_t *x, int64_t k, int bf16, int prefetch) {
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 64 <= k; i += 64) {
        ck_prefetch_ahead(row + 2 * i, 2, prefetch);
        a0 = _mm512_fmadd_ps(load_weight16(row + 2 * i, bf16), ck_f16x16_to_f32(x + i), a0);
        a1 = _mm512_fmadd_ps(load_weight16(row + 2 * i + 32, bf16), ck_f16x16_to_f32(x + i + 16), a1);
        a2 = _mm512_fmadd_ps(load_weight16(row + 2 * i + 64, bf16), ck_f16x16_to_f32(x + i + 32), a2);
        a3 = _mm512_fmadd_ps(load_weight16(row + 2 * i + 96, bf16), ck_f16x16_to_f32(x + i + 48), a3);
    }
    for (; i + 16 <= k; i += 16) a0 = _mm512_fmadd_ps(load_weight16(row + 2 * i, bf16), ck_f16x16_to_f32(x + i), a0);
    const float sum = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
    return sum + dot_portable(row + 2 * i, x + i, k - i, bf16);
}

CK_AVX512F static float dot_half_avx512(const uint8_t *row, const uint16_t *x, int64_t k) { return dot_avx512(row, x, k, 0, 0); }
CK_AVX512F static float dot_bf16_half_avx512(const uint8_t *row, const uint16_t *x, int64_t k) { return dot_avx512(row, x, k, 1, 0); }
CK_AVX512F static float dot_half_avx512_prefetch(const uint8_t *row, const uint16_t *x, int64_t k) { return dot_avx512(row, x, k, 0, 1); }
CK_AVX512F static float dot_bf16_half_avx512_prefetch(const uint8_t *row, const uint16_t *x, int64_t k) {
    return dot_avx512(row, x, k, 1, 1);
}

/// largest_magnitude with AVX2.
CK_AVX2 static float largest_magnitude_avx2(const float *x, int64_t k) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 largest = _mm256_setzero_ps(), nan = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= k; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i);
        largest = _mm256_max_ps(largest, _mm256_andnot_ps(sign, v));
        nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    }
    float lanes[8];
    _mm256_storeu_ps(lanes, largest);
    float result = 0;
    for (int j = 0; j < 8; j++) result = lanes[j] > result ? lanes[j] : result;
    const float rest = largest_magnitude(x + i, k - i);
    if (_mm256_movemask_ps(nan) || isnan(rest)) return NAN;
    return rest > result ? rest : result;
}

/// x · scale rounded to f16 (F16C rounds to nearest even, like ck_f16_from_f32).
CK_AVX2 static void round_to_half_avx2(const float *x, int64_t k, float scale, uint16_t *out) {
    const __m256 s = _mm256_set1_ps(scale);
    int64_t i = 0;
    for (; i + 8 <= k; i += 8) {
        _mm_storeu_si128((__m128i *)(out + i), _mm256_cvtps_ph(_mm256_mul_ps(_mm256_loadu_ps(x + i), s), _MM_FROUND_TO_NEAREST_INT));
    }
    for (; i < k; i++) out[i] = ck_f16_from_f32(x[i] * scale);
}
#endif

void ck_half_convert(ck_isa isa, const float *x, int64_t k, void *memory, ck_half_activation *activation) {
    uint16_t *values = memory;
    activation->values = values;
    activation->k = k;
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
    if (ck_use_avx2(isa)) {
        const float scale = scale_for(largest_magnitude_avx2(x, k));
        round_to_half_avx2(x, k, scale, values);
        activation->unscale = 1 / scale;
        return;
    }
#endif
    const float scale = scale_for(largest_magnitude(x, k));
    for (int64_t i = 0; i < k; i++) values[i] = ck_f16_from_f32(x[i] * scale);
    activation->unscale = 1 / scale;
}

// MARK: Entry points (the CK_ACT_F16 column of KernelTable.c): F16 and BF16

CK_MATVEC_ENTRY(ck_matvec_f16_portable) {
    (void)k; (void)options;
    if (type == CK_BF16) CK_MATVEC_ROWS(ck_half_activation, activation->unscale * dot_bf16_half_portable(row, activation->values, activation->k))
    else CK_MATVEC_ROWS(ck_half_activation, activation->unscale * dot_half_portable(row, activation->values, activation->k))
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
CK_MATVEC_ENTRY(ck_matvec_f16_avx2) {
    (void)k; (void)options;
    if (type == CK_BF16) CK_MATVEC_ROWS(ck_half_activation, activation->unscale * dot_bf16_half_avx2(row, activation->values, activation->k))
    else CK_MATVEC_ROWS(ck_half_activation, activation->unscale * dot_half_avx2(row, activation->values, activation->k))
}

/// Reads CK_OPTION_PREFETCH.
CK_MATVEC_ENTRY(ck_matvec_f16_avx512) {
    (void)k;
    const int bf16 = type == CK_BF16;
    float (*dot)(const uint8_t *, const uint16_t *, int64_t) =
        (options & CK_OPTION_PREFETCH) ? (bf16 ? dot_bf16_half_avx512_prefetch : dot_half_avx512_prefetch)
                                       : (bf16 ? dot_bf16_half_avx512 : dot_half_avx512);
    CK_MATVEC_ROWS(ck_half_activation, activation->unscale * dot(row, activation->values, activation->k))
}
#endif
