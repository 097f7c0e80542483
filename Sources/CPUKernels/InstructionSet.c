// What the processor supports, detected once. Which instruction set a kernel call may
// use is the caller's choice (the `isa` argument of the kernels); these facts only cap it.

#include "CPUKernels.h"
#include "Kernels.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
static int detect(void) {
    __builtin_cpu_init();
    const int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    const int avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                       __builtin_cpu_supports("avx512vl");
    const int vnni = avx512 && __builtin_cpu_supports("avx512vnni");
    return (avx2 ? 1 : 0) | (avx512 ? 2 : 0) | (vnni ? 4 : 0);
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

const char *ck_isa_name(ck_isa isa) {
    switch (isa) {
    case CK_ISA_AVX512: return "avx512";
    case CK_ISA_AVX2: return "avx2";
    default: return "portable";
    }
}
