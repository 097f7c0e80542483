// Attention for prompts over an f32 cache, 16 queries of one head at a time, with
// AVX-512: the vector lanes are the 16 queries, so scores, the running maximum and sum
// of the softmax, and the output accumulators are all plain lane-wise arithmetic. With
// AVX2 only, a task's 16 queries are two blocks of 8 (the lanes of a 256-bit register)
// over blocks of 8 keys, the same arithmetic with 16 registers instead of 32.
//
// For each block of keys: scoresᵀ[key] = Σ_d key[d] · Qᵀ[d] (Q transposed and scaled
// once per task), the softmax is computed online (the running maximum rises, earlier
// sums and outputs are rescaled by exp(old − new)), and Oᵀ[d] += Σ_key value[d] · p[key].
// Every key is read once per 16 queries, no score matrix is stored, and the whole
// computation runs on the backend's own threads.

#include <math.h>

#include "CPUKernels.h"
#include "Kernels.h"

enum { QUERIES = 16, KEYS = 16 };

int ck_has_block_attention(ck_isa isa) { return ck_use_avx2(isa); }

int64_t ck_block_attention_tasks(int64_t n_queries, int64_t n_heads) { return n_heads * ((n_queries + QUERIES - 1) / QUERIES); }

size_t ck_block_attention_scratch_floats(int64_t head_dim) { return (size_t)(2 * QUERIES * head_dim); }

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

#define CK_AVX512 __attribute__((target("avx2,avx512f,avx512bw,avx512vl,avx512dq,fma")))

/// The arguments of one ck_block_attention call, which all its blocks share.
typedef struct {
    const float *q, *keys, *values;
    float *out;
    int64_t n_queries, n_heads, head_dim, n_keys, n_kv_heads, first_position, window;
    int causal;
    float scale;
} attention_call;

/// The start of a block of `width` queries q0 … of head h, for either kernel: its queries,
/// scaled, transposed into qt ([d][query], zeros past the last query), ot zeroed, and the
/// keys [*lo, *hi) any of its queries sees (from the first one's first to the last one's
/// last). Returns how many queries the block has.
static int64_t begin_block(const attention_call *c, int64_t h, int64_t q0, int width, float *qt, float *ot, int64_t *lo, int64_t *hi) {
    const int64_t count = c->n_queries - q0 < width ? c->n_queries - q0 : width;
    for (int64_t d = 0; d < c->head_dim; d++) {
        for (int64_t i = 0; i < width; i++) {
            qt[d * width + i] = i < count ? c->q[((q0 + i) * c->n_heads + h) * c->head_dim + d] * c->scale : 0.0f;
            ot[d * width + i] = 0.0f;
        }
    }
    int64_t unused;
    ck_visible_keys(c->n_keys, c->causal, c->first_position + q0, c->window, lo, &unused);
    ck_visible_keys(c->n_keys, c->causal, c->first_position + q0 + count - 1, c->window, &unused, hi);
    return count;
}

/// The rows of key j of head h's group, for either kernel.
static inline void key_rows(const attention_call *c, int64_t h, int64_t j, const float **key, const float **value) {
    const int64_t g = h / (c->n_heads / c->n_kv_heads), offset = j * c->n_kv_heads * c->head_dim + g * c->head_dim;
    *key = c->keys + offset;
    *value = c->values + offset;
}

/// The end of a block: each query's output row is its accumulated ot column divided by its
/// softmax sum (zeros where it saw nothing, as the reference).
static void end_block(const attention_call *c, int64_t h, int64_t q0, int64_t count, int width, const float *ot, const float *sums) {
    for (int64_t i = 0; i < count; i++) {
        float *result = c->out + ((q0 + i) * c->n_heads + h) * c->head_dim;
        const float inverse = sums[i] > 0 ? 1.0f / sums[i] : 0.0f;
        for (int64_t d = 0; d < c->head_dim; d++) result[d] = ot[d * width + i] * inverse;
    }
}

/// Cephes' expf polynomial for e^r with |r| ≤ ln 2 / 2, highest power first (about 1 ulp).
static const float exp_polynomial[6] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f,
                                        4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};

/// e^x for 16 floats: x = n·ln 2 + r with |r| ≤ ln 2 / 2, a degree-6 polynomial for e^r
/// (Cephes' expf coefficients, about 1 ulp), and 2^n applied with vscalefps.
CK_AVX512 static inline __m512 exp16(__m512 x) {
    x = _mm512_max_ps(_mm512_min_ps(x, _mm512_set1_ps(88.3762626647949f)), _mm512_set1_ps(-88.3762626647949f));
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(exp_polynomial[0]);
    for (int i = 1; i < 6; i++) p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(exp_polynomial[i]));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(p, n);
}

CK_AVX512 static void attend_block(const attention_call *c, int64_t h, int64_t q0, float *scratch) {
    const int64_t head_dim = c->head_dim, first_position = c->first_position, window = c->window;
    const int causal = c->causal;
    float *qt = scratch, *ot = scratch + QUERIES * head_dim;  // [d][query]
    int64_t lo, hi;
    const int64_t count = begin_block(c, h, q0, QUERIES, qt, ot, &lo, &hi);
    const __m512i positions = _mm512_add_epi32(_mm512_set1_epi32((int32_t)(first_position + q0)),
                                               _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
    const __mmask16 present = (__mmask16)((1u << count) - 1);
    __m512 maximum = _mm512_set1_ps(-INFINITY), sum = _mm512_setzero_ps();
    for (int64_t k0 = lo; k0 < hi; k0 += KEYS) {
        const int64_t kc = hi - k0 < KEYS ? hi - k0 : KEYS;
        const float *key[KEYS], *value[KEYS];
        __mmask16 visible[KEYS];
        for (int k = 0; k < KEYS; k++) {
            key_rows(c, h, k < kc ? k0 + k : k0, &key[k], &value[k]);  // rows past the end repeat a valid one, masked out
            __mmask16 m = k < kc ? present : 0;
            if (causal) {
                const __m512i kp = _mm512_set1_epi32((int32_t)(k0 + k));
                m &= _mm512_cmple_epi32_mask(kp, positions);
                if (window > 0) m &= _mm512_cmplt_epi32_mask(_mm512_sub_epi32(positions, kp), _mm512_set1_epi32((int32_t)window));
            }
            visible[k] = m;
        }
        __m512 s[KEYS];
        for (int k = 0; k < KEYS; k++) s[k] = _mm512_setzero_ps();
        for (int64_t d = 0; d < head_dim; d++) {
            const __m512 column = _mm512_loadu_ps(qt + d * QUERIES);
            for (int k = 0; k < KEYS; k++) s[k] = _mm512_fmadd_ps(_mm512_set1_ps(key[k][d]), column, s[k]);
        }
        __m512 new_maximum = maximum;
        for (int k = 0; k < KEYS; k++) new_maximum = _mm512_mask_max_ps(new_maximum, visible[k], new_maximum, s[k]);
        // Lanes that have seen nothing yet keep −∞; subtract 0 there so no ∞ − ∞ appears.
        const __m512 shift = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(new_maximum, _mm512_set1_ps(-INFINITY), _CMP_EQ_OQ),
                                                  new_maximum, _mm512_setzero_ps());
        const __m512 rescale = exp16(_mm512_sub_ps(maximum, shift));
        sum = _mm512_mul_ps(sum, rescale);
        for (int k = 0; k < KEYS; k++) {
            s[k] = _mm512_maskz_mov_ps(visible[k], exp16(_mm512_sub_ps(s[k], shift)));
            sum = _mm512_add_ps(sum, s[k]);
        }
        maximum = new_maximum;
        for (int64_t d = 0; d < head_dim; d++) {
            __m512 o = _mm512_mul_ps(_mm512_loadu_ps(ot + d * QUERIES), rescale);
            for (int k = 0; k < KEYS; k++) o = _mm512_fmadd_ps(_mm512_set1_ps(value[k][d]), s[k], o);
            _mm512_storeu_ps(ot + d * QUERIES, o);
        }
    }
    float sums[QUERIES];
    _mm512_storeu_ps(sums, sum);
    end_block(c, h, q0, count, QUERIES, ot, sums);
}


enum { QUERIES8 = 8, KEYS8 = 8 };


/// e^x for 8 floats, as exp16 but with 2^n built in the exponent bits: x is clamped to
/// [−87, 88] so that n stays in −126…127 (e^−87 ≈ 1.6e−38 stands for anything smaller,
/// which only ever meets sums of at least 1).
CK_AVX2 static inline __m256 exp8(__m256 x) {
    x = _mm256_max_ps(_mm256_min_ps(x, _mm256_set1_ps(88.0f)), _mm256_set1_ps(-87.0f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(exp_polynomial[0]);
    for (int i = 1; i < 6; i++) p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(exp_polynomial[i]));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    const __m256i power = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(power));
}

/// attend_block for the 8 queries q0 … q0 + 7 (fewer at the end) of head h.
CK_AVX2 static void attend_block8(const attention_call *c, int64_t h, int64_t q0, float *scratch) {
    const int64_t head_dim = c->head_dim, first_position = c->first_position, window = c->window;
    const int causal = c->causal;
    float *qt = scratch, *ot = scratch + QUERIES8 * head_dim;  // [d][query]
    int64_t lo, hi;
    const int64_t count = begin_block(c, h, q0, QUERIES8, qt, ot, &lo, &hi);
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i positions = _mm256_add_epi32(_mm256_set1_epi32((int32_t)(first_position + q0)), lane);
    const __m256i present = _mm256_cmpgt_epi32(_mm256_set1_epi32((int32_t)count), lane);
    const __m256 minus_infinity = _mm256_set1_ps(-INFINITY);
    __m256 maximum = minus_infinity, sum = _mm256_setzero_ps();
    for (int64_t k0 = lo; k0 < hi; k0 += KEYS8) {
        const int64_t kc = hi - k0 < KEYS8 ? hi - k0 : KEYS8;
        const float *key[KEYS8], *value[KEYS8];
        __m256 visible[KEYS8];  // all ones in the lanes of the queries that see the key
        for (int k = 0; k < KEYS8; k++) {
            key_rows(c, h, k < kc ? k0 + k : k0, &key[k], &value[k]);  // rows past the end repeat a valid one, masked out
            __m256i m = k < kc ? present : _mm256_setzero_si256();
            if (causal) {
                const __m256i kp = _mm256_set1_epi32((int32_t)(k0 + k));
                m = _mm256_andnot_si256(_mm256_cmpgt_epi32(kp, positions), m);
                if (window > 0) m = _mm256_and_si256(m, _mm256_cmpgt_epi32(_mm256_set1_epi32((int32_t)window), _mm256_sub_epi32(positions, kp)));
            }
            visible[k] = _mm256_castsi256_ps(m);
        }
        __m256 s[KEYS8];
        for (int k = 0; k < KEYS8; k++) s[k] = _mm256_setzero_ps();
        for (int64_t d = 0; d < head_dim; d++) {
            const __m256 column = _mm256_loadu_ps(qt + d * QUERIES8);
            for (int k = 0; k < KEYS8; k++) s[k] = _mm256_fmadd_ps(_mm256_broadcast_ss(key[k] + d), column, s[k]);
        }
        __m256 new_maximum = maximum;
        for (int k = 0; k < KEYS8; k++) new_maximum = _mm256_blendv_ps(new_maximum, _mm256_max_ps(new_maximum, s[k]), visible[k]);
        // Lanes that have seen nothing yet keep −∞; subtract 0 there so no ∞ − ∞ appears.
        const __m256 shift = _mm256_andnot_ps(_mm256_cmp_ps(new_maximum, minus_infinity, _CMP_EQ_OQ), new_maximum);
        const __m256 rescale = exp8(_mm256_sub_ps(maximum, shift));
        sum = _mm256_mul_ps(sum, rescale);
        for (int k = 0; k < KEYS8; k++) {
            s[k] = _mm256_and_ps(visible[k], exp8(_mm256_sub_ps(s[k], shift)));
            sum = _mm256_add_ps(sum, s[k]);
        }
        maximum = new_maximum;
        for (int64_t d = 0; d < head_dim; d++) {
            __m256 o = _mm256_mul_ps(_mm256_loadu_ps(ot + d * QUERIES8), rescale);
            for (int k = 0; k < KEYS8; k++) o = _mm256_fmadd_ps(_mm256_broadcast_ss(value[k] + d), s[k], o);
            _mm256_storeu_ps(ot + d * QUERIES8, o);
        }
    }
    float sums[QUERIES8];
    _mm256_storeu_ps(sums, sum);
    end_block(c, h, q0, count, QUERIES8, ot, sums);
}

#endif

void ck_block_attention(ck_isa isa, const float *q, int64_t n_queries, int64_t n_heads, int64_t head_dim, const float *keys,
                        const float *values, int64_t n_keys, int64_t n_kv_heads, int causal, int64_t first_position,
                        int64_t window, float scale, float *out, int64_t task_begin, int64_t task_end, float *scratch) {
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
    if (!ck_has_block_attention(isa)) return;
    const int64_t blocks = (n_queries + QUERIES - 1) / QUERIES;
    const int avx512 = ck_use_avx512(isa);
    const attention_call call = {q, keys, values, out, n_queries, n_heads, head_dim, n_keys, n_kv_heads, first_position, window,
                                 causal, scale};
    for (int64_t task = task_begin; task < task_end; task++) {
        // Head-major: a thread's contiguous share is whole heads, early and late queries alike.
        const int64_t h = task / blocks, q0 = (task % blocks) * QUERIES;
        if (avx512) {
            attend_block(&call, h, q0, scratch);
            continue;
        }
        for (int64_t half = q0; half < q0 + QUERIES && half < n_queries; half += QUERIES8) {
            attend_block8(&call, h, half, scratch);
        }
    }
#else
    (void)isa; (void)q; (void)n_queries; (void)n_heads; (void)head_dim; (void)keys; (void)values; (void)n_keys;
    (void)n_kv_heads; (void)causal; (void)first_position; (void)window; (void)scale; (void)out; (void)task_begin;
    (void)task_end; (void)scratch;
#endif
}
