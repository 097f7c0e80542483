// The int8-activation matrix-vector products of Int8Matvec.c (ck_matvec_int8) for x86-64
// processors with AVX2, FMA and F16C but without AVX-512 VNNI (AMD Zen 2 and Zen 3, Intel
// before Ice Lake): the row kernels of Int8RowsTemplate.h with each block's u8 × s8 product taken
// by vpmaddubsw (pairs of products added in int16, exact here: at most 2 · 128 · 127)
// and vpmaddwd by ones (pairs of those added in int32), as llama.cpp does on AVX2.

#include "CPUKernels.h"
#include "Kernels.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include "AVX2BlockHelpers.h"

// MARK: Activation

/// The blocks of ck_int8_quantize with AVX2: the same integers (the values times the same
/// float inverse, rounded to nearest even as lrintf does), the float sums added in
/// another order.
CK_AVX2 void ck_int8_quantize_blocks_avx2(const float *x, ck_int8_activation *a) {
    for (int64_t b = 0; b < a->k / 32; b++) {
        __m256i i[4];
        quantize_block_sums_avx2(x, b, 127.0f, CK_BLOCK_SUM_FIELDS(a), i);
        const __m256i bytes = _mm256_packs_epi16(_mm256_packs_epi32(i[0], i[1]), _mm256_packs_epi32(i[2], i[3]));
        // The packs interleave 32-bit groups of the four vectors: dwords 0, 4, 1, 5, 2, 6, 3, 7.
        _mm256_storeu_si256((__m256i *)(a->q + b * 32), _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
    }
}

// MARK: Rows: Int8RowsTemplate.h with vpmaddubsw + vpmaddwd

/// Σ u8 × s8 over 32 bytes, as 8 int32 partial sums (lane i: bytes 4i … 4i + 3).
CK_AVX2 static inline __m256i dot_u8_s8_avx2(__m256i u, __m256i s) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

#define CK_INT8_TARGET CK_AVX2
#define CK_INT8_NAME(name) name##_avx2
#define int8_dot dot_u8_s8_avx2
#define int8_gather_f16 gather_halves
#define int8_fifth_bits fifth_bit_bytes
#include "Int8RowsTemplate.h"
#undef CK_INT8_TARGET
#undef CK_INT8_NAME
#undef int8_dot
#undef int8_gather_f16
#undef int8_fifth_bits

/// The CK_ACT_INT8 entry point of KernelTable.c for AVX2; reads CK_OPTION_PREFETCH.
CK_AVX2 CK_DEFINE_MATVEC(ck_matvec_int8_avx2, ck_int8_activation, row_avx2(type, row, activation, (options & CK_OPTION_PREFETCH) != 0))

#endif
