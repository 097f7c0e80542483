// Processor policy: which of two equivalent kernel arrangements (the same results) is
// faster on which processor. These rules are the only place where a vendor or a
// processor family changes what runs; the BLAS backend asks them once, when it is
// created, for the defaults of its `auto` options. Each rule states its measured reason
// in words; the figures are in Documentation/Performance.md and the commit messages.

#include "CPUKernels.h"
#include "Kernels.h"

/// AVX-512 on a processor that is not AMD's before family 0x1A: where the 512-bit units
/// are full width (Intel's, Zen 5), unlike Zen 4's, which take two 256-bit halves.
static int avx512_outside_older_amd(void) {
    const int f = ck_cpu_features();
    return (f & CK_CPU_AVX512) && (!(f & CK_CPU_AMD) || (f & CK_CPU_AMD_ZEN5_OR_LATER));
}

// f16 activations for f16 and bf16 weights: AMD processors with AVX2. On AMD Zen 4 the f16
// activation halves the loads that held back the weight stream, and f16 rows were read
// faster and F16 decode measured faster; on an Intel Xeon (Emerald Rapids) widening the
// f16 activation costs a shuffle-port operation per 16 values, and F16 decode and bf16
// rows measured slower. Without AVX2 the half kernel is plain C and converts every value.
int ck_half_activations_are_faster(void) {
    const int f = ck_cpu_features();
    return (f & CK_CPU_AMD) && (f & CK_CPU_AVX2);
}

// The every-row prefetch of the AVX-512 float kernels: measured faster on an Intel Xeon
// (Emerald Rapids) and on an AMD EPYC of the Zen 5 generation (family 0x1A); on AMD's Zen 4
// (family 0x19) level or slower, so off there.
int ck_float_weight_prefetch_is_faster(void) { return avx512_outside_older_amd(); }

// The every-row prefetch of the integer kernels: measured faster on the Intel Xeon and on
// AMD EPYCs of the Zen 4 generation (Q8_0 and Q4_0 decode; Q4_K_M level), level on Zen 5;
// so on wherever there is AVX-512.
int ck_quantized_weight_prefetch_is_faster(void) { return (ck_cpu_features() & CK_CPU_AVX512) != 0; }

// Two blocks per 512-bit register in the int16 kernels: measured faster on an AMD EPYC of
// the Zen 5 generation, with full-width 512-bit units; slower on Zen 4 (family 0x19),
// whose 512-bit operations take two 256-bit halves, from L2 and end to end.
int ck_block_pairs_are_faster(void) { return avx512_outside_older_amd(); }

// Where the integer matrix products overtake the fused matrix–vector kernels: from 6 rows
// with the AVX-512 VNNI tiles; from 16 with the AVX2 ones, whose weight packing costs more
// against their 256-bit products (on Zen 4 with `instruction-set=avx2` they were slower
// than the fused kernels at 6 rows, even at 12 and faster at 24).
int ck_integer_gemm_min_rows(ck_isa gemm_isa) { return gemm_isa == CK_ISA_AVX512 ? 6 : 16; }
