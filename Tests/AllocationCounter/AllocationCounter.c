#include "AllocationCounter.h"

#include <stddef.h>
#include <stdlib.h>  // defines __GLIBC__ on glibc systems

static _Thread_local int counting;
static _Thread_local long counted;

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define ALLOCATION_COUNTER_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define ALLOCATION_COUNTER_SANITIZED 1
#endif

// Not under AddressSanitizer or ThreadSanitizer: their runtimes intercept malloc
// themselves, and an executable's own malloc takes precedence over the interceptor, so
// the sanitizer would not see the blocks (or, for ThreadSanitizer, the test executable
// crashes while the runtime initialises: its first malloc call lands here before the
// runtime is ready). Counting is then unavailable and the tests that need it are skipped.
#if defined(__linux__) && defined(__GLIBC__) && !defined(ALLOCATION_COUNTER_SANITIZED)

// glibc's own entry points, which its malloc, calloc and realloc are aliases of.
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);

// The executable's definitions come first in the dynamic linker's lookup, so these
// replace the C library's for every library in the process. free is not replaced: the
// blocks are glibc's.
void *malloc(size_t size) {
    if (counting) counted++;
    return __libc_malloc(size);
}

void *calloc(size_t count, size_t size) {
    if (counting) counted++;
    return __libc_calloc(count, size);
}

void *realloc(void *pointer, size_t size) {
    if (counting) counted++;
    return __libc_realloc(pointer, size);
}

int posix_memalign(void **result, size_t alignment, size_t size) {
    if (counting) counted++;
    void *pointer = __libc_memalign(alignment, size);
    if (pointer == NULL) return 12;  // ENOMEM
    *result = pointer;
    return 0;
}

void *aligned_alloc(size_t alignment, size_t size) {
    if (counting) counted++;
    return __libc_memalign(alignment, size);
}

int allocation_counter_is_available(void) { return 1; }

#else

int allocation_counter_is_available(void) { return 0; }

#endif

void allocation_counter_start(void) {
    counted = 0;
    counting = 1;
}

long allocation_counter_stop(void) {
    counting = 0;
    return counted;
}
