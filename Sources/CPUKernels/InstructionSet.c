// What the processor supports, detected once. Which instruction set a kernel call may
// use is the caller's choice (the `isa` argument of the kernels); these facts only cap it.

#include "CPUKernels.h"
#include "Kernels.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <cpuid.h>
#include <string.h>

/// Whether CPUID names the vendor AMD ("AuthenticAMD").
static int is_amd(void) {
    unsigned int highest, ebx, ecx, edx;
    if (!__get_cpuid(0, &highest, &ebx, &ecx, &edx)) return 0;
    char vendor[12];
    memcpy(vendor, &ebx, 4);
    memcpy(vendor + 4, &edx, 4);
    memcpy(vendor + 8, &ecx, 4);
    return memcmp(vendor, "AuthenticAMD", 12) == 0;
}

/// The processor's family as CPUID leaf 1 reports it (base family, plus the extended family
/// when the base is 15): 25 (0x19) for AMD's Zen 3 and Zen 4, 26 (0x1A) for Zen 5.
static unsigned int family(void) {
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    const unsigned int base = (eax >> 8) & 0xF;
    return base == 0xF ? base + ((eax >> 20) & 0xFF) : base;
}

static int detect(void) {
    __builtin_cpu_init();
    const int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    const int avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                       __builtin_cpu_supports("avx512vl");
    const int vnni = avx512 && __builtin_cpu_supports("avx512vnni");
    const int amd = is_amd();
    return (avx2 ? 1 : 0) | (avx512 ? 2 : 0) | (vnni ? 4 : 0) | (amd ? 8 : 0) | (amd && family() >= 0x1A ? 16 : 0);
}

static int features(void) {
    static int cached = -1;  // a fact about the hardware; the same for every caller
    if (cached < 0) cached = detect();
    return cached;
}
#else
static int features(void) { return 0; }
#endif

ck_isa ck_detected_isa(void) {
    const int f = features();
    return (f & 2) ? CK_ISA_AVX512 : (f & 1) ? CK_ISA_AVX2 : CK_ISA_PORTABLE;
}

int ck_use_avx2(ck_isa allowed) { return allowed >= CK_ISA_AVX2 && (features() & 1); }
int ck_use_avx512(ck_isa allowed) { return allowed >= CK_ISA_AVX512 && (features() & 2); }
int ck_use_avx512_vnni(ck_isa allowed) { return allowed >= CK_ISA_AVX512 && (features() & 4); }

// Measured (TinyLlama F16 decode and `llama bench-matvec`, 2 threads, from memory): on
// AMD Zen 4 the f16 activations let f16 rows stream at up to 48-54 GB/s where f32 ones
// capped them at 33-37 (tg32 14.4 -> 16.6 tokens/s); on an Intel Xeon (Emerald Rapids)
// the same change made F16 decode slower (tg32 7.5-8.6 with f32 activations against
// 6.8-7.5), since widening the f16 activation costs a shuffle-port operation per 16
// values there, and bf16 rows read 17.7 GB/s against 19.2 (medians of 3). Without AVX2 the half kernel
// is plain C and converts every activation value.
int ck_half_activations_are_faster(void) { return (features() & 8) && (features() & 1); }

/// AVX-512 on a processor that is not AMD's before family 0x1A: where the 512-bit units
/// are full width (Intel's, Zen 5), unlike Zen 4's, which take two 256-bit halves.
static int avx512_outside_older_amd(void) { return (features() & 2) && (!(features() & 8) || (features() & 16)); }

// See ck_prefetch_ahead and ck_prefetch_weights in Kernels.h and Documentation/Performance.md
// for the measurements: faster on an Intel Xeon (Emerald Rapids) and an AMD EPYC of the
// Zen 5 generation (family 0x1A: TinyLlama F32 tg32 11.5 -> 13.9 tokens/s, medians of 4
// alternating runs); on AMD's Zen 4 (family 0x19) level or slower (F32 tg32 7.64 against
// 7.86 without, F16 16.62 against 16.44, medians of 7 alternating runs).
int ck_float_weight_prefetch_is_faster(void) { return avx512_outside_older_amd(); }

// Faster on the Intel Xeon, on Zen 5 level (Q8_0 tg64 36.1 -> 38.5, Q4_0 54.4 / 53.8), and
// on an AMD EPYC of the Zen 4 generation faster too: TinyLlama tg64, 15 alternating runs,
// medians Q8_0 24.7 -> 25.4 t/s (faster in 10 of the 15), Q4_0 34.6 -> 37.3 (11 of 15);
// Q4_K_M level; int8 activations Q8_0 26.1 -> 28.6, Q4_0 37.2 -> 39.3 (5 runs).
int ck_quantized_weight_prefetch_is_faster(void) { return (features() & 2) != 0; }

// Measured on AMD EPYCs (see Documentation/Performance.md): on the Zen 5 generation, with
// full-width 512-bit units, two blocks per register made TinyLlama Q4_0 decode faster
// (tg64 47.9 -> 56.0 t/s); on Zen 4 (family 0x19), whose 512-bit operations take two
// 256-bit halves, it was slower, from L2 (1 thread, 512 x 2048: Q4_0 1.49-1.55 against
// 1.44-1.45 ns per block, Q8_0 1.69-1.87 against 1.52-1.59) and end to end (TinyLlama Q8_0
// tg64 26.0 against 27.7 t/s, medians of 7 alternating runs; Q4_0 level).
int ck_block_pairs_are_faster(void) { return avx512_outside_older_amd(); }

const char *ck_isa_name(ck_isa isa) {
    switch (isa) {
    case CK_ISA_AVX512: return "avx512";
    case CK_ISA_AVX2: return "avx2";
    default: return "portable";
    }
}
