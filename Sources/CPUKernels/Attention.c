// Scaled dot-product attention over a key/value cache, one (query, head) pair per
// task: scores, a softmax in float, and the weighted sum of values.

#include <math.h>

#include "CPUKernels.h"
#include "Half.h"
#include "Kernels.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

CK_AVX2 static float dot_f32_f32_avx2(const float *a, const float *b, int64_t n) {
    __m256 acc = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc);
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    float sum = _mm_cvtss_f32(s);
    for (; i < n; i++) sum += a[i] * b[i];
    return sum;
}

CK_AVX2 static float dot_f32_f16_avx2(const float *a, const uint16_t *b, int64_t n) {
    __m256 acc = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), ck_f16x8_to_f32(b + i), acc);
    }
    float sum = ck_hsum256(acc);
    for (; i < n; i++) sum += a[i] * ck_f16_to_f32(b[i]);
    return sum;
}

CK_AVX2 static void axpy_f32_avx2(float *y, float a, const float *x, int64_t n) {
    const __m256 va = _mm256_set1_ps(a);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++) y[i] += a * x[i];
}

CK_AVX2 static void axpy_f16_avx2(float *y, float a, const uint16_t *x, int64_t n) {
    const __m256 va = _mm256_set1_ps(a);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, ck_f16x8_to_f32(x + i), _mm256_loadu_ps(y + i)));
    }
    for (; i < n; i++) y[i] += a * ck_f16_to_f32(x[i]);
}

#endif

static float dot_key(ck_isa isa, const float *q, const void *key, ck_type type, int64_t n) {
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
    if (ck_use_avx2(isa)) return type == CK_F16 ? dot_f32_f16_avx2(q, key, n) : dot_f32_f32_avx2(q, key, n);
#endif
    float sum = 0;
    if (type == CK_F16) {
        const uint16_t *k = key;
        for (int64_t i = 0; i < n; i++) sum += q[i] * ck_f16_to_f32(k[i]);
    } else {
        const float *k = key;
        for (int64_t i = 0; i < n; i++) sum += q[i] * k[i];
    }
    return sum;
}

static void add_value(ck_isa isa, float *out, float weight, const void *value, ck_type type, int64_t n) {
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
    if (ck_use_avx2(isa)) {
        if (type == CK_F16) axpy_f16_avx2(out, weight, value, n); else axpy_f32_avx2(out, weight, value, n);
        return;
    }
#endif
    if (type == CK_F16) {
        const uint16_t *v = value;
        for (int64_t i = 0; i < n; i++) out[i] += weight * ck_f16_to_f32(v[i]);
    } else {
        const float *v = value;
        for (int64_t i = 0; i < n; i++) out[i] += weight * v[i];
    }
}

void ck_attention(ck_isa isa, const float *q, int64_t n_queries, int64_t n_heads, int64_t head_dim,
                  const void *keys, const void *values, ck_type kv_type, int64_t n_keys, int64_t n_kv_heads,
                  int causal, int64_t first_position, int64_t window, const float *mask, float scale,
                  float *out, int64_t task_begin, int64_t task_end, float *scratch) {
    const size_t element = kv_type == CK_F16 ? 2 : 4;
    const int64_t group = n_heads / n_kv_heads;
    for (int64_t task = task_begin; task < task_end; task++) {
        // Head-major tasks: a thread's contiguous share of a prompt is whole heads, each
        // with its cheap early and expensive late queries, so causal work splits evenly.
        const int64_t h = task / n_queries, i = task % n_queries, g = h / group;
        const float *query = q + (i * n_heads + h) * head_dim;
        float *result = out + (i * n_heads + h) * head_dim;
        int64_t first, last;  // keys [first, last)
        ck_visible_keys(n_keys, causal, first_position + i, window, &first, &last);
        float maximum = -INFINITY;
        for (int64_t j = first; j < last; j++) {
            const char *key = (const char *)keys + ((size_t)(j * n_kv_heads + g) * head_dim) * element;
            float s = dot_key(isa, query, key, kv_type, head_dim) * scale;
            if (mask) s += mask[i * n_keys + j];
            scratch[j] = s;
            if (s > maximum) maximum = s;
        }
        for (int64_t d = 0; d < head_dim; d++) result[d] = 0;
        if (maximum == -INFINITY) continue;  // nothing visible: zeros, as the reference
        float sum = 0;
        for (int64_t j = first; j < last; j++) {
            scratch[j] = expf(scratch[j] - maximum);
            sum += scratch[j];
        }
        const float inverse = 1.0f / sum;
        for (int64_t j = first; j < last; j++) {
            const float weight = scratch[j] * inverse;
            if (weight == 0) continue;
            const char *value = (const char *)values + ((size_t)(j * n_kv_heads + g) * head_dim) * element;
            add_value(isa, result, weight, value, kv_type, head_dim);
        }
    }
}

void ck_attention_softmax_rows(float *scores, int64_t n_keys, int causal, int64_t first_position, int64_t window,
                               const float *mask, int64_t row_begin, int64_t row_end) {
    for (int64_t i = row_begin; i < row_end; i++) {
        float *row = scores + i * n_keys;
        int64_t first, last;
        ck_visible_keys(n_keys, causal, first_position + i, window, &first, &last);
        float maximum = -INFINITY;
        for (int64_t j = first; j < last; j++) {
            if (mask) row[j] += mask[i * n_keys + j];
            if (row[j] > maximum) maximum = row[j];
        }
        for (int64_t j = 0; j < first; j++) row[j] = 0;
        for (int64_t j = last; j < n_keys; j++) row[j] = 0;
        if (maximum == -INFINITY) {  // nothing visible: zeros, as the reference
            for (int64_t j = first; j < last; j++) row[j] = 0;
            continue;
        }
        float sum = 0;
        for (int64_t j = first; j < last; j++) {
            row[j] = expf(row[j] - maximum);
            sum += row[j];
        }
        const float inverse = 1.0f / sum;
        for (int64_t j = first; j < last; j++) row[j] *= inverse;
    }
}
