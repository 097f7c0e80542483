// Matrix products of block-quantized weights with many activation rows (prompt
// processing), in int16 integer arithmetic: the same numbers as the decode kernels of
// Int16Matvec.c (activations rounded to int16 per block of 32, exact integer
// products), computed as a tiled matrix product.
//
// Weight rows and activation rows are first packed "across blocks": 16 consecutive
// blocks of 32 values form a group, and the group is stored as 16 vectors of 16 int32
// lanes, lane b holding values 2t and 2t+1 of block b as two int16. One vpdpwssd then
// multiplies-and-adds a pair of values of 16 blocks at once, and after the 16 pairs
// of a group each lane holds one block's whole integer dot product: one conversion
// and one multiply-add with the 16 products of scales finish 16 blocks. A 4 × 3 tile
// (4 weight rows, 3 activation rows) keeps 12 integer and 12 float accumulators in
// registers and loads 7 vectors per 12 products. Without AVX-512 VNNI, AVX2 takes each
// group as two halves of 8 blocks (vpmaddwd and vpaddd on 256 bits) in 3 × 3 tiles.
//
// Weights are packed a panel at a time (up to 64 rows × as many groups as fit in 512 KiB)
// into the caller's scratch memory (each thread its own), so the file is read where it
// lies and the scratch stays bounded; the activation rows pass the panel 3 at a time, and
// each panel of a long row adds its part to the output.

#include <math.h>
#include <string.h>

#include "CPUKernels.h"
#include "Half.h"
#include "Kernels.h"

enum {
    BLOCK = 32,             // values per block
    GROUP_BLOCKS = 16,      // blocks per group (vector lanes)
    GROUP_Q_BYTES = 1024,   // packed int16 values of a group
    GROUP_BYTES = GROUP_Q_BYTES + 2 * GROUP_BLOCKS * 4,  // with a scale and an extra float per block
    TILE_W = 4,             // weight rows per tile
    TILE_X = 3,             // activation rows per tile
    TILE_AVX2_W = 3,        // weight rows per tile without AVX-512 VNNI (tile_avx2)
};

static int64_t group_count(int64_t k) { return (k / BLOCK + GROUP_BLOCKS - 1) / GROUP_BLOCKS; }

/// One packed row: the values (groups × 1024 bytes), then one float per block (scale),
/// then one more float per block (weights: the minimum term's factor; activations:
/// the exact sum of the block's original values). Padding blocks are zero.
size_t ck_int16_packed_row_bytes(int64_t k) { return (size_t)group_count(k) * GROUP_BYTES; }

int64_t ck_int16_gemm_padded_rows(int64_t rows) { return (rows + TILE_X - 1) / TILE_X * TILE_X; }

static inline int32_t *packed_values(uint8_t *row) { return (int32_t *)row; }
static inline float *packed_scales(uint8_t *row, int64_t groups) { return (float *)(row + groups * GROUP_Q_BYTES); }
static inline float *packed_extras(uint8_t *row, int64_t groups) {
    return (float *)(row + groups * GROUP_Q_BYTES + groups * GROUP_BLOCKS * 4);
}

/// Zeroes what packing a row of `blocks` blocks leaves unwritten: the padding blocks'
/// values in the last group, and the scale and extra arrays (written block by block).
static void clear_row_padding(uint8_t *row, int64_t groups, int64_t blocks) {
    if (blocks % GROUP_BLOCKS != 0) memset(row + (groups - 1) * GROUP_Q_BYTES, 0, GROUP_Q_BYTES);
    memset(row + groups * GROUP_Q_BYTES, 0, (size_t)groups * GROUP_BLOCKS * 4 * 2);
}

/// Stores block `b`'s 32 values (each within int16) at its lane of its group.
static inline void store_block(int32_t *values, int64_t b, const int32_t q[32]) {
    int32_t *lane = values + (b / GROUP_BLOCKS) * 256 + (b % GROUP_BLOCKS);
    for (int t = 0; t < 16; t++) lane[t * GROUP_BLOCKS] = (int32_t)((uint32_t)(uint16_t)q[2 * t] | (uint32_t)(uint16_t)q[2 * t + 1] << 16);
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

#include "VNNIHelpers.h"

#define CK_VNNI512 __attribute__((target("avx2,avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,fma,f16c")))

/// Stores the 32 int16 values of a block, held in one vector, at its lane of its group.
CK_VNNI512 static inline void store_block_vector(int32_t *values, int64_t b, __m512i q) {
    int32_t words[16] __attribute__((aligned(64)));
    _mm512_store_si512(words, q);
    int32_t *lane = values + (b / GROUP_BLOCKS) * 256 + (b % GROUP_BLOCKS);
    for (int t = 0; t < 16; t++) lane[t * GROUP_BLOCKS] = words[t];
}

/// ck_int16_pack_activations for one row, with AVX-512: the same int16 values as the
/// scalar code (round to nearest even, as lrintf), the sums added in another order.
CK_VNNI512 static void pack_activation_row_avx512(const float *v, int64_t blocks, int32_t *values, float *scales, float *sums) {
    for (int64_t b = 0; b < blocks; b++, v += BLOCK) {
        __m512 x0, x1;
        __m512i i0, i1;
        scales[b] = ck_quantize_block_avx512(v, 32512.0f, &x0, &x1, &i0, &i1);  // as ck_int16_quantize_block
        const __m256i q0 = _mm512_cvtepi32_epi16(i0), q1 = _mm512_cvtepi32_epi16(i1);
        store_block_vector(values, b, _mm512_inserti64x4(_mm512_castsi256_si512(q0), q1, 1));
        sums[b] = _mm512_reduce_add_ps(_mm512_add_ps(x0, x1));
    }
}

/// Stores a block's 32 int16 values, values 0–15 in `low` and 16–31 in `high`, at its lane
/// of its group (as store_block).
CK_AVX2 static inline void store_block_words(int32_t *values, int64_t b, __m256i low, __m256i high) {
    int32_t words[16] __attribute__((aligned(32)));
    _mm256_store_si256((__m256i *)words, low);
    _mm256_store_si256((__m256i *)(words + 8), high);
    int32_t *lane = values + (b / GROUP_BLOCKS) * 256 + (b % GROUP_BLOCKS);
    for (int t = 0; t < 16; t++) lane[t * GROUP_BLOCKS] = words[t];
}

/// 32 unsigned byte values (value j in byte j) less `offset`, as int16: values 0–15 in
/// `low`, 16–31 in `high`.
CK_AVX2 static inline void bytes_as_words(__m256i bytes, int offset, __m256i *low, __m256i *high) {
    const __m256i by = _mm256_set1_epi16((short)offset);
    *low = _mm256_sub_epi16(_mm256_cvtepu8_epi16(_mm256_castsi256_si128(bytes)), by);
    *high = _mm256_sub_epi16(_mm256_cvtepu8_epi16(_mm256_extracti128_si256(bytes, 1)), by);
}

/// store_block_words for 32 unsigned byte values less `offset` (bytes_as_words).
CK_AVX2 static inline void store_block_bytes(int32_t *values, int64_t b, __m256i bytes, int offset) {
    __m256i low, high;
    bytes_as_words(bytes, offset, &low, &high);
    store_block_words(values, b, low, high);
}

/// ck_int16_pack_activations for one row, with AVX2 (without AVX-512): the same int16 values
/// as the scalar code (the values times the same float inverse, rounded to nearest even as
/// lrintf), the sums added in another order.
CK_AVX2 static void pack_activation_row_avx2(const float *v, int64_t blocks, int32_t *values, float *scales, float *sums) {
    for (int64_t b = 0; b < blocks; b++, v += BLOCK) {
        __m256 x[4];
        __m256i q[4];
        scales[b] = round_block_avx2(v, 32512.0f, x, q);
        store_block_words(values, b, pack_words_in_order(q[0], q[1]), pack_words_in_order(q[2], q[3]));
        sums[b] = ck_hsum256(_mm256_add_ps(_mm256_add_ps(x[0], x[1]), _mm256_add_ps(x[2], x[3])));
    }
}

/// pack_weight_row with AVX2, for the types KernelTable.c lists the gemm kernels for: each block's values
/// built in a vector, as the AVX2 decode kernels build them, widened to int16 and stored at
/// the block's lane; the integers, scales and minimum factors of the portable unpacking
/// (ck_unpack_block32, ck_unpack_k_sub_block, ck_unpack_q6_k_sub_block): that scalar
/// unpacking, which packed the K-quants before, took a large share of their prompts'
/// integer products.
CK_AVX2 static void pack_weight_row_avx2(ck_type type, const uint8_t *src, int64_t first, int64_t blocks, int32_t *values, float *scales,
                                         float *minima) {
    if (type == CK_Q8_0 || type == CK_Q4_0 || type == CK_Q4_1 || type == CK_Q5_0 || type == CK_Q5_1) {
        const int bytes = ck_block_bytes(type);
        for (int64_t b = 0; b < blocks; b++) {
            const uint8_t *block = src + (first + b) * bytes;
            if (type == CK_Q8_0) {
                const __m128i low = _mm_loadu_si128((const __m128i *)(block + 2)), high = _mm_loadu_si128((const __m128i *)(block + 18));
                store_block_words(values, b, _mm256_cvtepi8_epi16(low), _mm256_cvtepi8_epi16(high));
            } else if (type == CK_Q4_0) {
                store_block_bytes(values, b, nibbles(block + 2), 8);
            } else if (type == CK_Q4_1) {
                store_block_bytes(values, b, nibbles(block + 4), 0);
                minima[b] = f16(block + 2);
            } else if (type == CK_Q5_0) {
                store_block_bytes(values, b, _mm256_or_si256(nibbles(block + 6), fifth_bit_bytes(block + 2)), 16);
            } else {  // Q5_1
                store_block_bytes(values, b, _mm256_or_si256(nibbles(block + 8), fifth_bit_bytes(block + 4)), 0);
                minima[b] = f16(block + 2);
            }
            scales[b] = f16(block);
        }
        return;
    }
    if (type == CK_Q6_K) {
        // Each half of a block has its own int8 scale: (q − 32) × scale is the packed
        // integer (|·| ≤ 4096) and the super-block's d the block scale.
        for (int64_t s = 0; s < blocks / 8; s++) {
            const uint8_t *block = src + (first / 8 + s) * 210;
            const float d = f16(block + 208);
            for (int half = 0; half < 2; half++) {
                __m256i parts[4];
                q6_k_sub_blocks(block, half, parts);
                for (int t = 0; t < 4; t++) {
                    const int g = half * 4 + t;  // sub-block g of the super-block: groups 2g and 2g + 1 of 16
                    __m256i low, high;
                    bytes_as_words(parts[t], 32, &low, &high);
                    store_block_words(values, s * 8 + g, _mm256_mullo_epi16(low, _mm256_set1_epi16((int8_t)block[192 + 2 * g])),
                                      _mm256_mullo_epi16(high, _mm256_set1_epi16((int8_t)block[192 + 2 * g + 1])));
                    scales[s * 8 + g] = d;
                }
            }
        }
        return;
    }
    const int is_q5 = type == CK_Q5_K, bytes = is_q5 ? 176 : 144, qs_offset = is_q5 ? 48 : 16;
    for (int64_t s = 0; s < blocks / 8; s++) {
        const uint8_t *block = src + (first / 8 + s) * bytes;
        _mm256_storeu_ps(scales + s * 8, _mm256_mul_ps(_mm256_set1_ps(f16(block)), k_scales_or_minimums(block + 4, 0)));
        _mm256_storeu_ps(minima + s * 8, _mm256_mul_ps(_mm256_set1_ps(-f16(block + 2)), k_scales_or_minimums(block + 4, 1)));
        const __m256i qh = is_q5 ? _mm256_loadu_si256((const __m256i *)(block + 16)) : _mm256_setzero_si256();
        for (int pair = 0; pair < 4; pair++) {
            const __m256i packed = _mm256_loadu_si256((const __m256i *)(block + qs_offset + pair * 32));
            store_block_bytes(values, s * 8 + 2 * pair, k_sub_block(is_q5, packed, qh, 2 * pair), 0);
            store_block_bytes(values, s * 8 + 2 * pair + 1, k_sub_block(is_q5, packed, qh, 2 * pair + 1), 0);
        }
    }
}

/// Packs blocks [first, first + blocks) of one weight row (`src` points at the row) as a
/// row of `groups` groups: every block as 32 small integers q with a scale d and a
/// minimum factor m, so that the block's values are d·q + m. `first` is a multiple of 16.
/// Only the gemm entry points call it, for the types KernelTable.c lists them for (all
/// of which pack_weight_row_avx2 packs).
static void pack_weight_row(ck_type type, const uint8_t *src, int64_t first, int64_t blocks, int64_t groups, uint8_t *row) {
    clear_row_padding(row, groups, blocks);
    pack_weight_row_avx2(type, src, first, blocks, packed_values(row), packed_scales(row, groups), packed_extras(row, groups));
}
#endif

void ck_int16_pack_activations(ck_isa isa, const float *x, int64_t k, int64_t rows, int64_t padded_rows, void *packed) {
    const int64_t groups = group_count(k), blocks = k / BLOCK;
    const size_t row_bytes = ck_int16_packed_row_bytes(k);
    for (int64_t j = 0; j < padded_rows; j++) {
        uint8_t *row = (uint8_t *)packed + (size_t)j * row_bytes;
        if (j >= rows) { memset(row, 0, row_bytes); continue; }
        clear_row_padding(row, groups, blocks);
        int32_t *values = packed_values(row);
        float *scales = packed_scales(row, groups), *sums = packed_extras(row, groups);
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
        if (ck_use_avx512(isa)) {
            pack_activation_row_avx512(x + j * k, blocks, values, scales, sums);
            continue;
        }
        if (ck_use_avx2(isa)) {
            pack_activation_row_avx2(x + j * k, blocks, values, scales, sums);
            continue;
        }
#endif
        for (int64_t b = 0; b < blocks; b++) {
            const float *v = x + j * k + b * BLOCK;
            int16_t q16[32];
            int32_t q[32];
            float sum = 0;
            scales[b] = ck_int16_quantize_block(v, q16);
            for (int i = 0; i < BLOCK; i++) {
                q[i] = q16[i];
                sum += v[i];
            }
            store_block(values, b, q);
            sums[b] = sum;
        }
    }
}


/// A panel of packed weights: up to PANEL_ROWS rows × as many groups as fit in about
/// PANEL_BYTES (at least one), so that the panel stays in the level-2 cache while the
/// activation rows pass by TILE_X at a time, whatever the row length.
enum { PANEL_ROWS = 64, PANEL_BYTES = 512 << 10 };

static int64_t panel_groups(int64_t k) {
    const int64_t fit = PANEL_BYTES / (PANEL_ROWS * GROUP_BYTES), groups = group_count(k);
    return fit < 1 ? 1 : fit > groups ? groups : fit;
}

size_t ck_int16_gemm_scratch_bytes(int64_t k) { return (size_t)PANEL_ROWS * (size_t)panel_groups(k) * GROUP_BYTES; }

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
/// A packed row's three arrays for one range of groups, and the distance between rows.
typedef struct {
    const uint8_t *values;
    const float *scales;
    const float *extras;
    size_t stride;
} packed_rows;

static inline packed_rows rows_at(const uint8_t *row, size_t stride, int64_t groups, int64_t first_group) {
    return (packed_rows){
        row + first_group * GROUP_Q_BYTES,
        (const float *)(row + groups * GROUP_Q_BYTES) + first_group * GROUP_BLOCKS,
        (const float *)(row + groups * GROUP_Q_BYTES + groups * GROUP_BLOCKS * 4) + first_group * GROUP_BLOCKS,
        stride,
    };
}

/// out[r][j] = Σ over `groups` groups of weight row r × activation row j, for the 4 × 3 tile.
/// The integer sums are converted to floats after each group's 16 steps, or after each 8
/// when `wide_weights` (Q6_K's packed integers reach ±4096: 8 steps of two products with
/// int16 activations, 8 · 2 · 4096 · 32512 < 2³¹, is as far as int32 is safe).
CK_VNNI512 static void tile(packed_rows w, packed_rows x, int64_t groups, int has_minimum, int wide_weights,
                            float out[TILE_W][TILE_X]) {
    __m512 acc[TILE_W][TILE_X];
    for (int r = 0; r < TILE_W; r++)
        for (int j = 0; j < TILE_X; j++) acc[r][j] = _mm512_setzero_ps();
    for (int64_t g = 0; g < groups; g++) {
        __m512i dots[TILE_W][TILE_X];
        for (int r = 0; r < TILE_W; r++)
            for (int j = 0; j < TILE_X; j++) dots[r][j] = _mm512_setzero_si512();  // and after each conversion
        const uint8_t *wg = w.values + g * GROUP_Q_BYTES, *xg = x.values + g * GROUP_Q_BYTES;
        for (int half = 0; half < 2; half++) {
            for (int t = half * 8; t < half * 8 + 8; t++) {
                __m512i wv[TILE_W];
                for (int r = 0; r < TILE_W; r++) wv[r] = _mm512_loadu_si512(wg + r * w.stride + t * 64);
                for (int j = 0; j < TILE_X; j++) {
                    const __m512i xv = _mm512_loadu_si512(xg + j * x.stride + t * 64);
                    for (int r = 0; r < TILE_W; r++) dots[r][j] = _mm512_dpwssd_epi32(dots[r][j], wv[r], xv);
                }
            }
            if (half == 0 && !wide_weights) continue;
            for (int j = 0; j < TILE_X; j++) {
                const __m512 xs = _mm512_loadu_ps((const uint8_t *)(x.scales + g * GROUP_BLOCKS) + j * x.stride);
                for (int r = 0; r < TILE_W; r++) {
                    const __m512 ws = _mm512_loadu_ps((const uint8_t *)(w.scales + g * GROUP_BLOCKS) + r * w.stride);
                    acc[r][j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dots[r][j]), _mm512_mul_ps(ws, xs), acc[r][j]);
                    dots[r][j] = _mm512_setzero_si512();
                }
            }
        }
        if (has_minimum) {
            for (int j = 0; j < TILE_X; j++) {
                const __m512 sums = _mm512_loadu_ps((const uint8_t *)(x.extras + g * GROUP_BLOCKS) + j * x.stride);
                for (int r = 0; r < TILE_W; r++) {
                    const __m512 minima = _mm512_loadu_ps((const uint8_t *)(w.extras + g * GROUP_BLOCKS) + r * w.stride);
                    acc[r][j] = _mm512_fmadd_ps(minima, sums, acc[r][j]);
                }
            }
        }
    }
    for (int r = 0; r < TILE_W; r++)
        for (int j = 0; j < TILE_X; j++) out[r][j] = _mm512_reduce_add_ps(acc[r][j]);
}

/// The tile for processors with AVX2 but not AVX-512 VNNI: 3 weight rows × 3 activation
/// rows (16 vector registers hold 9 integer sums, the 3 weight vectors and an activation
/// vector), each group taken as two halves of 8 blocks in 256-bit lanes, vpmaddwd and
/// vpaddd for each pair of values of 8 blocks. The same packed rows, the same exact integer
/// sums converted after as many steps; the float sums wait in memory between halves.
CK_AVX2 static void tile_avx2(packed_rows w, packed_rows x, int64_t groups, int has_minimum, int wide_weights,
                              float out[TILE_W][TILE_X]) {
    enum { W = TILE_AVX2_W };
    __m256 acc[W][TILE_X];
    for (int r = 0; r < W; r++)
        for (int j = 0; j < TILE_X; j++) acc[r][j] = _mm256_setzero_ps();
    for (int64_t g = 0; g < groups; g++) {
        for (int half = 0; half < 2; half++) {
            const uint8_t *wg = w.values + g * GROUP_Q_BYTES + half * 32, *xg = x.values + g * GROUP_Q_BYTES + half * 32;
            const int64_t lanes = g * GROUP_BLOCKS + half * 8;  // the half's first block in the scale arrays
            __m256i dots[W][TILE_X];
            for (int r = 0; r < W; r++)
                for (int j = 0; j < TILE_X; j++) dots[r][j] = _mm256_setzero_si256();
            for (int t0 = 0; t0 < 16; t0 += 8) {
                for (int t = t0; t < t0 + 8; t++) {
                    __m256i wv[W];
                    for (int r = 0; r < W; r++) wv[r] = _mm256_loadu_si256((const __m256i *)(wg + r * w.stride + t * 64));
                    for (int j = 0; j < TILE_X; j++) {
                        const __m256i xv = _mm256_loadu_si256((const __m256i *)(xg + j * x.stride + t * 64));
                        for (int r = 0; r < W; r++) dots[r][j] = _mm256_add_epi32(dots[r][j], _mm256_madd_epi16(wv[r], xv));
                    }
                }
                if (t0 == 8 || wide_weights) {
                    for (int j = 0; j < TILE_X; j++) {
                        const __m256 xs = _mm256_loadu_ps((const float *)((const uint8_t *)(x.scales + lanes) + j * x.stride));
                        for (int r = 0; r < W; r++) {
                            const __m256 ws = _mm256_loadu_ps((const float *)((const uint8_t *)(w.scales + lanes) + r * w.stride));
                            acc[r][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dots[r][j]), _mm256_mul_ps(ws, xs), acc[r][j]);
                            dots[r][j] = _mm256_setzero_si256();
                        }
                    }
                }
            }
            if (has_minimum) {
                for (int j = 0; j < TILE_X; j++) {
                    const __m256 sums = _mm256_loadu_ps((const float *)((const uint8_t *)(x.extras + lanes) + j * x.stride));
                    for (int r = 0; r < W; r++) {
                        const __m256 minima = _mm256_loadu_ps((const float *)((const uint8_t *)(w.extras + lanes) + r * w.stride));
                        acc[r][j] = _mm256_fmadd_ps(minima, sums, acc[r][j]);
                    }
                }
            }
        }
    }
    for (int r = 0; r < W; r++)
        for (int j = 0; j < TILE_X; j++) out[r][j] = ck_hsum256(acc[r][j]);
}

#endif

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
/// The tiles of either instruction set over rows [row_begin, row_end): VNNI ones (`vnni`) or AVX2 ones.
static void gemm(int vnni, ck_type type, const void *weight, size_t row_bytes, int64_t k, const void *packed_x,
                 int64_t x_count, float *y, int64_t y_stride, int64_t row_begin, int64_t row_end, void *scratch) {
    const int64_t groups = group_count(k), blocks = k / BLOCK, chunk = panel_groups(k);
    const size_t x_stride = ck_int16_packed_row_bytes(k);
    const int has_minimum = type == CK_Q4_1 || type == CK_Q5_1 || type == CK_Q4_K || type == CK_Q5_K;
    const uint8_t *w = weight, *x = packed_x;
    uint8_t *panel = scratch;
    const int tile_w = vnni ? TILE_W : TILE_AVX2_W;
    const int64_t panel_rows = PANEL_ROWS / tile_w * tile_w;  // padded to whole tiles within PANEL_ROWS
    for (int64_t first = row_begin; first < row_end; first += panel_rows) {
        const int64_t rows = row_end - first < panel_rows ? row_end - first : panel_rows;
        const int64_t padded = (rows + tile_w - 1) / tile_w * tile_w;
        for (int64_t g0 = 0; g0 < groups; g0 += chunk) {
            const int64_t chunk_groups = groups - g0 < chunk ? groups - g0 : chunk;
            const int64_t first_block = g0 * GROUP_BLOCKS;
            const int64_t chunk_blocks = blocks - first_block < chunk_groups * GROUP_BLOCKS ? blocks - first_block : chunk_groups * GROUP_BLOCKS;
            const size_t w_stride = (size_t)chunk_groups * GROUP_BYTES;
            for (int64_t r = 0; r < padded; r++) {
                if (r < rows) pack_weight_row(type, w + (size_t)(first + r) * row_bytes, first_block, chunk_blocks, chunk_groups, panel + r * w_stride);
                else memset(panel + r * w_stride, 0, w_stride);
            }
            for (int64_t j0 = 0; j0 < x_count; j0 += TILE_X) {
                const packed_rows xs = rows_at(x + j0 * x_stride, x_stride, groups, g0);
                for (int64_t r0 = 0; r0 < padded; r0 += tile_w) {
                    float out[TILE_W][TILE_X];
                    const packed_rows ws = rows_at(panel + r0 * w_stride, w_stride, chunk_groups, 0);
                    if (vnni) tile(ws, xs, chunk_groups, has_minimum, type == CK_Q6_K, out);
                    else tile_avx2(ws, xs, chunk_groups, has_minimum, type == CK_Q6_K, out);
                    for (int j = 0; j < TILE_X && j0 + j < x_count; j++) {
                        float *target = y + (j0 + j) * y_stride + first + r0;
                        for (int r = 0; r < tile_w && r0 + r < rows; r++) target[r] = g0 == 0 ? out[r][j] : target[r] + out[r][j];
                    }
                }
            }
        }
    }
}

// MARK: Entry points (the integer matrix–matrix column of KernelTable.c)

/// Needs AVX-512 VNNI.
void ck_gemm_int16_avx512(ck_type type, const void *weight, size_t row_bytes, int64_t k, const void *packed_x, int64_t x_count,
                          float *y, int64_t y_stride, int64_t row_begin, int64_t row_end, void *scratch) {
    gemm(1, type, weight, row_bytes, k, packed_x, x_count, y, y_stride, row_begin, row_end, scratch);
}

void ck_gemm_int16_avx2(ck_type type, const void *weight, size_t row_bytes, int64_t k, const void *packed_x, int64_t x_count,
                        float *y, int64_t y_stride, int64_t row_begin, int64_t row_end, void *scratch) {
    gemm(0, type, weight, row_bytes, k, packed_x, x_count, y, y_stride, row_begin, row_end, scratch);
}
#endif
