// The kernel table: for each weight type, which kernels exist for each activation
// precision and instruction set — matrix–vector (ck_matvec_kernel), integer
// matrix–matrix (ck_gemm_kernel) and row dequantizer (ck_dequantize_kernel) — and, for
// each activation precision, which instruction sets its quantizer has code for. It is
// the one place that says so: the BLAS backend resolves its kernels from it once, when
// it is created, and its tests generate their backend variants from it.
//
// Adding a weight type: its block layout in BlockLayouts.h, its kernels in their own
// file (declared in Kernels.h), and a row here. Adding an instruction set: a ck_isa
// value, its kernels in their own files, and a column in the rows that have them.

#include "CPUKernels.h"
#include "Kernels.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define X86(kernel) kernel
#else
#define X86(kernel) 0
#endif

/// One row: the kernels of one weight type. Columns are indexed by ck_isa.
typedef struct {
    ck_type type;
    ck_matvec_entry matvec[CK_ACTIVATION_COUNT][CK_ISA_COUNT];
    ck_gemm_kernel gemm[CK_ISA_COUNT];
    ck_dequantize_kernel dequantize[CK_ISA_COUNT];
} type_kernels;

enum { PREFETCH = CK_OPTION_PREFETCH, PAIRS = CK_OPTION_BLOCK_PAIRS };

// The columns that recur, by activation precision: {portable, AVX2, AVX-512}.
#define F32_ALL {{ck_matvec_f32_portable, 0}, {X86(ck_matvec_f32_avx2), 0}, {X86(ck_matvec_f32_avx512), PREFETCH}}
#define F32_AVX2 {{ck_matvec_f32_portable, 0}, {X86(ck_matvec_f32_avx2), 0}, {0, 0}}
#define F32_PORTABLE {{ck_matvec_f32_portable, 0}, {0, 0}, {0, 0}}
#define F16_ALL {{ck_matvec_f16_portable, 0}, {X86(ck_matvec_f16_avx2), 0}, {X86(ck_matvec_f16_avx512), PREFETCH}}
#define INT16_ALL(avx512_options) \
    {{ck_matvec_int16_portable, 0}, {X86(ck_matvec_int16_avx2), 0}, {X86(ck_matvec_int16_avx512), avx512_options}}
#define INT8_ALL {{ck_matvec_int8_portable, 0}, {X86(ck_matvec_int8_avx2), PREFETCH}, {X86(ck_matvec_int8_avx512), PREFETCH}}
#define GEMM_ALL {0, X86(ck_gemm_int16_avx2), X86(ck_gemm_int16_avx512)}
#define DEQUANTIZE_PORTABLE {ck_dequantize_rows_portable, 0, 0}
#define DEQUANTIZE_AVX2 {ck_dequantize_rows_portable, X86(ck_dequantize_rows_avx2), 0}

/// A block type with int16 and int8 kernels and integer matrix products.
#define INTEGER_TYPE(t, f32_column, int16_avx512_options, dequantize_column)                                           \
    {t, {[CK_ACT_F32] = f32_column, [CK_ACT_INT16] = INT16_ALL(int16_avx512_options), [CK_ACT_INT8] = INT8_ALL}, GEMM_ALL, \
     dequantize_column}

static const type_kernels table[] = {
    {CK_F32, {[CK_ACT_F32] = F32_ALL}, {0}, DEQUANTIZE_PORTABLE},
    {CK_F16, {[CK_ACT_F32] = F32_ALL, [CK_ACT_F16] = F16_ALL}, {0}, DEQUANTIZE_AVX2},
    {CK_BF16, {[CK_ACT_F32] = F32_ALL, [CK_ACT_F16] = F16_ALL}, {0}, DEQUANTIZE_AVX2},
    INTEGER_TYPE(CK_Q8_0, F32_AVX2, PREFETCH | PAIRS, DEQUANTIZE_AVX2),
    INTEGER_TYPE(CK_Q4_0, F32_AVX2, PREFETCH | PAIRS, DEQUANTIZE_AVX2),
    INTEGER_TYPE(CK_Q4_1, F32_PORTABLE, PREFETCH | PAIRS, DEQUANTIZE_PORTABLE),
    INTEGER_TYPE(CK_Q5_0, F32_PORTABLE, PREFETCH, DEQUANTIZE_PORTABLE),
    INTEGER_TYPE(CK_Q5_1, F32_PORTABLE, PREFETCH, DEQUANTIZE_PORTABLE),
    INTEGER_TYPE(CK_Q4_K, F32_PORTABLE, PREFETCH | PAIRS, DEQUANTIZE_PORTABLE),
    INTEGER_TYPE(CK_Q5_K, F32_PORTABLE, PREFETCH, DEQUANTIZE_PORTABLE),
    INTEGER_TYPE(CK_Q6_K, F32_PORTABLE, PREFETCH, DEQUANTIZE_PORTABLE),
    {CK_Q2_K, {[CK_ACT_F32] = F32_PORTABLE}, {0}, DEQUANTIZE_PORTABLE},
    {CK_Q3_K, {[CK_ACT_F32] = F32_PORTABLE}, {0}, DEQUANTIZE_PORTABLE},
    {CK_Q8_K, {[CK_ACT_F32] = F32_PORTABLE}, {0}, DEQUANTIZE_PORTABLE},
};

/// The quantizers' instruction sets, by activation precision (bits 1 << isa):
/// ck_half_convert, ck_int16_quantize (and ck_int16_pack_activations), ck_int8_quantize.
static const int quantizer_isas[CK_ACTIVATION_COUNT] = {
    [CK_ACT_F32] = 1 << CK_ISA_PORTABLE,
    [CK_ACT_F16] = 1 << CK_ISA_PORTABLE | 1 << CK_ISA_AVX2 | 1 << CK_ISA_AVX512,
    [CK_ACT_INT16] = 1 << CK_ISA_PORTABLE | 1 << CK_ISA_AVX2 | 1 << CK_ISA_AVX512,
    [CK_ACT_INT8] = 1 << CK_ISA_PORTABLE | 1 << CK_ISA_AVX2 | 1 << CK_ISA_AVX512,
};

static const type_kernels *row_of(ck_type type) {
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i].type == type) return &table[i];
    return 0;
}

static int valid(ck_activation activation, ck_isa isa) {
    return (unsigned)activation < CK_ACTIVATION_COUNT && (unsigned)isa < CK_ISA_COUNT;
}

const char *ck_block_layout(ck_type type, int32_t *values, int32_t *bytes) {
    switch (type) {
#define CK_BLOCK_LAYOUT_CASE(t, name, length, size) \
    case t: *values = length; *bytes = size; return name;
    CK_BLOCK_LAYOUTS(CK_BLOCK_LAYOUT_CASE)
#undef CK_BLOCK_LAYOUT_CASE
    }
    return 0;
}

ck_matvec_entry ck_matvec_kernel_at(ck_type type, ck_activation activation, ck_isa isa) {
    const type_kernels *row = row_of(type);
    if (!row || !valid(activation, isa)) return (ck_matvec_entry){0, 0};
    return row->matvec[activation][isa];
}

ck_gemm_kernel ck_gemm_kernel_at(ck_type type, ck_isa isa) {
    const type_kernels *row = row_of(type);
    return row && valid(CK_ACT_INT16, isa) ? row->gemm[isa] : 0;
}

ck_dequantize_kernel ck_dequantize_kernel_at(ck_type type, ck_isa isa) {
    const type_kernels *row = row_of(type);
    return row && valid(CK_ACT_F32, isa) ? row->dequantize[isa] : 0;
}

int ck_quantizer_isas(ck_activation activation) { return valid(activation, CK_ISA_PORTABLE) ? quantizer_isas[activation] : 0; }

int ck_processor_runs(ck_isa isa, ck_activation activation, int gemm) {
    switch (isa) {
    case CK_ISA_PORTABLE: return 1;
    case CK_ISA_AVX2: return ck_use_avx2(isa);
    case CK_ISA_AVX512: return gemm || activation == CK_ACT_INT16 || activation == CK_ACT_INT8 ? ck_use_avx512_vnni(isa) : ck_use_avx512(isa);
    }
    return 0;
}

/// The highest instruction set at most `allowed` among `present` (bits 1 << isa) that this
/// processor runs for kernels of `activation` (`gemm`: the matrix–matrix tiles), or −1.
static int best_isa(ck_isa allowed, int present, ck_activation activation, int gemm) {
    for (int i = allowed < CK_ISA_COUNT ? (int)allowed : CK_ISA_COUNT - 1; i >= 0; i--)
        if ((present >> i & 1) && ck_processor_runs((ck_isa)i, activation, gemm)) return i;
    return -1;
}

/// Bits 1 << isa of the instruction sets the table has a kernel of each kind for.
static int matvec_isas(ck_type type, ck_activation activation) {
    int present = 0;
    for (int i = 0; i < CK_ISA_COUNT; i++) present |= (ck_matvec_kernel_at(type, activation, (ck_isa)i).kernel != 0) << i;
    return present;
}
static int gemm_isas(ck_type type) {
    int present = 0;
    for (int i = 0; i < CK_ISA_COUNT; i++) present |= (ck_gemm_kernel_at(type, (ck_isa)i) != 0) << i;
    return present;
}
static int dequantize_isas(ck_type type) {
    int present = 0;
    for (int i = 0; i < CK_ISA_COUNT; i++) present |= (ck_dequantize_kernel_at(type, (ck_isa)i) != 0) << i;
    return present;
}

ck_matvec_entry ck_resolve_matvec(ck_type type, ck_activation activation, ck_isa allowed, ck_isa *isa) {
    const int best = best_isa(allowed, matvec_isas(type, activation), activation, 0);
    return best < 0 ? (ck_matvec_entry){0, 0} : ck_matvec_kernel_at(type, activation, *isa = (ck_isa)best);
}

ck_gemm_kernel ck_resolve_gemm(ck_type type, ck_isa allowed, ck_isa *isa) {
    const int best = best_isa(allowed, gemm_isas(type), CK_ACT_INT16, 1);
    return best < 0 ? 0 : ck_gemm_kernel_at(type, *isa = (ck_isa)best);
}

ck_dequantize_kernel ck_resolve_dequantize(ck_type type, ck_isa allowed, ck_isa *isa) {
    const int best = best_isa(allowed, dequantize_isas(type), CK_ACT_F32, 0);
    return best < 0 ? 0 : ck_dequantize_kernel_at(type, *isa = (ck_isa)best);
}
