// Block decoders for every element type: the same arithmetic, in the same order,
// as the Swift reference (TensorCore's *Block types), so results are bit-identical.

#include "CPUKernels.h"
#include "Half.h"
#include "Kernels.h"

#pragma STDC FP_CONTRACT OFF

static void decode_q8_0(const uint8_t *b, float *y) {
    const float d = ck_load_f16(b);
    for (int i = 0; i < 32; i++) y[i] = (float)(int8_t)b[2 + i] * d;
}

static void decode_q4_0(const uint8_t *b, float *y) {
    const float d = ck_load_f16(b);
    for (int j = 0; j < 16; j++) {
        y[j] = d * (float)((b[2 + j] & 0x0F) - 8);
        y[j + 16] = d * (float)((b[2 + j] >> 4) - 8);
    }
}

static void decode_q4_1(const uint8_t *b, float *y) {
    const float d = ck_load_f16(b), m = ck_load_f16(b + 2);
    for (int j = 0; j < 16; j++) {
        y[j] = d * (float)(b[4 + j] & 0x0F) + m;
        y[j + 16] = d * (float)(b[4 + j] >> 4) + m;
    }
}

static void decode_q5_0(const uint8_t *b, float *y) {
    const float d = ck_load_f16(b);
    const uint32_t qh = ck_load_u32(b + 2);
    for (int j = 0; j < 16; j++) {
        const int lo = (b[6 + j] & 0x0F) | (int)((qh >> j) & 1) << 4;
        const int hi = (b[6 + j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
        y[j] = d * (float)(lo - 16);
        y[j + 16] = d * (float)(hi - 16);
    }
}

static void decode_q5_1(const uint8_t *b, float *y) {
    const float d = ck_load_f16(b), m = ck_load_f16(b + 2);
    const uint32_t qh = ck_load_u32(b + 4);
    for (int j = 0; j < 16; j++) {
        const int lo = (b[8 + j] & 0x0F) | (int)((qh >> j) & 1) << 4;
        const int hi = (b[8 + j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
        y[j] = d * (float)lo + m;
        y[j + 16] = d * (float)hi + m;
    }
}

static void decode_q2_K(const uint8_t *b, float *y) {
    const float d = ck_load_f16(b + 80), dmin = ck_load_f16(b + 82);
    for (int i = 0; i < 256; i++) {
        const int q = (b[16 + (i / 128) * 32 + i % 32] >> ((i % 128) / 32 * 2)) & 3;
        const uint8_t sc = b[i / 16];
        const float scale = d * (float)(sc & 0x0F), minimum = dmin * (float)(sc >> 4);
        y[i] = scale * (float)q - minimum;
    }
}

static void decode_q3_K(const uint8_t *b, float *y) {
    const float d = ck_load_f16(b + 108);
    for (int g = 0; g < 16; g++) {
        const int lo = (b[96 + g % 8] >> (4 * (g / 8))) & 0x0F;
        const int hi = (b[104 + g % 4] >> (2 * (g / 4))) & 0x03;
        const float scale = d * (float)((lo | hi << 4) - 32);
        for (int i = g * 16; i < (g + 1) * 16; i++) {
            const int low = (b[32 + (i / 128) * 32 + i % 32] >> ((i % 128) / 32 * 2)) & 3;
            const int high_set = (b[i % 32] >> (i / 32)) & 1;
            y[i] = scale * (float)(high_set ? low : low - 4);
        }
    }
}

/// A Q4_K (`is_q5` 0) or Q5_K super-block: eight sub-blocks of 32, value = d·sc·q − dmin·mn.
static inline void decode_q45_K(int is_q5, const uint8_t *b, float *y) {
    const float d = ck_load_f16(b), dmin = ck_load_f16(b + 2);
    for (int g = 0; g < 8; g++) {
        int sc, mn, q[32];
        ck_k_scale_min(g, b + 4, &sc, &mn);
        ck_unpack_k_sub_block(is_q5, b, g, q);
        const float scale = d * (float)sc, minimum = dmin * (float)mn;
        for (int l = 0; l < 32; l++) y[g * 32 + l] = scale * (float)q[l] - minimum;
    }
}

static void decode_q4_K(const uint8_t *b, float *y) { decode_q45_K(0, b, y); }
static void decode_q5_K(const uint8_t *b, float *y) { decode_q45_K(1, b, y); }

static void decode_q6_K(const uint8_t *b, float *y) {
    const float d = ck_load_f16(b + 208);
    for (int i = 0; i < 256; i++) {
        const int half = i / 128, w = i % 128;
        const int lo = (b[half * 64 + w % 64] >> (4 * (w / 64))) & 0x0F;
        const int hi = (b[128 + half * 32 + w % 32] >> (2 * (w / 32))) & 0x03;
        const float scale = d * (float)(int8_t)b[192 + i / 16];
        y[i] = scale * (float)((lo | hi << 4) - 32);
    }
}

static void decode_q8_K(const uint8_t *b, float *y) {
    const float d = ck_f32_from_bits(ck_load_u32(b));
    for (int i = 0; i < 256; i++) y[i] = d * (float)(int8_t)b[4 + i];
}

ck_block_decoder ck_decoder(ck_type type) {
    switch (type) {
    case CK_Q8_0: return decode_q8_0;
    case CK_Q4_0: return decode_q4_0;
    case CK_Q4_1: return decode_q4_1;
    case CK_Q5_0: return decode_q5_0;
    case CK_Q5_1: return decode_q5_1;
    case CK_Q2_K: return decode_q2_K;
    case CK_Q3_K: return decode_q3_K;
    case CK_Q4_K: return decode_q4_K;
    case CK_Q5_K: return decode_q5_K;
    case CK_Q6_K: return decode_q6_K;
    case CK_Q8_K: return decode_q8_K;
    default: return 0;
    }
}

void ck_dequantize_row(ck_type type, const void *src, float *dst, int64_t count) {
    const uint8_t *s = (const uint8_t *)src;
    switch (type) {
    case CK_F32:
        memcpy(dst, src, (size_t)count * sizeof(float));
        return;
    case CK_F16:
        for (int64_t i = 0; i < count; i++) dst[i] = ck_f16_to_f32(ck_load_u16(s + 2 * i));
        return;
    case CK_BF16:
        for (int64_t i = 0; i < count; i++) dst[i] = ck_bf16_to_f32(ck_load_u16(s + 2 * i));
        return;
    default: {
        const ck_block_decoder decode = ck_decoder(type);
        const int length = ck_block_length(type), bytes = ck_block_bytes(type);
        for (int64_t b = 0; b < count / length; b++) decode(s + b * bytes, dst + b * length);
    }
    }
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

// f16 and bf16 rows with F16C / AVX2: the same values as the portable conversions (the
// hardware conversion is exact; only a signalling NaN's payload would come out quiet).
__attribute__((target("avx2,f16c"))) static void f16_row_avx2(const uint8_t *s, float *dst, int64_t count) {
    int64_t i = 0;
    for (; i + 8 <= count; i += 8) _mm256_storeu_ps(dst + i, ck_f16x8_to_f32(s + 2 * i));
    for (; i < count; i++) dst[i] = ck_f16_to_f32(ck_load_u16(s + 2 * i));
}

__attribute__((target("avx2"))) static void bf16_row_avx2(const uint8_t *s, float *dst, int64_t count) {
    int64_t i = 0;
    for (; i + 8 <= count; i += 8) _mm256_storeu_ps(dst + i, ck_bf16x8_to_f32(s + 2 * i));
    for (; i < count; i++) dst[i] = ck_bf16_to_f32(ck_load_u16(s + 2 * i));
}
// Q8_0 and Q4_0 rows with AVX2: the same products as the portable decoders (one float
// multiplication per value).
__attribute__((target("avx2,f16c"))) static void q8_0_row_avx2(const uint8_t *s, float *dst, int64_t count) {
    for (int64_t b = 0; b < count / 32; b++) {
        const uint8_t *block = s + b * 34;
        const __m256 d = _mm256_set1_ps(ck_load_f16(block));
        for (int j = 0; j < 32; j += 8) {
            const __m256i q = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(block + 2 + j)));
            _mm256_storeu_ps(dst + b * 32 + j, _mm256_mul_ps(_mm256_cvtepi32_ps(q), d));
        }
    }
}

__attribute__((target("avx2,f16c"))) static void q4_0_row_avx2(const uint8_t *s, float *dst, int64_t count) {
    const __m128i low = _mm_set1_epi8(0x0F), eight = _mm_set1_epi8(8);
    for (int64_t b = 0; b < count / 32; b++) {
        const uint8_t *block = s + b * 18;
        const __m256 d = _mm256_set1_ps(ck_load_f16(block));
        const __m128i packed = _mm_loadu_si128((const __m128i *)(block + 2));
        const __m128i lo = _mm_sub_epi8(_mm_and_si128(packed, low), eight);
        const __m128i hi = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(packed, 4), low), eight);
        float *y = dst + b * 32;
        _mm256_storeu_ps(y, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo)), d));
        _mm256_storeu_ps(y + 8, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8))), d));
        _mm256_storeu_ps(y + 16, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi)), d));
        _mm256_storeu_ps(y + 24, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8))), d));
    }
}
#endif

// MARK: Entry points (the dequantizer column of KernelTable.c)

/// Every type.
void ck_dequantize_rows_portable(ck_type type, const void *weight, size_t row_bytes, int64_t k, float *dst, int64_t row_begin,
                                 int64_t row_end) {
    for (int64_t r = row_begin; r < row_end; r++) {
        ck_dequantize_row(type, (const uint8_t *)weight + (size_t)r * row_bytes, dst + (r - row_begin) * k, k);
    }
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
/// F16, BF16, Q8_0 and Q4_0.
void ck_dequantize_rows_avx2(ck_type type, const void *weight, size_t row_bytes, int64_t k, float *dst, int64_t row_begin,
                             int64_t row_end) {
    void (*row_avx2)(const uint8_t *, float *, int64_t) = type == CK_F16 ? f16_row_avx2 : type == CK_BF16 ? bf16_row_avx2
                                                        : type == CK_Q8_0 ? q8_0_row_avx2 : q4_0_row_avx2;
    for (int64_t r = row_begin; r < row_end; r++) {
        row_avx2((const uint8_t *)weight + (size_t)r * row_bytes, dst + (r - row_begin) * k, k);
    }
}
#endif
