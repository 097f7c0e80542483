// OpenBLAS builds for many processors at once (DYNAMIC_ARCH, as Debian's and most
// distributions' are) choose their kernels when the library loads, from the processor's
// CPUID family and model. A build older than the processor does not know its model and
// falls back to its "Prescott" kernels (SSE3, 4 floats per instruction): Debian 12's
// OpenBLAS 0.3.21 on an Intel Xeon of the Emerald Rapids generation (family 6, model
// 207) ran `sgemm` several times slower that way than with its own SkylakeX (AVX-512)
// kernels, which it would take for the older Xeons.
//
// ck_openblas_replace_fallback_core asks such a library to choose again, through
// OpenBLAS's own mechanism: it sets OPENBLAS_CORETYPE (the variable OpenBLAS documents
// for choosing the kernels) for the moment of the call and re-runs OpenBLAS's dynamic
// initialisation (gotoblas_dynamic_quit / gotoblas_dynamic_init, which the library
// exports). It does nothing when OPENBLAS_CORETYPE is already set (the user's choice),
// when OpenBLAS runs anything but the Prescott fallback, when the processor has neither
// AVX-512 (F, CD, BW, DQ, VL: OpenBLAS's SkylakeX) nor AVX2 with FMA (Haswell), or when
// the library is not a dynamic build (the symbols are looked up at run time, so any
// OpenBLAS links). setenv and unsetenv are not safe against other threads reading the
// environment at the same moment, so the call belongs at start-up (the first BLAS
// backend of a process).

#define _GNU_SOURCE  // RTLD_DEFAULT in glibc's dlfcn.h
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "CPUKernels.h"

#if (defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))) && !defined(_WIN32)
#include <dlfcn.h>
#include <pthread.h>

const char *ck_openblas_core(void) {
    char *(*corename)(void) = (char *(*)(void))dlsym(RTLD_DEFAULT, "openblas_get_corename");
    return corename ? corename() : NULL;
}

/// OpenBLAS's name for the best kernels this processor can run, or NULL.
static const char *best_core(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")) return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
    return NULL;
}

static void replace_once(void) {
    if (getenv("OPENBLAS_CORETYPE")) return;
    const char *current = ck_openblas_core();
    if (!current || strcmp(current, "Prescott") != 0) return;
    const char *target = best_core();
    void (*quit)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "gotoblas_dynamic_quit");
    void (*init)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "gotoblas_dynamic_init");
    if (!target || !quit || !init) return;
    setenv("OPENBLAS_CORETYPE", target, 0);
    quit();
    init();
    unsetenv("OPENBLAS_CORETYPE");
}

void ck_openblas_replace_fallback_core(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, replace_once);
}
#else
const char *ck_openblas_core(void) { return NULL; }
void ck_openblas_replace_fallback_core(void) {}
#endif
