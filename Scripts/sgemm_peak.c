// The reference point for prompt processing: how fast OpenBLAS's `sgemm` multiplies a
// prompt-sized matrix on this machine (M = 512 rows of activations, N = K = 4096, the
// weight transposed as the BLAS backend passes it), with the thread count the backend
// would use. Prints each run, then the median and the best, in GFLOP/s (2·M·N·K / time),
// and the kernels OpenBLAS runs.
//
//   cc -O2 Scripts/sgemm_peak.c -o /tmp/sgemm_peak -lopenblas && /tmp/sgemm_peak 2 10
//
// Arguments: threads (default 2), runs after one warm-up (default 10). OpenBLAS reads
// OPENBLAS_CORETYPE as usual, so `OPENBLAS_CORETYPE=SkylakeX /tmp/sgemm_peak` measures
// other kernels.

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <cblas.h>

char *openblas_get_corename(void);
void openblas_set_num_threads(int threads);

static double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int compare(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    const int threads = argc > 1 ? atoi(argv[1]) : 2;
    const int runs = argc > 2 ? atoi(argv[2]) : 10;
    if (threads < 1 || runs < 1 || runs > 1000) {
        fprintf(stderr, "usage: %s [threads >= 1] [runs 1...1000]\n", argv[0]);
        return 1;
    }
    const int m = 512, n = 4096, k = 4096;
    float *a = malloc(sizeof(float) * (size_t)m * k), *w = malloc(sizeof(float) * (size_t)n * k);
    float *c = malloc(sizeof(float) * (size_t)m * n);
    double *rates = malloc(sizeof(double) * (size_t)runs);
    if (!a || !w || !c || !rates) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    srand(1);
    for (size_t i = 0; i < (size_t)m * k; i++) a[i] = (float)rand() / RAND_MAX - 0.5f;
    for (size_t i = 0; i < (size_t)n * k; i++) w[i] = (float)rand() / RAND_MAX - 0.5f;
    openblas_set_num_threads(threads);
    for (int r = -1; r < runs; r++) {
        const double start = seconds();
        // C (m × n) = A (m × k) · Wᵀ, W stored as n rows of k, as a weight matrix.
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, a, k, w, k, 0.0f, c, n);
        const double rate = 2.0 * m * n * k / (seconds() - start) / 1e9;
        if (r >= 0) {
            rates[r] = rate;
            printf("run %d: %.1f GFLOP/s\n", r + 1, rate);
        }
    }
    qsort(rates, (size_t)runs, sizeof(double), compare);
    printf("sgemm M=%d N=%d K=%d, %d threads, OpenBLAS %s: median %.1f GFLOP/s, best %.1f\n", m, n, k, threads,
           openblas_get_corename(), rates[runs / 2], rates[runs - 1]);
    free(a);
    free(w);
    free(c);
    free(rates);
    return 0;
}
