// The row kernels of the int8-activation products (ck_matvec_int8), written once for two
// instruction sets. Each block's unsigned weights (or Q8_0's |w|, with w's sign moved
// onto the activation) meet the activation's int8 values in one u8 × s8 product of 32
// bytes, int8_dot: vpdpbusd where the processor has AVX-512 VNNI (Int8Matvec.c), vpmaddubsw
// and vpmaddwd with AVX2 (Int8MatvecAVX2.c). The sums are exact either way: a pair of
// products in vpmaddubsw's int16 is at most 2 · 128 · 127 = 32512.
//
// The including file defines, before including this once:
//   CK_INT8_TARGET            the functions' target attribute;
//   CK_INT8_NAME(name)        the name of each function here for its instruction set;
//   int8_dot(u, s)            Σ u8 × s8 over 32 bytes as 8 int32 partial sums (lane i:
//                             bytes 4i … 4i + 3);
//   int8_gather_f16(first, stride, offset)
//                             the f16 at byte `offset` of 8 blocks `stride` bytes apart;
//   int8_fifth_bits(qh)       a Q5_0/Q5_1 block's fifth bits as 0x10 in byte j.
// x86-64 only; include inside the files' `#if defined(__x86_64__) ...` sections.

/// The integer dot product of one block of a 32-value type with its activation block.
CK_INT8_TARGET static inline __attribute__((always_inline)) __m256i CK_INT8_NAME(block_products)(ck_type type, const uint8_t *block,
                                                                                             const int8_t *xq) {
    const __m256i x = _mm256_loadu_si256((const __m256i *)xq);
    switch (type) {
    case CK_Q8_0: {
        const __m256i w = _mm256_loadu_si256((const __m256i *)(block + 2));
        return int8_dot(_mm256_abs_epi8(w), _mm256_sign_epi8(x, w));
    }
    case CK_Q4_0: return int8_dot(nibbles(block + 2), x);
    case CK_Q4_1: return int8_dot(nibbles(block + 4), x);
    case CK_Q5_0: return int8_dot(_mm256_or_si256(nibbles(block + 6), int8_fifth_bits(block + 2)), x);
    default: return int8_dot(_mm256_or_si256(nibbles(block + 8), int8_fifth_bits(block + 4)), x);  // Q5_1
    }
}

/// Rows of the 32-value types, eight blocks at a time: the eight block scales are
/// converted and multiplied with the activation scales in one vector, and the offset
/// and minimum terms of the eight blocks are one more multiply-add.
///
/// Σ_b d_b·s_b·(Σ q·x) + offset·Σ_b d_b·s_b·Σx_q (Q4_0: −8, Q5_0: −16) + Σ_b m_b·Σx_b (Q4_1, Q5_1).
CK_INT8_TARGET static inline __attribute__((always_inline)) float CK_INT8_NAME(row_blocks32)(ck_type type, const uint8_t *row,
                                                                                         const ck_int8_activation *a, int prefetch) {
    const ck_block32_kind kind = ck_block32(type, a->k);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps(), acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps();
    __m256 terms = _mm256_setzero_ps();
    int64_t b = 0;
    float scales[8] __attribute__((aligned(32)));
    uintptr_t prefetched = (uintptr_t)row + CK_PREFETCH_DISTANCE;  // the previous row prefetched up to here
#define CK_INT8_BLOCK(acc, i)                                                                                                  \
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(CK_INT8_NAME(block_products)(type, first + (i) * kind.bytes, a->q + (b + (i)) * 32)),  \
                          _mm256_broadcast_ss(scales + (i)), acc)
    for (; b + 8 <= kind.blocks; b += 8) {
        const uint8_t *first = row + b * kind.bytes;
        if (prefetch) ck_prefetch_weights(&prefetched, first + 8 * kind.bytes, 1);
        const __m256 d = int8_gather_f16(first, kind.bytes, 0);
        _mm256_store_ps(scales, _mm256_mul_ps(d, _mm256_loadu_ps(a->scale + b)));
        if (kind.has_minimum) terms = _mm256_fmadd_ps(int8_gather_f16(first, kind.bytes, 2), _mm256_loadu_ps(a->sum32 + b), terms);
        else if (kind.offset != 0) terms = _mm256_fmadd_ps(d, _mm256_loadu_ps(a->qsum32 + b), terms);
        CK_INT8_BLOCK(acc0, 0);
        CK_INT8_BLOCK(acc1, 1);
        CK_INT8_BLOCK(acc2, 2);
        CK_INT8_BLOCK(acc3, 3);
        CK_INT8_BLOCK(acc0, 4);
        CK_INT8_BLOCK(acc1, 5);
        CK_INT8_BLOCK(acc2, 6);
        CK_INT8_BLOCK(acc3, 7);
    }
#undef CK_INT8_BLOCK
    float extra = 0;
    for (; b < kind.blocks; b++) {
        const uint8_t *block = row + b * kind.bytes;
        const float d = f16(block);
        acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(CK_INT8_NAME(block_products)(type, block, a->q + b * 32)), _mm256_set1_ps(d * a->scale[b]),
                               acc0);
        if (kind.has_minimum) extra += f16(block + 2) * a->sum32[b];
        else extra += kind.offset * d * a->qsum32[b];
    }
    const __m256 total = _mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3));
    return hsum(total) + (kind.has_minimum ? 1.0f : kind.offset) * hsum(terms) + extra;
}

/// Q4_K and Q5_K (see k_super_block_scales).
CK_INT8_TARGET static float CK_INT8_NAME(row_q45_k)(int is_q5, const uint8_t *row, const ck_int8_activation *a, int prefetch) {
    __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
    __m256 minimums = _mm256_setzero_ps();
    const int bytes = is_q5 ? 176 : 144, qs_offset = is_q5 ? 48 : 16;
    float scales[8] __attribute__((aligned(32)));
    uintptr_t prefetched = (uintptr_t)row + CK_PREFETCH_DISTANCE;  // the previous row prefetched up to here
    for (int64_t s = 0; s < a->k / 256; s++) {
        const uint8_t *block = row + s * bytes;
        if (prefetch) ck_prefetch_weights(&prefetched, block + bytes, 1);
        minimums = k_super_block_scales(block, a->scale + s * 8, a->sum32 + s * 8, scales, minimums);
        const __m256i qh = is_q5 ? _mm256_loadu_si256((const __m256i *)(block + 16)) : _mm256_setzero_si256();
        for (int pair = 0; pair < 4; pair++) {
            const __m256i packed = _mm256_loadu_si256((const __m256i *)(block + qs_offset + pair * 32));
            for (int half = 0; half < 2; half++) {
                const int g = 2 * pair + half;
                const __m256i x = _mm256_loadu_si256((const __m256i *)(a->q + (s * 8 + g) * 32));
                const __m256i products = int8_dot(k_sub_block(is_q5, packed, qh, g), x);
                acc[half] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(products), _mm256_broadcast_ss(scales + g), acc[half]);
            }
        }
    }
    return hsum(_mm256_add_ps(acc[0], acc[1])) - hsum(minimums);
}

/// Q6_K (see q6_k_group_scales).
CK_INT8_TARGET static float CK_INT8_NAME(row_q6_k)(const uint8_t *row, const ck_int8_activation *a, int prefetch) {
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    __m256 offsets = _mm256_setzero_ps();
    uintptr_t prefetched = (uintptr_t)row + CK_PREFETCH_DISTANCE;  // the previous row prefetched up to here
    for (int64_t s = 0; s < a->k / 256; s++) {
        const uint8_t *block = row + s * 210;
        if (prefetch) ck_prefetch_weights(&prefetched, block + 210, 1);
        for (int half = 0; half < 2; half++) {
            const int64_t b0 = s * 8 + half * 4;  // the half's first activation block of 32
            const __m256 group_scales = q6_k_group_scales(block, half, a->scale + b0, a->qsum16 + 2 * b0, &offsets);
            __m256i parts[4];
            q6_k_sub_blocks(block, half, parts);
            for (int t = 0; t < 4; t++) {
                const __m256i products = int8_dot(parts[t], _mm256_loadu_si256((const __m256i *)(a->q + (b0 + t) * 32)));
                acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(products), q6_k_sub_block_scales(group_scales, t), acc[t]);
            }
        }
    }
    return hsum(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]))) - 32.0f * hsum(offsets);
}

/// One row of any ck_has_int16_kernel type. `prefetch`: prefetch the row into all cache
/// levels (ck_quantized_weight_prefetch_is_faster). Unlike the int16 kernels, these never
/// prefetch long rows non-temporally: with half the activation bytes that gained nothing
/// on Zen 4 (rows of 11008, see Kernels.h).
CK_INT8_TARGET static float CK_INT8_NAME(row)(ck_type type, const uint8_t *row, const ck_int8_activation *a, int prefetch) {
    switch (type) {
    case CK_Q4_K: return CK_INT8_NAME(row_q45_k)(0, row, a, prefetch);
    case CK_Q5_K: return CK_INT8_NAME(row_q45_k)(1, row, a, prefetch);
    case CK_Q6_K: return CK_INT8_NAME(row_q6_k)(row, a, prefetch);
    case CK_Q8_0: return CK_INT8_NAME(row_blocks32)(CK_Q8_0, row, a, prefetch);
    case CK_Q4_0: return CK_INT8_NAME(row_blocks32)(CK_Q4_0, row, a, prefetch);
    case CK_Q4_1: return CK_INT8_NAME(row_blocks32)(CK_Q4_1, row, a, prefetch);
    case CK_Q5_0: return CK_INT8_NAME(row_blocks32)(CK_Q5_0, row, a, prefetch);
    default: return CK_INT8_NAME(row_blocks32)(CK_Q5_1, row, a, prefetch);
    }
}
