// What the processor supports, detected once. Which instruction set a kernel call may
// use is the caller's choice (the `isa` argument of the kernels); these facts only cap it.
// What to do with them on which processor is ProcessorPolicy.c's business.

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
    return (avx2 ? CK_CPU_AVX2 : 0) | (avx512 ? CK_CPU_AVX512 : 0) | (vnni ? CK_CPU_VNNI : 0) | (amd ? CK_CPU_AMD : 0) |
           (amd && family() >= 0x1A ? CK_CPU_AMD_ZEN5_OR_LATER : 0);
}

static int features(void) {
    // A fact about the hardware, the same for every caller. Threads may detect it at the
    // same time; atomic accesses make that a benign repeat rather than a data race.
    static int cached = -1;
    int value = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (value < 0) {
        value = detect();
        __atomic_store_n(&cached, value, __ATOMIC_RELAXED);
    }
    return value;
}
#else
static int features(void) { return 0; }
#endif

ck_isa ck_detected_isa(void) {
    const int f = features();
    return (f & CK_CPU_AVX512) ? CK_ISA_AVX512 : (f & CK_CPU_AVX2) ? CK_ISA_AVX2 : CK_ISA_PORTABLE;
}

int ck_use_avx2(ck_isa allowed) { return allowed >= CK_ISA_AVX2 && (features() & CK_CPU_AVX2); }
int ck_use_avx512(ck_isa allowed) { return allowed >= CK_ISA_AVX512 && (features() & CK_CPU_AVX512); }
int ck_use_avx512_vnni(ck_isa allowed) { return allowed >= CK_ISA_AVX512 && (features() & CK_CPU_VNNI); }

int ck_cpu_features(void) { return features(); }

const char *ck_isa_name(ck_isa isa) {
    switch (isa) {
    case CK_ISA_AVX512: return "avx512";
    case CK_ISA_AVX2: return "avx2";
    default: return "portable";
    }
}
