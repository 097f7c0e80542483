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
    int64_t smallest_piece;       // in rows, at least 1
    _Atomic int64_t next_row;     // the first row no thread has taken
};

/// The smallest piece of a loop is 1/(threads · SMALLEST_PIECE_DIVISOR) of its rows.
enum { SMALLEST_PIECE_DIVISOR = 32 };

typedef struct { ck_pool *pool; int index; } worker_start;

/// Runs pieces of the current loop on thread `index` until none is left. Each piece is
/// the rows not yet taken divided by twice the thread count (at least the smallest
/// piece), claimed from a shared counter: large pieces first, so that claims are few,
/// and small ones at the end, so that a thread slowed by anything (another process on
/// its core, a cache-miss storm, a late start) takes less instead of making the others
/// wait for a large last piece. With 2 threads a loop is about 14 pieces and the last
/// is 1/64 of it.
static void run_chunk(ck_pool *pool, int index) {
    const int64_t count = pool->count, divisor = 2 * (int64_t)pool->threads;
    int64_t begin = atomic_load_explicit(&pool->next_row, memory_order_relaxed);
    while (begin < count) {
        int64_t size = (count - begin) / divisor;
        if (size < pool->smallest_piece) size = pool->smallest_piece;
        const int64_t end = count - begin > size ? begin + size : count;
        // On failure `begin` is reloaded with the current counter and the piece recomputed.
        if (!atomic_compare_exchange_weak_explicit(&pool->next_row, &begin, end, memory_order_relaxed,
                                                   memory_order_relaxed)) continue;
        pool->task(pool->context, index, begin, end);
        begin = atomic_load_explicit(&pool->next_row, memory_order_relaxed);
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
    const int64_t smallest = count / ((int64_t)pool->threads * SMALLEST_PIECE_DIVISOR);
    pool->smallest_piece = smallest < 1 ? 1 : smallest;
    atomic_store_explicit(&pool->next_row, 0, memory_order_relaxed);
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
