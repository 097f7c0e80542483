// Internal declarations shared by the kernel files.
#ifndef CK_KERNELS_H
#define CK_KERNELS_H

#include <math.h>

#include "CPUKernels.h"
#include "Half.h"

typedef void (*ck_block_decoder)(const uint8_t *block, float *values);

#include "BlockLayouts.h"

/// The values and bytes of one block of `type` (one value for the float types), from
/// CK_BLOCK_LAYOUTS. Inline, so that the kernels, which are specialised for a constant
/// type, get constants.
static inline void ck_block_size(ck_type type, int *values, int *bytes) {
    *values = 0;
    *bytes = 0;
    switch (type) {
#define CK_BLOCK_SIZE_CASE(t, name, length, size) case t: *values = length; *bytes = size; return;
    CK_BLOCK_LAYOUTS(CK_BLOCK_SIZE_CASE)
#undef CK_BLOCK_SIZE_CASE
    }
}
static inline int ck_block_length(ck_type type) { int values, bytes; ck_block_size(type, &values, &bytes); return values; }
static inline int ck_block_bytes(ck_type type) { int values, bytes; ck_block_size(type, &values, &bytes); return bytes; }

/// What a row kernel of a 32-value type needs to know of its blocks: their bytes, whether
/// they have a minimum m (value = d·q + m: Q4_1, Q5_1), and otherwise their offset (value =
/// d·(q + offset): −8 for Q4_0, −16 for Q5_0, 0 for Q8_0).
typedef struct {
    int bytes, has_minimum;
    float offset;
    int64_t blocks;  // in a row of the activation's k values
} ck_block32_kind;

static inline int ck_block32_has_minimum(ck_type type) { return type == CK_Q4_1 || type == CK_Q5_1; }
static inline ck_block32_kind ck_block32(ck_type type, int64_t k) {
    return (ck_block32_kind){ck_block_bytes(type), ck_block32_has_minimum(type),
                             type == CK_Q4_0 ? -8.0f : type == CK_Q5_0 ? -16.0f : 0.0f, k / 32};
}
/// The block decoder of a quantized type (0 for the float types).
ck_block_decoder ck_decoder(ck_type type);

/// Whether a kernel allowed to use `allowed` may use AVX2+FMA+F16C, AVX-512 (F, BW, VL),
/// or AVX-512 with VNNI, on this processor.
int ck_use_avx2(ck_isa allowed);
int ck_use_avx512(ck_isa allowed);
int ck_use_avx512_vnni(ck_isa allowed);

/// What CPUID says of this processor, detected once (InstructionSet.c), as CK_CPU_ bits:
/// for ProcessorPolicy.c.
enum {
    CK_CPU_AVX2 = 1,               // AVX2, FMA, F16C
    CK_CPU_AVX512 = 2,             // AVX-512 F, BW, VL
    CK_CPU_VNNI = 4,               // and AVX-512 VNNI
    CK_CPU_AMD = 8,                // vendor AuthenticAMD
    CK_CPU_AMD_ZEN5_OR_LATER = 16, // AMD, family 0x1A or later
};
int ck_cpu_features(void);

/// The entry points KernelTable.c lists, by activation precision and instruction set
/// (ck_matvec_kernel, ck_gemm_kernel and ck_dequantize_kernel in CPUKernels.h). The
/// x86-64 ones exist only in x86-64 builds.
#define CK_MATVEC_ENTRY(name)                                                                                              \
    void name(ck_type type, const void *weight, size_t row_bytes, int64_t k, const void *x, int64_t x_count, float *y,   \
              int64_t y_stride, int64_t row_begin, int64_t row_end, int options)
#define CK_GEMM_ENTRY(name)                                                                                                \
    void name(ck_type type, const void *weight, size_t row_bytes, int64_t k, const void *packed_x, int64_t x_count,       \
              float *y, int64_t y_stride, int64_t row_begin, int64_t row_end, void *scratch)
#define CK_DEQUANTIZE_ENTRY(name)                                                                                          \
    void name(ck_type type, const void *weight, size_t row_bytes, int64_t k, float *dst, int64_t row_begin, int64_t row_end)

/// The body of a matrix–vector entry point whose activations are an array of
/// `activation_type` descriptors: y[j * y_stride + r] = `expression`, evaluated with
/// `row` (weight row r) and `activation` (descriptor j) in scope.
#define CK_MATVEC_ROWS(activation_type, expression)                                                                    \
    for (int64_t r = row_begin; r < row_end; r++) {                                                                    \
        const uint8_t *row = (const uint8_t *)weight + (size_t)r * row_bytes;                                          \
        for (int64_t j = 0; j < x_count; j++) {                                                                        \
            const activation_type *activation = (const activation_type *)x + j;                                        \
            y[j * y_stride + r] = (expression);                                                                        \
        }                                                                                                              \
    }

/// Defines the matrix–vector entry point `name` whose output for weight row `row` and
/// activation descriptor `activation` (of `activation_type`) is `expression`, which may
/// read `type`, `k` and `options`.
#define CK_DEFINE_MATVEC(name, activation_type, expression)                                                           \
    CK_MATVEC_ENTRY(name) {                                                                                            \
        (void)k; (void)options;                                                                                        \
        CK_MATVEC_ROWS(activation_type, expression)                                                                    \
    }

CK_MATVEC_ENTRY(ck_matvec_f32_portable);   // FloatMatvec.c
CK_MATVEC_ENTRY(ck_matvec_f32_avx2);
CK_MATVEC_ENTRY(ck_matvec_f32_avx512);
CK_MATVEC_ENTRY(ck_matvec_f16_portable);   // HalfMatvec.c
CK_MATVEC_ENTRY(ck_matvec_f16_avx2);
CK_MATVEC_ENTRY(ck_matvec_f16_avx512);
CK_MATVEC_ENTRY(ck_matvec_int16_portable); // Int16Matvec.c
CK_MATVEC_ENTRY(ck_matvec_int16_avx2);     // Int16MatvecAVX2.c
CK_MATVEC_ENTRY(ck_matvec_int16_avx512);   // Int16Matvec.c
CK_MATVEC_ENTRY(ck_matvec_int8_portable);  // Int8Matvec.c
CK_MATVEC_ENTRY(ck_matvec_int8_avx2);      // Int8MatvecAVX2.c
CK_MATVEC_ENTRY(ck_matvec_int8_avx512);    // Int8Matvec.c
CK_GEMM_ENTRY(ck_gemm_int16_avx2);         // Int16Gemm.c
CK_GEMM_ENTRY(ck_gemm_int16_avx512);
CK_DEQUANTIZE_ENTRY(ck_dequantize_rows_portable); // Dequantize.c
CK_DEQUANTIZE_ENTRY(ck_dequantize_rows_avx2);

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

/// The instruction sets of the x86-64 float kernels (ck_use_avx2, ck_use_avx512).
#define CK_AVX2 __attribute__((target("avx2,fma,f16c")))
#define CK_AVX512F __attribute__((target("avx512f,avx512bw,avx512vl,f16c,fma")))

/// The sum of the eight floats of v.
CK_AVX2 static inline float ck_hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/// The 8 f16 values at `p` widened to floats (exact).
__attribute__((target("avx2,f16c"))) static inline __m256 ck_f16x8_to_f32(const void *p) {
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}

/// The 16 f16 values at `p` widened to floats (exact).
__attribute__((target("avx512f"))) static inline __m512 ck_f16x16_to_f32(const void *p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
}

/// The 8 bf16 values at `p` widened to floats (a bf16 is the top half of a float).
__attribute__((target("avx2"))) static inline __m256 ck_bf16x8_to_f32(const uint8_t *p) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)), 16));
}

/// The 16 bf16 values at `p` widened to floats.
__attribute__((target("avx512f,avx512bw,avx512vl"))) static inline __m512 ck_bf16x16_to_f32(const uint8_t *p) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p)), 16));
}

/// The blocks of ck_int16_quantize with AVX2 (Int16MatvecAVX2.c): the same integers as
/// the portable code.
void ck_int16_quantize_blocks_avx2(const float *x, ck_int16_activation *a);

/// The blocks of ck_int8_quantize with AVX2, without AVX-512 (Int8MatvecAVX2.c): the same
/// integers as the portable code.
void ck_int8_quantize_blocks_avx2(const float *x, ck_int8_activation *a);

#endif

/// The 6-bit scale and minimum of sub-block j (0..7) of a Q4_K/Q5_K super-block, from its
/// 12 packed scale bytes `s`.
static inline void ck_k_scale_min(int j, const uint8_t *s, int *scale, int *minimum) {
    if (j < 4) { *scale = s[j] & 0x3F; *minimum = s[j + 4] & 0x3F; }
    else { *scale = (s[j + 4] & 0x0F) | ((s[j - 4] >> 2) & 0x30); *minimum = (s[j + 4] >> 4) | ((s[j] >> 2) & 0x30); }
}

/// The 32 values of a Q8_0 block as integers.
static inline void ck_unpack_q8_0(const uint8_t *block, int32_t *q) { for (int i = 0; i < 32; i++) q[i] = (int8_t)block[2 + i]; }

/// 32 nibbles of 16 bytes (values j: low nibble of byte j, j + 16: high nibble) minus `offset`.
static inline void ck_unpack_nibbles(const uint8_t *qs, int32_t *q, int offset) {
    for (int j = 0; j < 16; j++) { q[j] = (qs[j] & 0x0F) - offset; q[j + 16] = (qs[j] >> 4) - offset; }
}

/// The same with a fifth bit per value from the 4 bytes at `qh_bytes` (Q5_0, Q5_1).
static inline void ck_unpack_5bit(const uint8_t *qh_bytes, const uint8_t *qs, int32_t *q, int offset) {
    const uint32_t qh = ck_load_u32(qh_bytes);
    for (int j = 0; j < 16; j++) {
        q[j] = ((qs[j] & 0x0F) | (int)((qh >> j) & 1) << 4) - offset;
        q[j + 16] = ((qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4) - offset;
    }
}

/// The 32 integers of a block of a 32-value type (Q8_0, Q4_0 with its offset −8, Q5_0
/// with its −16, Q4_1 and Q5_1 without their minimum), from the block's first byte.
static inline void ck_unpack_block32(ck_type type, const uint8_t *block, int32_t *q) {
    switch (type) {
    case CK_Q8_0: ck_unpack_q8_0(block, q); break;
    case CK_Q4_0: ck_unpack_nibbles(block + 2, q, 8); break;
    case CK_Q5_0: ck_unpack_5bit(block + 2, block + 6, q, 16); break;
    case CK_Q4_1: ck_unpack_nibbles(block + 4, q, 0); break;
    default: ck_unpack_5bit(block + 4, block + 8, q, 0); break;  // Q5_1
    }
}

/// The 32 unsigned integers of sub-block g (0..7) of a Q4_K (`is_q5` 0) or Q5_K super-block.
static inline void ck_unpack_k_sub_block(int is_q5, const uint8_t *block, int g, int32_t *q) {
    const uint8_t *qs = block + (is_q5 ? 48 : 16) + (g / 2) * 32;
    for (int l = 0; l < 32; l++) {
        int v = (qs[l] >> (4 * (g % 2))) & 0x0F;
        if (is_q5) v |= ((block[16 + l] >> g) & 1) << 4;
        q[l] = v;
    }
}

/// The 32 signed 6-bit integers (−32..31) of values 32g .. 32g + 31 of a Q6_K super-block.
static inline void ck_unpack_q6_k_sub_block(const uint8_t *block, int g, int32_t *q) {
    for (int l = 0; l < 32; l++) {
        const int i = g * 32 + l, half = i / 128, w = i % 128;
        const int lo = (block[half * 64 + w % 64] >> (4 * (w / 64))) & 0x0F;
        const int hi = (block[128 + half * 32 + w % 32] >> (2 * (w / 32))) & 0x03;
        q[l] = (lo | hi << 4) - 32;
    }
}

/// The keys [*first, *last) a query at `position` sees: all of them, or with a causal
/// mask those up to its position, and with a sliding window only the last `window`.
static inline void ck_visible_keys(int64_t n_keys, int causal, int64_t position, int64_t window, int64_t *first, int64_t *last) {
    *first = 0;
    *last = n_keys;
    if (!causal) return;
    *last = position + 1 < n_keys ? position + 1 : n_keys;
    if (window > 0 && position - window + 1 > 0) *first = position - window + 1;
}

/// Rounds a block of 32 values to int16 with scale max |v| / 32512 (±127·256, so that the
/// high byte stays in −127…127 and the vector kernels may negate it: vpsignb cannot
/// negate −128); returns the scale.
static inline float ck_int16_quantize_block(const float *v, int16_t *q) {
    float maximum = 0;
    for (int i = 0; i < 32; i++) maximum = fmaxf(maximum, fabsf(v[i]));
    const float scale = maximum / 32512.0f;
    const float inverse = scale > 0 ? 1.0f / scale : 0.0f;
    for (int i = 0; i < 32; i++) q[i] = (int16_t)lrintf(v[i] * inverse);
    return scale;
}

/// Stores the per-block fields both activation types keep (ck_int16_activation and
/// ck_int8_activation) for block b: its scale, the float sums of its values 0–15 and
/// 16–31, their integer sums, the scale times the integer sum, and the float sum.
static inline void ck_store_block_sums(float *scale, float *sum16, int32_t *qsum16, float *qsum32, float *sum32, int64_t b,
                                       float block_scale, float s0, float s1, int32_t q0, int32_t q1) {
    scale[b] = block_scale;
    sum16[2 * b] = s0;
    sum16[2 * b + 1] = s1;
    qsum16[2 * b] = q0;
    qsum16[2 * b + 1] = q1;
    qsum32[b] = block_scale * (float)(q0 + q1);
    sum32[b] = s0 + s1;
}

/// The per-block fields of an activation `a` (ck_int16_activation or ck_int8_activation),
/// as the first arguments of ck_store_block_sums.
#define CK_BLOCK_SUM_FIELDS(a) (a)->scale, (a)->sum16, (a)->qsum16, (a)->qsum32, (a)->sum32

/// Long rows: when the activation a kernel reads for every row takes 8 KiB or more, it
/// and the weight bytes streaming past it no longer fit in L1 together, and the
/// activation is read again from L2 for every row (on Zen 4 long Q8_0 rows were measured
/// markedly slower than rows of 4096 values). The kernels then prefetch the weight bytes
/// CK_PREFETCH_DISTANCE ahead with the non-temporal hint, which makes them the first
/// lines evicted. Only the int16 kernels do: they are compute-bound and stall on L1
/// misses. In the float kernels (bandwidth-bound) the same prefetch made TinyLlama's F16
/// and F32 decode slower, and the int8 kernels (half the activation) gained nothing on
/// long rows.
///
/// Where ck_quantized_weight_prefetch_is_faster (ProcessorPolicy.c) the int16 and int8
/// kernels prefetch every row instead, into all cache levels (T0), and the float kernels
/// where ck_float_weight_prefetch_is_faster: on an Intel Xeon that read rows faster than
/// the Zen 4 arrangement for every kernel measured (while the non-temporal hint was
/// slower than no prefetch at all in the float kernels), and on Zen 4 it made Q8_0 and
/// Q4_0 decode faster than the long-row NTA prefetch and F32 decode no faster. A
/// distance of 4096 bytes instead of 2048 changed nothing measurable. The figures are in
/// Documentation/Performance.md.
enum { CK_PREFETCH_DISTANCE = 2048, CK_PREFETCH_ACTIVATION_BYTES = 8192 };

/// Whether an int16 kernel prefetches the rows of an activation of `k` values: every row
/// where `every_row` (ck_quantized_weight_prefetch_is_faster), otherwise long rows only.
static inline int ck_prefetches_rows(int64_t k, int every_row) { return every_row || k * 2 >= CK_PREFETCH_ACTIVATION_BYTES; }

/// Prefetches the `lines` cache lines at `p` + CK_PREFETCH_DISTANCE into all cache levels
/// (T0) if `prefetch`: the float kernels' every-row prefetch (FloatMatvec.c, HalfMatvec.c),
/// called once per `lines` × 64 bytes of row.
static inline __attribute__((always_inline)) void ck_prefetch_ahead(const uint8_t *p, int lines, int prefetch) {
    if (!prefetch) return;
    for (int l = 0; l < lines; l++) __builtin_prefetch(p + CK_PREFETCH_DISTANCE + 64 * l, 0, 3);  // 3: T0
}

/// Prefetches every line from `*next` up to CK_PREFETCH_DISTANCE bytes past `end`, and
/// advances `*next`: into all cache levels if `temporal`, else with the non-temporal hint.
/// A row kernel starts `*next` at its row plus the distance (the row before prefetched that
/// far); prefetching past the mapped weight is harmless.
static inline void ck_prefetch_weights(uintptr_t *next, const uint8_t *end, int temporal) {
    const uintptr_t limit = (uintptr_t)end + CK_PREFETCH_DISTANCE;
    if (temporal) {
        for (; *next < limit; *next += 64) __builtin_prefetch((const void *)*next, 0, 3);  // 3: x86 prefetcht0
    } else {
        for (; *next < limit; *next += 64) __builtin_prefetch((const void *)*next, 0, 0);  // 0: x86 prefetchnta
    }
}

// MARK: The portable integer-activation row, shared by the int16 and int8 kernels

/// An integer activation as the portable row reads it: its values (int16 when `wide`,
/// else int8), the scale of each block of 32 and the float sums of each group of 16.
typedef struct {
    const void *q;
    int wide;
    const float *scale, *sum16;
    int64_t k;
} ck_integer_values;

/// Σ q·x over `n` values of the activation from value `first`.
static inline int64_t ck_dot_integers(const int32_t *q, ck_integer_values a, int64_t first, int n) {
    int64_t sum = 0;
    if (a.wide) {
        const int16_t *x = (const int16_t *)a.q + first;
        for (int i = 0; i < n; i++) sum += (int64_t)q[i] * x[i];
    } else {
        const int8_t *x = (const int8_t *)a.q + first;
        for (int i = 0; i < n; i++) sum += (int64_t)q[i] * x[i];
    }
    return sum;
}

/// One row of a quantized type against an integer activation, in portable C: each block
/// decoded to integers, multiplied with the activation's, scaled; the minimum terms of
/// Q4_1, Q5_1 and the K-quants from the activation's float sums. The int16 and int8
/// portable kernels are this function over their activations.
static inline float ck_integer_row_portable(ck_type type, const uint8_t *row, ck_integer_values a) {
    int32_t q[32];
    float sum = 0;
    switch (type) {
    case CK_Q8_0: case CK_Q4_0: case CK_Q5_0: case CK_Q4_1: case CK_Q5_1: {
        const int bytes = ck_block_bytes(type);
        for (int64_t b = 0; b < a.k / 32; b++) {
            const uint8_t *block = row + b * bytes;
            float minimum = 0;
            ck_unpack_block32(type, block, q);
            if (ck_block32_has_minimum(type)) minimum = ck_load_f16(block + 2) * (a.sum16[2 * b] + a.sum16[2 * b + 1]);
            sum += ck_load_f16(block) * a.scale[b] * (float)ck_dot_integers(q, a, b * 32, 32) + minimum;
        }
        return sum;
    }
    case CK_Q4_K: case CK_Q5_K: {
        const int bytes = ck_block_bytes(type);
        for (int64_t s = 0; s < a.k / 256; s++) {
            const uint8_t *block = row + s * bytes;
            const float d = ck_load_f16(block), dmin = ck_load_f16(block + 2);
            for (int g = 0; g < 8; g++) {
                int sc, mn;
                ck_k_scale_min(g, block + 4, &sc, &mn);
                ck_unpack_k_sub_block(type == CK_Q5_K, block, g, q);
                const int64_t b = s * 8 + g;
                sum += d * (float)sc * a.scale[b] * (float)ck_dot_integers(q, a, b * 32, 32)
                     - dmin * (float)mn * (a.sum16[2 * b] + a.sum16[2 * b + 1]);
            }
        }
        return sum;
    }
    case CK_Q6_K: {
        const int bytes = ck_block_bytes(type);
        for (int64_t s = 0; s < a.k / 256; s++) {
            const uint8_t *block = row + s * bytes;
            const float d = ck_load_f16(block + 208);
            for (int g = 0; g < 8; g++) {  // 8 activation blocks of 32, each two scale groups of 16
                const int64_t b = s * 8 + g;
                ck_unpack_q6_k_sub_block(block, g, q);
                sum += d * a.scale[b] * ((float)(int8_t)block[192 + 2 * g] * (float)ck_dot_integers(q, a, b * 32, 16)
                                        + (float)(int8_t)block[193 + 2 * g] * (float)ck_dot_integers(q + 16, a, b * 32 + 16, 16));
            }
        }
        return sum;
    }
    default:
        return 0;
    }
}

#endif
