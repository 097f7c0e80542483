// A small thread pool for the backend's parallel loops. Workers spin on a generation
// counter for a short while (about 50 µs) after finishing a loop, because the next
// loop of a forward pass usually follows within microseconds; then they sleep on a
// condition variable. The calling thread takes pieces of the loop like the workers. Before handing the
// cores to another library's threads (OpenBLAS), the caller parks the workers: they
// stop spinning at once instead of competing for the cores.

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "CPUKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define CK_PAUSE() _mm_pause()
#elif defined(__aarch64__)
#define CK_PAUSE() __asm__ __volatile__("yield")
#else
#define CK_PAUSE() ((void)0)
#endif

enum { SPIN_ITERATIONS = 20000 };

struct ck_pool {
    int threads;
    pthread_t *workers;
    pthread_mutex_t lock;        // protects sleeping and the condition
    pthread_cond_t wake;
    pthread_mutex_t submit;      // one loop at a time
    _Atomic uint64_t generation; // bumped for every loop
    _Atomic uint64_t parked;     // workers that have run this loop sleep instead of spinning
    _Atomic int pending;         // workers still running the current loop
    _Atomic int stop;
    ck_task task;
    void *context;
    int64_t count;
    int64_t pieces;               // the loop's pieces
    _Atomic int64_t next_piece;   // the next piece to take
};

enum { PIECES_PER_THREAD = 4 };

typedef struct { ck_pool *pool; int index; } worker_start;

/// Runs pieces of the current loop on thread `index` until none is left. A loop is cut
/// into up to PIECES_PER_THREAD pieces per thread, taken in order from a shared counter,
/// so a thread slowed by anything (another process on its core, a cache miss storm)
/// takes fewer pieces instead of making the others wait at the end.
static void run_chunk(ck_pool *pool, int index) {
    for (;;) {
        const int64_t piece = atomic_fetch_add_explicit(&pool->next_piece, 1, memory_order_relaxed);
        if (piece >= pool->pieces) return;
        const int64_t begin = pool->count * piece / pool->pieces;
        const int64_t end = pool->count * (piece + 1) / pool->pieces;
        if (begin < end) pool->task(pool->context, index, begin, end);
    }
}

static void *worker_main(void *argument) {
    worker_start start = *(worker_start *)argument;
    free(argument);
    ck_pool *pool = start.pool;
    // Loops are numbered from 1; starting from 0 (not from the counter's value when the
    // thread happens to start) means a loop submitted before this thread ran is not missed.
    uint64_t seen = 0;
    for (;;) {
        uint64_t current;
        int spins = 0;
        while ((current = atomic_load_explicit(&pool->generation, memory_order_acquire)) == seen) {
            if (atomic_load_explicit(&pool->stop, memory_order_acquire)) return NULL;
            if (++spins < SPIN_ITERATIONS && atomic_load_explicit(&pool->parked, memory_order_relaxed) != seen) {
                CK_PAUSE();
                continue;
            }
            pthread_mutex_lock(&pool->lock);
            while (atomic_load_explicit(&pool->generation, memory_order_acquire) == seen &&
                   !atomic_load_explicit(&pool->stop, memory_order_acquire)) {
                pthread_cond_wait(&pool->wake, &pool->lock);
            }
            pthread_mutex_unlock(&pool->lock);
            spins = 0;
        }
        seen = current;
        run_chunk(pool, start.index);
        atomic_fetch_sub_explicit(&pool->pending, 1, memory_order_acq_rel);
    }
}

ck_pool *ck_pool_create(int threads) {
    ck_pool *pool = calloc(1, sizeof(ck_pool));
    if (!pool) return NULL;
    pool->threads = threads < 1 ? 1 : threads;
    pthread_mutex_init(&pool->lock, NULL);
    pthread_mutex_init(&pool->submit, NULL);
    pthread_cond_init(&pool->wake, NULL);
    atomic_init(&pool->generation, 0);
    atomic_init(&pool->parked, UINT64_MAX);
    atomic_init(&pool->pending, 0);
    atomic_init(&pool->stop, 0);
    pool->workers = calloc((size_t)pool->threads, sizeof(pthread_t));
    for (int i = 1; i < pool->threads; i++) {
        worker_start *start = malloc(sizeof(worker_start));
        start->pool = pool;
        start->index = i;
        pthread_create(&pool->workers[i], NULL, worker_main, start);
    }
    return pool;
}

void ck_pool_destroy(ck_pool *pool) {
    if (!pool) return;
    atomic_store_explicit(&pool->stop, 1, memory_order_release);
    pthread_mutex_lock(&pool->lock);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    for (int i = 1; i < pool->threads; i++) pthread_join(pool->workers[i], NULL);
    pthread_cond_destroy(&pool->wake);
    pthread_mutex_destroy(&pool->lock);
    pthread_mutex_destroy(&pool->submit);
    free(pool->workers);
    free(pool);
}

void ck_pool_run(ck_pool *pool, int64_t count, ck_task task, void *context) {
    if (pool->threads == 1 || count <= 1) {
        if (count > 0) task(context, 0, 0, count);
        return;
    }
    pthread_mutex_lock(&pool->submit);
    pool->task = task;
    pool->context = context;
    pool->count = count;
    const int64_t pieces = (int64_t)pool->threads * PIECES_PER_THREAD;
    pool->pieces = count < pieces ? count : pieces;
    atomic_store_explicit(&pool->next_piece, 0, memory_order_relaxed);
    atomic_store_explicit(&pool->pending, pool->threads - 1, memory_order_release);
    pthread_mutex_lock(&pool->lock);
    atomic_fetch_add_explicit(&pool->generation, 1, memory_order_acq_rel);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    run_chunk(pool, 0);
    while (atomic_load_explicit(&pool->pending, memory_order_acquire) > 0) CK_PAUSE();
    pthread_mutex_unlock(&pool->submit);
}

void ck_pool_park(ck_pool *pool) {
    atomic_store_explicit(&pool->parked, atomic_load_explicit(&pool->generation, memory_order_acquire),
                          memory_order_relaxed);
}
