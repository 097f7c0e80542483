// Matrix-vector products with the weight dequantized on the fly (decode: one token).
//
// Each row's dot product is accumulated in float. The portable path decodes one
// block at a time into a small buffer; the x86-64 paths decode straight into
// SIMD registers.

#include <stdlib.h>

#include "CPUKernels.h"
#include "Half.h"
#include "Kernels.h"

// MARK: Portable

static float dot_f32(const uint8_t *row, const float *x, int64_t k) {
    float sum = 0;
    for (int64_t i = 0; i < k; i++) {
        float w;
        memcpy(&w, row + 4 * i, 4);
        sum += w * x[i];
    }
    return sum;
}

static float dot_f16(const uint8_t *row, const float *x, int64_t k) {
    float sum = 0;
    for (int64_t i = 0; i < k; i++) sum += ck_f16_to_f32(ck_load_u16(row + 2 * i)) * x[i];
    return sum;
}

static float dot_bf16(const uint8_t *row, const float *x, int64_t k) {
    float sum = 0;
    for (int64_t i = 0; i < k; i++) sum += ck_bf16_to_f32(ck_load_u16(row + 2 * i)) * x[i];
    return sum;
}

static float dot_blocks(ck_type type, const uint8_t *row, const float *x, int64_t k) {
    const ck_block_decoder decode = ck_decoder(type);
    const int length = ck_block_length(type), bytes = ck_block_bytes(type);
    float values[256];
    float sum = 0;
    for (int64_t b = 0; b < k / length; b++) {
        decode(row + b * bytes, values);
        float block = 0;
        for (int i = 0; i < length; i++) block += values[i] * x[b * length + i];
        sum += block;
    }
    return sum;
}

typedef float (*ck_dot)(const uint8_t *row, const float *x, int64_t k);

// MARK: x86-64 with AVX2, FMA and F16C

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

CK_AVX2 static float dot_f32_avx2(const uint8_t *row, const float *x, int64_t k) {
    const float *w = (const float *)row;
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= k; i += 16) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i), _mm256_loadu_ps(x + i), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i + 8), _mm256_loadu_ps(x + i + 8), a1);
    }
    float sum = ck_hsum256(_mm256_add_ps(a0, a1));
    for (; i < k; i++) sum += w[i] * x[i];
    return sum;
}

CK_AVX2 static float dot_f16_avx2(const uint8_t *row, const float *x, int64_t k) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= k; i += 16) {
        a0 = _mm256_fmadd_ps(ck_f16x8_to_f32(row + 2 * i), _mm256_loadu_ps(x + i), a0);
        a1 = _mm256_fmadd_ps(ck_f16x8_to_f32(row + 2 * i + 16), _mm256_loadu_ps(x + i + 8), a1);
    }
    float sum = ck_hsum256(_mm256_add_ps(a0, a1));
    for (; i < k; i++) sum += ck_f16_to_f32(ck_load_u16(row + 2 * i)) * x[i];
    return sum;
}

CK_AVX2 static float dot_bf16_avx2(const uint8_t *row, const float *x, int64_t k) {
    __m256 a0 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= k; i += 8) {
        a0 = _mm256_fmadd_ps(ck_bf16x8_to_f32(row + 2 * i), _mm256_loadu_ps(x + i), a0);
    }
    float sum = ck_hsum256(a0);
    for (; i < k; i++) sum += ck_bf16_to_f32(ck_load_u16(row + 2 * i)) * x[i];
    return sum;
}

CK_AVX2 static inline __m256 bytes8_to_ps(__m128i eight_bytes_signed) {
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(eight_bytes_signed));
}

CK_AVX2 static float dot_q8_0_avx2(const uint8_t *row, const float *x, int64_t k) {
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < k / 32; b++) {
        const uint8_t *block = row + b * 34;
        const float *xb = x + b * 32;
        __m256 s = _mm256_mul_ps(bytes8_to_ps(_mm_loadl_epi64((const __m128i *)(block + 2))), _mm256_loadu_ps(xb));
        s = _mm256_fmadd_ps(bytes8_to_ps(_mm_loadl_epi64((const __m128i *)(block + 10))), _mm256_loadu_ps(xb + 8), s);
        s = _mm256_fmadd_ps(bytes8_to_ps(_mm_loadl_epi64((const __m128i *)(block + 18))), _mm256_loadu_ps(xb + 16), s);
        s = _mm256_fmadd_ps(bytes8_to_ps(_mm_loadl_epi64((const __m128i *)(block + 26))), _mm256_loadu_ps(xb + 24), s);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(ck_load_f16(block)), s, acc);
    }
    return ck_hsum256(acc);
}

CK_AVX2 static float dot_q4_0_avx2(const uint8_t *row, const float *x, int64_t k) {
    __m256 acc = _mm256_setzero_ps();
    const __m128i low_mask = _mm_set1_epi8(0x0F), eight = _mm_set1_epi8(8);
    for (int64_t b = 0; b < k / 32; b++) {
        const uint8_t *block = row + b * 18;
        const float *xb = x + b * 32;
        __m128i packed = _mm_loadu_si128((const __m128i *)(block + 2));
        __m128i lo = _mm_sub_epi8(_mm_and_si128(packed, low_mask), eight);                    // values 0..15
        __m128i hi = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(packed, 4), low_mask), eight);  // values 16..31
        __m256 s = _mm256_mul_ps(bytes8_to_ps(lo), _mm256_loadu_ps(xb));
        s = _mm256_fmadd_ps(bytes8_to_ps(_mm_unpackhi_epi64(lo, lo)), _mm256_loadu_ps(xb + 8), s);
        s = _mm256_fmadd_ps(bytes8_to_ps(hi), _mm256_loadu_ps(xb + 16), s);
        s = _mm256_fmadd_ps(bytes8_to_ps(_mm_unpackhi_epi64(hi, hi)), _mm256_loadu_ps(xb + 24), s);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(ck_load_f16(block)), s, acc);
    }
    return ck_hsum256(acc);
}

/// Software prefetch of the weight row CK_PREFETCH_DISTANCE bytes ahead, into all cache
/// levels (T0), for the AVX-512 float kernels where ck_float_weight_prefetch_is_faster
/// (ProcessorPolicy.c): on an Intel Xeon it made f16 and f32 rows stream faster from
/// memory, while the non-temporal hint (NTA) was slower than none; on AMD Zen 4 an NTA
/// prefetch made these kernels slower, so there they run without (see
/// ck_prefetch_weights in Kernels.h for the integer kernels).
/// (ck_prefetch_ahead in Kernels.h.)

/// Float dot products over 64 values per iteration with four accumulators, so that
/// two cores can stream a weight matrix at full memory bandwidth. Each kernel is written
/// once with and without the prefetch (`prefetch` is a constant in each caller).
CK_AVX512F static inline __attribute__((always_inline)) float f32_avx512(const uint8_t *row, const float *x, int64_t k, int prefetch) {
    const float *w = (const float *)row;
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 64 <= k; i += 64) {
        ck_prefetch_ahead(row + 4 * i, 4, prefetch);
        a0 = _mm512_fmadd_ps(_mm512_loadu_ps(w + i), _mm512_loadu_ps(x + i), a0);
        a1 = _mm512_fmadd_ps(_mm512_loadu_ps(w + i + 16), _mm512_loadu_ps(x + i + 16), a1);
        a2 = _mm512_fmadd_ps(_mm512_loadu_ps(w + i + 32), _mm512_loadu_ps(x + i + 32), a2);
        a3 = _mm512_fmadd_ps(_mm512_loadu_ps(w + i + 48), _mm512_loadu_ps(x + i + 48), a3);
    }
    for (; i + 16 <= k; i += 16) a0 = _mm512_fmadd_ps(_mm512_loadu_ps(w + i), _mm512_loadu_ps(x + i), a0);
    float sum = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
    for (; i < k; i++) sum += w[i] * x[i];
    return sum;
}

CK_AVX512F static inline __attribute__((always_inline)) float f16_avx512(const uint8_t *row, const float *x, int64_t k, int prefetch) {
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 64 <= k; i += 64) {
        ck_prefetch_ahead(row + 2 * i, 2, prefetch);
        a0 = _mm512_fmadd_ps(ck_f16x16_to_f32(row + 2 * i), _mm512_loadu_ps(x + i), a0);
        a1 = _mm512_fmadd_ps(ck_f16x16_to_f32(row + 2 * i + 32), _mm512_loadu_ps(x + i + 16), a1);
        a2 = _mm512_fmadd_ps(ck_f16x16_to_f32(row + 2 * i + 64), _mm512_loadu_ps(x + i + 32), a2);
        a3 = _mm512_fmadd_ps(ck_f16x16_to_f32(row + 2 * i + 96), _mm512_loadu_ps(x + i + 48), a3);
    }
    for (; i + 16 <= k; i += 16) a0 = _mm512_fmadd_ps(ck_f16x16_to_f32(row + 2 * i), _mm512_loadu_ps(x + i), a0);
    float sum = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
    for (; i < k; i++) sum += ck_f16_to_f32(ck_load_u16(row + 2 * i)) * x[i];
    return sum;
}

CK_AVX512F static inline __attribute__((always_inline)) float bf16_avx512(const uint8_t *row, const float *x, int64_t k, int prefetch) {
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= k; i += 32) {
        ck_prefetch_ahead(row + 2 * i, 1, prefetch);
        a0 = _mm512_fmadd_ps(ck_bf16x16_to_f32(row + 2 * i), _mm512_loadu_ps(x + i), a0);
        a1 = _mm512_fmadd_ps(ck_bf16x16_to_f32(row + 2 * i + 32), _mm512_loadu_ps(x + i + 16), a1);
    }
    float sum = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
    for (; i < k; i++) sum += ck_bf16_to_f32(ck_load_u16(row + 2 * i)) * x[i];
    return sum;
}

CK_AVX512F static float dot_f32_avx512(const uint8_t *row, const float *x, int64_t k) { return f32_avx512(row, x, k, 0); }
CK_AVX512F static float dot_f16_avx512(const uint8_t *row, const float *x, int64_t k) { return f16_avx512(row, x, k, 0); }
CK_AVX512F static float dot_bf16_avx512(const uint8_t *row, const float *x, int64_t k) { return bf16_avx512(row, x, k, 0); }
CK_AVX512F static float dot_f32_avx512_prefetch(const uint8_t *row, const float *x, int64_t k) { return f32_avx512(row, x, k, 1); }
CK_AVX512F static float dot_f16_avx512_prefetch(const uint8_t *row, const float *x, int64_t k) { return f16_avx512(row, x, k, 1); }
CK_AVX512F static float dot_bf16_avx512_prefetch(const uint8_t *row, const float *x, int64_t k) { return bf16_avx512(row, x, k, 1); }

#endif

// MARK: Entry points (the CK_ACT_F32 column of KernelTable.c)

static void matvec_rows(ck_dot dot, ck_type type, const void *weight, size_t row_bytes, int64_t k, const float *x,
                        int64_t x_count, float *y, int64_t y_stride, int64_t row_begin, int64_t row_end) {
    const uint8_t *w = (const uint8_t *)weight;
    for (int64_t r = row_begin; r < row_end; r++) {
        const uint8_t *row = w + (size_t)r * row_bytes;
        for (int64_t j = 0; j < x_count; j++) {
            y[j * y_stride + r] = dot ? dot(row, x + j * k, k) : dot_blocks(type, row, x + j * k, k);
        }
    }
}

/// Every type: the float types' own loops, the block types decoded block by block.
void ck_matvec_f32_portable(ck_type type, const void *weight, size_t row_bytes, int64_t k, const void *x, int64_t x_count,
                            float *y, int64_t y_stride, int64_t row_begin, int64_t row_end, int options) {
    (void)options;
    const ck_dot dot = type == CK_F32 ? dot_f32 : type == CK_F16 ? dot_f16 : type == CK_BF16 ? dot_bf16 : 0;
    matvec_rows(dot, type, weight, row_bytes, k, x, x_count, y, y_stride, row_begin, row_end);
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
/// F32, F16, BF16, Q8_0 and Q4_0.
void ck_matvec_f32_avx2(ck_type type, const void *weight, size_t row_bytes, int64_t k, const void *x, int64_t x_count,
                        float *y, int64_t y_stride, int64_t row_begin, int64_t row_end, int options) {
    (void)options;
    ck_dot dot = 0;
    switch (type) {
    case CK_F32: dot = dot_f32_avx2; break;
    case CK_F16: dot = dot_f16_avx2; break;
    case CK_BF16: dot = dot_bf16_avx2; break;
    case CK_Q8_0: dot = dot_q8_0_avx2; break;
    case CK_Q4_0: dot = dot_q4_0_avx2; break;
    default: break;
    }
    matvec_rows(dot, type, weight, row_bytes, k, x, x_count, y, y_stride, row_begin, row_end);
}

/// F32, F16 and BF16; reads CK_OPTION_PREFETCH.
void ck_matvec_f32_avx512(ck_type type, const void *weight, size_t row_bytes, int64_t k, const void *x, int64_t x_count,
                          float *y, int64_t y_stride, int64_t row_begin, int64_t row_end, int options) {
    const int prefetch = options & CK_OPTION_PREFETCH;
    ck_dot dot = 0;
    switch (type) {
    case CK_F32: dot = prefetch ? dot_f32_avx512_prefetch : dot_f32_avx512; break;
    case CK_F16: dot = prefetch ? dot_f16_avx512_prefetch : dot_f16_avx512; break;
    case CK_BF16: dot = prefetch ? dot_bf16_avx512_prefetch : dot_bf16_avx512; break;
    default: break;
    }
    matvec_rows(dot, type, weight, row_bytes, k, x, x_count, y, y_stride, row_begin, row_end);
}
#endif
