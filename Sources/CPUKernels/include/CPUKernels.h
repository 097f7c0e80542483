// Fused dequantize-and-compute kernels for CPUs, used by the BLAS backend.
//
// Weights are rows of GGUF element types, used where they lie (no repacking).
// Every function works on a range of rows so that the caller can split work
// over threads. The x86-64 build picks AVX2/FMA/F16C or AVX-512 code at run time
// when the processor has it; other builds use portable C.

#ifndef CPU_KERNELS_H
#define CPU_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Element types, numbered as GGML numbers them.
typedef enum {
    CK_F32 = 0,
    CK_F16 = 1,
    CK_Q4_0 = 2,
    CK_Q4_1 = 3,
    CK_Q5_0 = 6,
    CK_Q5_1 = 7,
    CK_Q8_0 = 8,
    CK_Q2_K = 10,
    CK_Q3_K = 11,
    CK_Q4_K = 12,
    CK_Q5_K = 13,
    CK_Q6_K = 14,
    CK_Q8_K = 15,
    CK_BF16 = 30,
} ck_type;

/// The instruction sets the kernels are written for, in increasing order. Each kernel
/// takes the highest one the caller allows (its `isa` argument) that the processor has:
/// a caller can pin the AVX2 or the portable code on any machine (to test it, or to
/// compare), and asking for more than the processor has is safe.
typedef enum {
    CK_ISA_PORTABLE = 0,
    CK_ISA_AVX2 = 1,    // AVX2, FMA, F16C
    CK_ISA_AVX512 = 2,  // AVX-512 F/BW/VL (and VNNI for the integer kernels)
} ck_isa;

/// The best instruction set of this processor.
ck_isa ck_detected_isa(void);
/// "avx512", "avx2" or "portable".
const char *ck_isa_name(ck_isa isa);

// MARK: Processor policy (ProcessorPolicy.c, where each rule's measured reason is stated)

/// Whether f16 and bf16 weights should meet activations rounded to f16 (the CK_ACT_F16
/// kernels) rather than f32 ones on this processor: AMD processors with AVX2.
int ck_half_activations_are_faster(void);
/// Whether the AVX-512 float-activation kernels (CK_ACT_F32, CK_ACT_F16) should prefetch
/// every weight row (CK_OPTION_PREFETCH): AVX-512 processors other than AMD's before Zen 5.
int ck_float_weight_prefetch_is_faster(void);
/// Whether the integer-activation kernels (CK_ACT_INT16, CK_ACT_INT8) should prefetch
/// every weight row (CK_OPTION_PREFETCH): processors with AVX-512.
int ck_quantized_weight_prefetch_is_faster(void);
/// Whether the AVX-512 int16 kernels should take two blocks per 512-bit register
/// (CK_OPTION_BLOCK_PAIRS): AVX-512 processors other than AMD's before Zen 5.
int ck_block_pairs_are_faster(void);
/// The input rows from which the integer matrix–matrix kernels of instruction set
/// `gemm_isa` are faster than the matrix–vector ones.
int ck_integer_gemm_min_rows(ck_isa gemm_isa);

/// The name of the kernels the process's OpenBLAS runs ("SkylakeX", "Haswell", "Zen",
/// "Prescott", …), or NULL when no OpenBLAS is loaded.
const char *ck_openblas_core(void);
/// Once per process: if the loaded OpenBLAS (a DYNAMIC_ARCH build) did not know this
/// processor and fell back to its SSE3 "Prescott" kernels, and OPENBLAS_CORETYPE is not
/// set, makes it take its AVX-512 ("SkylakeX") or AVX2 ("Haswell") kernels, whichever the
/// processor has (ck_openblas_core then tells which). Call it before any other thread
/// calls OpenBLAS (the BLAS backend does, when created).
void ck_openblas_replace_fallback_core(void);

/// Decodes `count` values (whole blocks) of `type` at `src` into `dst`.
void ck_dequantize_row(ck_type type, const void *src, float *dst, int64_t count);

// MARK: Activations

/// An activation vector of k values (k a multiple of 32) quantized for integer dot
/// products: each block of 32 values is q[i] * scale[block] with q an int16 (|q| ≤ 32512 =
/// 127 · 256). Each q is
/// also stored split into two bytes, q = hi * 256 + lo (lo unsigned, hi signed), so
/// that the 8-bit dot-product instructions compute exact int16 products. Sums for the
/// offset and minimum terms of the block types are kept too, and q once more in the
/// order of the AVX2 K-quant kernels, which split the weight bytes of a block into the
/// words of its even- and odd-indexed values by a mask and a shift instead of a shuffle.
typedef struct {
    int16_t *q;      // k values
    uint8_t *lo;     // k low bytes of q
    int8_t *hi;      // k high bytes of q
    int16_t *q_even_odd; // k values: each block's q at even indices (0, 2, …, 30), then at odd ones
    float *scale;    // k / 32 scales
    float *sum16;    // k / 16 sums of the original values
    int32_t *qsum16; // k / 16 sums of q
    float *qsum32;   // k / 32: scale × the sum of q over the block
    float *sum32;    // k / 32 sums of the original values
    int64_t k;
} ck_int16_activation;

/// Bytes needed for the activation buffers of k values (q, its bytes, its reordered copy
/// and the per-block fields together).
size_t ck_int16_activation_bytes(int64_t k);
/// Lays out the buffers of `activation` in `memory` (ck_int16_activation_bytes(k) bytes,
/// 64-byte aligned) and quantizes x into them (with AVX-512 where `isa` allows it; the
/// integers are the same either way).
void ck_int16_quantize(ck_isa isa, const float *x, int64_t k, void *memory, ck_int16_activation *activation);

/// An activation vector rounded to f16 for the f16- and bf16-weight kernel (ck_matvec_half): the
/// values are x · 2^s rounded to nearest even, with s chosen so that the largest
/// magnitude lies in [2^14, 2^15) (s = 0 if x has an infinity or a NaN); a dot product
/// with them is multiplied by `unscale` = 2^-s.
typedef struct {
    uint16_t *values; // k f16 values
    float unscale;
    int64_t k;
} ck_half_activation;

/// Bytes for the values of an f16 activation of k values (a multiple of 64).
size_t ck_half_activation_bytes(int64_t k);
/// Rounds x to f16 into `memory` (ck_half_activation_bytes(k) bytes) and describes it in
/// `activation`; the same values with every instruction set.
void ck_half_convert(ck_isa isa, const float *x, int64_t k, void *memory, ck_half_activation *activation);
/// An activation vector quantized to int8 per block of 32 (scale = max|x| / 127), as
/// llama.cpp quantizes activations to Q8_0 for its integer dot products; with the
/// integer sums of each group of 16 quantized values (for offset corrections) and the
/// exact float sums of the original values over each group of 16 (for minimum terms).
typedef struct {
    int8_t *q;       // k values
    float *scale;    // k / 32 scales
    int32_t *qsum16; // k / 16 sums of q
    float *sum16;    // k / 16 sums of the original values
    float *qsum32;   // k / 32: scale × the sum of q over the block (offset corrections)
    float *sum32;    // k / 32 sums of the original values (minimum terms)
    int64_t k;
} ck_int8_activation;

size_t ck_int8_activation_bytes(int64_t k);
void ck_int8_quantize(ck_isa isa, const float *x, int64_t k, void *memory, ck_int8_activation *activation);

// MARK: The kernel table (KernelTable.c)

/// The precision the activations of a matrix–vector product are given in; each has its
/// own activation format and quantizer: f32 rows (`const float *`, rows k apart), f16
/// (ck_half_convert, an array of ck_half_activation), int16 per block of 32
/// (ck_int16_quantize, ck_int16_activation) and int8 per block of 32 (ck_int8_quantize,
/// ck_int8_activation).
typedef enum {
    CK_ACT_F32 = 0,
    CK_ACT_F16 = 1,
    CK_ACT_INT16 = 2,
    CK_ACT_INT8 = 3,
} ck_activation;
enum { CK_ACTIVATION_COUNT = 4, CK_ISA_COUNT = 3 };

/// The settings a matrix–vector kernel may read from its `options` argument (the others
/// ignore them; the results are the same either way).
enum {
    /// Prefetch every weight row 2 KiB ahead into all cache levels; without it the int16
    /// kernels prefetch only rows of 4096 values and more, non-temporally, and the others
    /// do not prefetch.
    CK_OPTION_PREFETCH = 1,
    /// Two blocks of 32 per 512-bit register instead of one per 256-bit register (the
    /// same integer sums, their scaled sums added in another order).
    CK_OPTION_BLOCK_PAIRS = 2,
};

/// y[j * y_stride + r] = dot(row r of the weight, x_j) for rows r in [row_begin, row_end)
/// and the x_count activation rows x_j: `weight` points at row 0, rows are `row_bytes`
/// apart and hold `k` values; `x` is in the format of the kernel's ck_activation. Each
/// weight row is read once and used for every activation row while it is in the cache.
typedef void (*ck_matvec_kernel)(ck_type type, const void *weight, size_t row_bytes, int64_t k, const void *x,
                                 int64_t x_count, float *y, int64_t y_stride, int64_t row_begin, int64_t row_end,
                                 int options);
/// Prompt processing in int16 integer tiles: y[j * y_stride + r] = dot(weight row r,
/// activation row j) for r in [row_begin, row_end) and the x_count activation rows packed
/// by ck_int16_pack_activations; `scratch` is ck_int16_gemm_scratch_bytes(k) bytes of this
/// call's own.
typedef void (*ck_gemm_kernel)(ck_type type, const void *weight, size_t row_bytes, int64_t k, const void *packed_x,
                               int64_t x_count, float *y, int64_t y_stride, int64_t row_begin, int64_t row_end,
                               void *scratch);
/// Decodes weight rows [row_begin, row_end) into `dst` (row-major, k floats per row,
/// starting at row_begin's).
typedef void (*ck_dequantize_kernel)(ck_type type, const void *weight, size_t row_bytes, int64_t k, float *dst,
                                     int64_t row_begin, int64_t row_end);

/// A matrix–vector kernel and the CK_OPTION_ bits it reads.
typedef struct {
    ck_matvec_kernel kernel;  // NULL where there is none
    int options;
} ck_matvec_entry;

/// The block layout of `type` (CK_BLOCK_LAYOUTS in BlockLayouts.h, its one definition):
/// values and bytes per block; returns the type's name ("q4_K"), or NULL for a number
/// that is no type.
const char *ck_block_layout(ck_type type, int32_t *values, int32_t *bytes);

/// The table's entries, each for the code written for exactly `isa`: the matrix–vector
/// kernel of `type` with `activation` activations, the integer matrix–matrix kernel and
/// the row dequantizer (NULL where there is none).
ck_matvec_entry ck_matvec_kernel_at(ck_type type, ck_activation activation, ck_isa isa);
ck_gemm_kernel ck_gemm_kernel_at(ck_type type, ck_isa isa);
ck_dequantize_kernel ck_dequantize_kernel_at(ck_type type, ck_isa isa);
/// The instruction sets the activation quantizer of `activation` has code for, as bits
/// 1 << isa (every precision has portable code; CK_ACT_F32 needs no quantizer).
int ck_quantizer_isas(ck_activation activation);
/// Whether this processor runs the code written for `isa` for kernels of `activation`
/// (with `gemm`, for the integer matrix–matrix tiles): the AVX-512 integer kernels need
/// VNNI besides AVX-512 F/BW/VL.
int ck_processor_runs(ck_isa isa, ck_activation activation, int gemm);

/// The kernel to run for `type` with `activation` activations when instruction sets up
/// to `allowed` may be used: the table's entry of the highest instruction set at most
/// `allowed` that this processor runs, whose instruction set goes to *isa (a NULL kernel
/// where there is none).
ck_matvec_entry ck_resolve_matvec(ck_type type, ck_activation activation, ck_isa allowed, ck_isa *isa);
/// The same for the integer matrix–matrix kernel and the row dequantizer (every type has
/// a portable dequantizer).
ck_gemm_kernel ck_resolve_gemm(ck_type type, ck_isa allowed, ck_isa *isa);
ck_dequantize_kernel ck_resolve_dequantize(ck_type type, ck_isa allowed, ck_isa *isa);

// MARK: Integer matrix–matrix products (Int16Gemm.c)

/// The integer tiles (ck_gemm_kernel) compute in the precision of the int16 decode
/// kernels: activation rows and weight rows are packed so that one 512-bit vpdpwssd
/// advances 16 blocks, in 4 × 3 tiles; with AVX2, 256-bit vpmaddwd and vpaddd advance 8
/// blocks, in 3 × 3 tiles.
/// Bytes of one packed row of k values (k a multiple of 32).
size_t ck_int16_packed_row_bytes(int64_t k);
/// The activation rows the packed buffer must hold for `rows` rows (a multiple of the tile width).
int64_t ck_int16_gemm_padded_rows(int64_t rows);
/// Quantizes `rows` rows of k floats at x to int16 per block of 32 and packs them into
/// `packed` (padded_rows × ck_int16_packed_row_bytes(k) bytes; rows past `rows` are zero),
/// with the best of AVX-512, AVX2 and portable C that `isa` allows (the same integers).
void ck_int16_pack_activations(ck_isa isa, const float *x, int64_t k, int64_t rows, int64_t padded_rows, void *packed);
/// Scratch bytes one ck_gemm_int16 call needs for its panel of packed weight rows.
size_t ck_int16_gemm_scratch_bytes(int64_t k);

/// Attention of prompts over an f32 cache without an additive mask, 16 queries of one
/// head per task with AVX-512, or two blocks of 8 with AVX2 (the queries in the vector
/// lanes, an online softmax): available where ck_has_block_attention is true. Tasks [task_begin, task_end) of the
/// ck_block_attention_tasks(n_queries, n_heads) are head-major; `scratch` holds
/// ck_block_attention_scratch_floats(head_dim) floats of this call's own. The arguments
/// mean what they mean for ck_attention.
int ck_has_block_attention(ck_isa isa);
int64_t ck_block_attention_tasks(int64_t n_queries, int64_t n_heads);
size_t ck_block_attention_scratch_floats(int64_t head_dim);
void ck_block_attention(ck_isa isa, const float *q, int64_t n_queries, int64_t n_heads, int64_t head_dim, const float *keys,
                        const float *values, int64_t n_keys, int64_t n_kv_heads, int causal, int64_t first_position,
                        int64_t window, float scale, float *out, int64_t task_begin, int64_t task_end, float *scratch);

/// Attention for heads × queries tasks [task_begin, task_end) (task = head * n_queries + query).
///
/// q: [n_queries, n_heads, head_dim] f32; keys, values: [n_keys, n_kv_heads, head_dim] of
/// kv_type (CK_F32 or CK_F16); out: like q. Query i sits at position first_position + i.
/// With causal != 0 it sees keys j <= first_position + i and, with window > 0, only those
/// with first_position + i - j < window. mask (may be NULL): [n_queries, n_keys] added to
/// the scaled scores. scratch: n_keys floats for this thread.
void ck_attention(ck_isa isa, const float *q, int64_t n_queries, int64_t n_heads, int64_t head_dim,
                  const void *keys, const void *values, ck_type kv_type, int64_t n_keys, int64_t n_kv_heads,
                  int causal, int64_t first_position, int64_t window, const float *mask, float scale,
                  float *out, int64_t task_begin, int64_t task_end, float *scratch);

/// Turns rows [row_begin, row_end) of scores ([n_queries, n_keys], already scaled) into
/// attention weights: the keys query i may not see (the visibility rule of ck_attention)
/// become 0, mask (may be NULL, [n_queries, n_keys]) is added, and the rest goes through
/// a softmax. A row with nothing visible becomes zeros.
void ck_attention_softmax_rows(float *scores, int64_t n_keys, int causal, int64_t first_position, int64_t window,
                               const float *mask, int64_t row_begin, int64_t row_end);

/// RMSNorm of rows [row_begin, row_end) of x (rows of n floats): y = x / sqrt(mean(x²) + eps) * w.
void ck_rms_norm(const float *x, const float *w, float *y, int64_t n, float eps, int64_t row_begin, int64_t row_end);

/// RoPE of tokens [token_begin, token_end) of x ([tokens, heads, head_dim], in place into y):
/// pair i of a head turns by position / scale * base^(-2i/dims); layout 0 pairs
/// (2i, 2i+1), layout 1 pairs (i, i + dims/2). `frequencies` holds dims/2 floats.
void ck_rope(const float *x, float *y, const int64_t *positions, int64_t heads, int64_t head_dim, int64_t dims,
             const float *frequencies, float position_scale, int layout, int64_t token_begin, int64_t token_end);

/// y[i] = f(gate[i]) * up[i] for i in [begin, end), f = SiLU (function 0) or tanh-GELU (1).
void ck_gated_activation(const float *gate, const float *up, float *y, int function, int64_t begin, int64_t end);

/// The sum of n floats (a read-bandwidth probe).
float ck_sum(const float *x, int64_t n);

/// A pool of worker threads that wait by spinning briefly before sleeping, so that
/// the many short parallel loops of a forward pass (hundreds per token) start without
/// a system call each.
typedef struct ck_pool ck_pool;

/// The work of one parallel loop: called with [begin, end) of the iterations and the index
/// of the thread running them (0 ..< threads). A thread may be called for several ranges
/// of one loop, one after another; two calls with the same index never overlap in time.
typedef void (*ck_task)(void *context, int chunk, int64_t begin, int64_t end);

/// A pool whose parallel loops run on `threads` threads (the caller and threads − 1 workers).
ck_pool *ck_pool_create(int threads);
void ck_pool_destroy(ck_pool *pool);
/// Splits [0, count) into contiguous pieces, which the threads claim in order as they
/// become free — each the rows left divided by twice the thread count, at least
/// count / (32 · threads) rows, so large pieces first and small ones at the end — and runs
/// `task` on all of them; returns when all are done. Calls from several threads at once
/// are serialised.
void ck_pool_run(ck_pool *pool, int64_t count, ck_task task, void *context);
/// Makes the workers sleep now rather than spin waiting for the next loop: call it before
/// work that runs on other threads (an OpenBLAS call), so idle workers do not take
/// cores from it. The next ck_pool_run wakes them.
void ck_pool_park(ck_pool *pool);


#ifdef __cplusplus
}
#endif

#endif
