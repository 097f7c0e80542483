// Matrix-vector products of block-quantized weights with an activation vector
// quantized to int16 per block of 32 (scale = max|x| / 32767). Integer products of
// the weights' small integers with the int16 activations are exact; rounding the
// activations to 16 bits changes a dot product by about 1e-5 of its size, far below
// the weights' own quantization error, and keeps the backend within 1e-6 NMSE of the
// float reference (see Documentation/Performance.md).
//
// Each type has a portable C kernel and, on x86-64 processors with AVX-512 (F, BW, VL,
// VNNI), a vector kernel that unpacks a block into 32 int16 lanes and multiplies with
// vpdpwssd.

#include <math.h>
#include <stdlib.h>

#include "CPUKernels.h"
#include "Half.h"
#include "Kernels.h"

// MARK: Activation

static size_t round_up(size_t n) { return (n + 63) & ~(size_t)63; }

size_t ck_q16_activation_bytes(int64_t k) {
    return round_up((size_t)k * 2) + round_up((size_t)(k / 32) * 4) + round_up((size_t)(k / 16) * 4);
}

void ck_q16_quantize(const float *x, int64_t k, void *memory, ck_q16_activation *a) {
    char *base = memory;
    a->q = (int16_t *)base;
    a->scale = (float *)(base + round_up((size_t)k * 2));
    a->sum16 = (float *)(base + round_up((size_t)k * 2) + round_up((size_t)(k / 32) * 4));
    a->k = k;
    for (int64_t b = 0; b < k / 32; b++) {
        const float *v = x + b * 32;
        float maximum = 0;
        for (int i = 0; i < 32; i++) maximum = fmaxf(maximum, fabsf(v[i]));
        const float scale = maximum / 32767.0f;
        const float inverse = scale > 0 ? 1.0f / scale : 0.0f;
        for (int i = 0; i < 32; i++) a->q[b * 32 + i] = (int16_t)lrintf(v[i] * inverse);
        a->scale[b] = scale;
        float s0 = 0, s1 = 0;
        for (int i = 0; i < 16; i++) { s0 += v[i]; s1 += v[16 + i]; }
        a->sum16[2 * b] = s0;
        a->sum16[2 * b + 1] = s1;
    }
}

int ck_has_q16_kernel(ck_type type) {
    switch (type) {
    case CK_Q8_0: case CK_Q4_0: case CK_Q4_1: case CK_Q5_0: case CK_Q5_1:
    case CK_Q4_K: case CK_Q5_K: case CK_Q6_K: return 1;
    default: return 0;
    }
}

// MARK: Unpacking blocks to 32 signed integers (shared by the portable kernels)

static void unpack_q8_0(const uint8_t *b, int32_t *q) { for (int i = 0; i < 32; i++) q[i] = (int8_t)b[2 + i]; }

static void unpack_nibbles(const uint8_t *qs, int32_t *q, int offset) {
    for (int j = 0; j < 16; j++) { q[j] = (qs[j] & 0x0F) - offset; q[j + 16] = (qs[j] >> 4) - offset; }
}

static void unpack_5bit(const uint8_t *qh_bytes, const uint8_t *qs, int32_t *q, int offset) {
    const uint32_t qh = ck_load_u32(qh_bytes);
    for (int j = 0; j < 16; j++) {
        q[j] = ((qs[j] & 0x0F) | (int)((qh >> j) & 1) << 4) - offset;
        q[j + 16] = ((qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4) - offset;
    }
}

static inline int64_t dot32(const int32_t *q, const int16_t *x) {
    int64_t sum = 0;
    for (int i = 0; i < 32; i++) sum += (int64_t)q[i] * x[i];
    return sum;
}

static inline void k_scale_min(int j, const uint8_t *s, int *scale, int *minimum) {
    if (j < 4) { *scale = s[j] & 0x3F; *minimum = s[j + 4] & 0x3F; }
    else { *scale = (s[j + 4] & 0x0F) | ((s[j - 4] >> 2) & 0x30); *minimum = (s[j + 4] >> 4) | ((s[j] >> 2) & 0x30); }
}

// MARK: Portable kernels

static float row_portable(ck_type type, const uint8_t *row, const ck_q16_activation *a) {
    int32_t q[32];
    float sum = 0;
    switch (type) {
    case CK_Q8_0: case CK_Q4_0: case CK_Q5_0: {
        const int bytes = type == CK_Q8_0 ? 34 : type == CK_Q4_0 ? 18 : 22;
        for (int64_t b = 0; b < a->k / 32; b++) {
            const uint8_t *block = row + b * bytes;
            if (type == CK_Q8_0) unpack_q8_0(block, q);
            else if (type == CK_Q4_0) unpack_nibbles(block + 2, q, 8);
            else unpack_5bit(block + 2, block + 6, q, 16);
            sum += ck_load_f16(block) * a->scale[b] * (float)dot32(q, a->q + b * 32);
        }
        return sum;
    }
    case CK_Q4_1: case CK_Q5_1: {
        const int bytes = type == CK_Q4_1 ? 20 : 24;
        for (int64_t b = 0; b < a->k / 32; b++) {
            const uint8_t *block = row + b * bytes;
            if (type == CK_Q4_1) unpack_nibbles(block + 4, q, 0); else unpack_5bit(block + 4, block + 8, q, 0);
            sum += ck_load_f16(block) * a->scale[b] * (float)dot32(q, a->q + b * 32)
                 + ck_load_f16(block + 2) * (a->sum16[2 * b] + a->sum16[2 * b + 1]);
        }
        return sum;
    }
    case CK_Q4_K: case CK_Q5_K: {
        const int bytes = type == CK_Q4_K ? 144 : 176;
        const int qs_offset = type == CK_Q4_K ? 16 : 48;
        for (int64_t s = 0; s < a->k / 256; s++) {
            const uint8_t *block = row + s * bytes;
            const float d = ck_load_f16(block), dmin = ck_load_f16(block + 2);
            for (int g = 0; g < 8; g++) {
                int sc, mn;
                k_scale_min(g, block + 4, &sc, &mn);
                const uint8_t *qs = block + qs_offset + (g / 2) * 32;
                for (int l = 0; l < 32; l++) {
                    int v = (qs[l] >> (4 * (g % 2))) & 0x0F;
                    if (type == CK_Q5_K) v |= ((block[16 + l] >> g) & 1) << 4;
                    q[l] = v;
                }
                const int64_t b = s * 8 + g;
                sum += d * (float)sc * a->scale[b] * (float)dot32(q, a->q + b * 32)
                     - dmin * (float)mn * (a->sum16[2 * b] + a->sum16[2 * b + 1]);
            }
        }
        return sum;
    }
    case CK_Q6_K: {
        for (int64_t s = 0; s < a->k / 256; s++) {
            const uint8_t *block = row + s * 210;
            const float d = ck_load_f16(block + 208);
            for (int g = 0; g < 8; g++) {  // 8 activation blocks of 32, each two scale groups of 16
                const int64_t b = s * 8 + g;
                for (int l = 0; l < 32; l++) {
                    const int i = g * 32 + l, half = i / 128, w = i % 128;
                    const int lo = (block[half * 64 + w % 64] >> (4 * (w / 64))) & 0x0F;
                    const int hi = (block[128 + half * 32 + w % 32] >> (2 * (w / 32))) & 0x03;
                    q[l] = (lo | hi << 4) - 32;
                }
                int64_t s0 = 0, s1 = 0;
                for (int l = 0; l < 16; l++) { s0 += (int64_t)q[l] * a->q[b * 32 + l]; s1 += (int64_t)q[16 + l] * a->q[b * 32 + 16 + l]; }
                sum += d * a->scale[b] * ((float)(int8_t)block[192 + 2 * g] * (float)s0 + (float)(int8_t)block[193 + 2 * g] * (float)s1);
            }
        }
        return sum;
    }
    default:
        return 0;
    }
}

// MARK: AVX-512 kernels

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#define CK_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,f16c,fma")))

/// Σ over 32 lanes of int16 products, as 16 int32 partial sums.
CK_AVX512 static inline __m512i dot_i16(__m512i w, const int16_t *x) {
    return _mm512_dpwssd_epi32(_mm512_setzero_si512(), w, _mm512_loadu_si512(x));
}

CK_AVX512 static inline __m512i widen_u8(__m256i bytes) { return _mm512_cvtepu8_epi16(bytes); }

/// The 32 nibbles of 16 bytes, values 0..15 then 16..31, as bytes.
CK_AVX512 static inline __m256i nibbles(const uint8_t *qs) {
    const __m128i packed = _mm_loadu_si128((const __m128i *)qs);
    const __m128i mask = _mm_set1_epi8(0x0F);
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(packed, 4), mask), _mm_and_si128(packed, mask));
}

CK_AVX512 static inline float f16_scale(const uint8_t *p) {
    return _cvtsh_ss(ck_load_u16(p));
}

/// The 32 weights of one block of a 32-value type as int16 lanes, and the block's
/// scale (and minimum, for Q4_1/Q5_1).
CK_AVX512 static inline __m512i block_weights(ck_type type, const uint8_t *block) {
    switch (type) {
    case CK_Q8_0:
        return _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(block + 2)));
    case CK_Q4_0:
        return _mm512_sub_epi16(widen_u8(nibbles(block + 2)), _mm512_set1_epi16(8));
    case CK_Q4_1:
        return widen_u8(nibbles(block + 4));
    case CK_Q5_0: {
        const __m256i fifth = _mm256_and_si256(_mm256_movm_epi8((__mmask32)ck_load_u32(block + 2)), _mm256_set1_epi8(0x10));
        return _mm512_sub_epi16(widen_u8(_mm256_or_si256(nibbles(block + 6), fifth)), _mm512_set1_epi16(16));
    }
    default: {  // CK_Q5_1
        const __m256i fifth = _mm256_and_si256(_mm256_movm_epi8((__mmask32)ck_load_u32(block + 4)), _mm256_set1_epi8(0x10));
        return widen_u8(_mm256_or_si256(nibbles(block + 8), fifth));
    }
    }
}

/// Rows of the 32-value block types: four independent accumulators, so that the
/// float multiply-adds of consecutive blocks do not wait for each other.
CK_AVX512 static inline __attribute__((always_inline)) float row_blocks32_avx512(ck_type type, int block_bytes, int has_minimum, const uint8_t *row, const ck_q16_activation *a) {
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    float minimum_terms = 0;
    const int64_t blocks = a->k / 32;
    int64_t b = 0;
    for (; b + 4 <= blocks; b += 4) {
        for (int u = 0; u < 4; u++) {
            const uint8_t *block = row + (b + u) * block_bytes;
            const __m512i products = dot_i16(block_weights(type, block), a->q + (b + u) * 32);
            acc[u] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(products), _mm512_set1_ps(f16_scale(block) * a->scale[b + u]), acc[u]);
            if (has_minimum) minimum_terms += f16_scale(block + 2) * (a->sum16[2 * (b + u)] + a->sum16[2 * (b + u) + 1]);
        }
    }
    for (; b < blocks; b++) {
        const uint8_t *block = row + b * block_bytes;
        const __m512i products = dot_i16(block_weights(type, block), a->q + b * 32);
        acc[0] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(products), _mm512_set1_ps(f16_scale(block) * a->scale[b]), acc[0]);
        if (has_minimum) minimum_terms += f16_scale(block + 2) * (a->sum16[2 * b] + a->sum16[2 * b + 1]);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3]))) + minimum_terms;
}

CK_AVX512 static float row_q45_k_avx512(int is_q5, const uint8_t *row, const ck_q16_activation *a) {
    __m512 acc[2] = {_mm512_setzero_ps(), _mm512_setzero_ps()};
    float extra = 0;
    const int bytes = is_q5 ? 176 : 144, qs_offset = is_q5 ? 48 : 16;
    const __m256i low = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(0x01);
    for (int64_t s = 0; s < a->k / 256; s++) {
        const uint8_t *block = row + s * bytes;
        const float d = f16_scale(block), dmin = f16_scale(block + 2);
        const __m256i qh = is_q5 ? _mm256_loadu_si256((const __m256i *)(block + 16)) : _mm256_setzero_si256();
        for (int pair = 0; pair < 4; pair++) {
            const __m256i packed = _mm256_loadu_si256((const __m256i *)(block + qs_offset + pair * 32));
            for (int half = 0; half < 2; half++) {
                const int g = 2 * pair + half;
                int sc, mn;
                k_scale_min(g, block + 4, &sc, &mn);
                __m256i bytes8 = half == 0 ? _mm256_and_si256(packed, low) : _mm256_and_si256(_mm256_srli_epi16(packed, 4), low);
                if (is_q5) bytes8 = _mm256_or_si256(bytes8, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, g), one), 4));
                const int64_t b = s * 8 + g;
                acc[half] = _mm512_fmadd_ps(
                    _mm512_cvtepi32_ps(dot_i16(widen_u8(bytes8), a->q + b * 32)), _mm512_set1_ps(d * (float)sc * a->scale[b]), acc[half]);
                extra -= dmin * (float)mn * (a->sum16[2 * b] + a->sum16[2 * b + 1]);
            }
        }
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(acc[0], acc[1])) + extra;
}

CK_AVX512 static float row_q6_k_avx512(const uint8_t *row, const ck_q16_activation *a) {
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(0x03);
    for (int64_t s = 0; s < a->k / 256; s++) {
        const uint8_t *block = row + s * 210;
        const float d = f16_scale(block + 208);
        for (int half = 0; half < 2; half++) {
            const __m256i ql0 = _mm256_loadu_si256((const __m256i *)(block + half * 64));       // values l, l+64
            const __m256i ql1 = _mm256_loadu_si256((const __m256i *)(block + half * 64 + 32));  // values l+32, l+96
            const __m256i qh = _mm256_loadu_si256((const __m256i *)(block + 128 + half * 32));
            const __m256i parts[4] = {
                _mm256_or_si256(_mm256_and_si256(ql0, m4), _mm256_slli_epi16(_mm256_and_si256(qh, m2), 4)),
                _mm256_or_si256(_mm256_and_si256(ql1, m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m2), 4)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m2), 4)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m2), 4)),
            };
            for (int t = 0; t < 4; t++) {
                const int64_t b = s * 8 + half * 4 + t;
                const int group = half * 8 + t * 2;  // scale index of the first 16 values
                const __m512i w = _mm512_sub_epi16(widen_u8(parts[t]), _mm512_set1_epi16(32));
                const __m512 sums = _mm512_cvtepi32_ps(dot_i16(w, a->q + b * 32));
                const float scale = d * a->scale[b];
                const __m512 scales = _mm512_insertf32x8(
                    _mm512_set1_ps(scale * (float)(int8_t)block[192 + group]), _mm256_set1_ps(scale * (float)(int8_t)block[193 + group]), 1);
                acc[t] = _mm512_fmadd_ps(sums, scales, acc[t]);
            }
        }
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3])));
}

CK_AVX512 static float row_avx512(ck_type type, const uint8_t *row, const ck_q16_activation *a) {
    switch (type) {
    case CK_Q8_0: return row_blocks32_avx512(CK_Q8_0, 34, 0, row, a);
    case CK_Q4_0: return row_blocks32_avx512(CK_Q4_0, 18, 0, row, a);
    case CK_Q4_1: return row_blocks32_avx512(CK_Q4_1, 20, 1, row, a);
    case CK_Q5_0: return row_blocks32_avx512(CK_Q5_0, 22, 0, row, a);
    case CK_Q5_1: return row_blocks32_avx512(CK_Q5_1, 24, 1, row, a);
    case CK_Q4_K: return row_q45_k_avx512(0, row, a);
    case CK_Q5_K: return row_q45_k_avx512(1, row, a);
    case CK_Q6_K: return row_q6_k_avx512(row, a);
    default: return 0;
    }
}

static int use_avx512(void) {
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                 __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vnni");
        const char *disabled = getenv("SWIFT_LLAMA_DISABLE_AVX512");
        if (disabled && *disabled && *disabled != '0') cached = 0;
    }
    return cached;
}
#else
static int use_avx512(void) { return 0; }
#endif

void ck_matvec_q16(ck_type type, const void *weight, size_t row_bytes, const ck_q16_activation *x,
                   float *y, int64_t row_begin, int64_t row_end) {
    const uint8_t *w = weight;
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
    if (use_avx512()) {
        for (int64_t r = row_begin; r < row_end; r++) y[r] = row_avx512(type, w + (size_t)r * row_bytes, x);
        return;
    }
#endif
    for (int64_t r = row_begin; r < row_end; r++) y[r] = row_portable(type, w + (size_t)r * row_bytes, x);
}
