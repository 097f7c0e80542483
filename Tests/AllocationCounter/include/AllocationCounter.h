#ifndef ALLOCATION_COUNTER_H
#define ALLOCATION_COUNTER_H

/// Counts the memory blocks the calling thread takes from `malloc`: every Swift object
/// (class instances, array and string buffers, closure contexts, boxes) and every raw
/// allocation (`UnsafeMutableRawPointer.allocate`) ends there. The test executable
/// defines `malloc` itself and passes each call on to the C library's, which the dynamic
/// linker lets it do for the whole process on Linux with glibc. For tests only.

/// Whether counting works on this platform (Linux with glibc, in a build without
/// AddressSanitizer or ThreadSanitizer).
int allocation_counter_is_available(void);

/// Starts counting on the calling thread from zero.
void allocation_counter_start(void);

/// Stops counting on the calling thread and returns the blocks counted since
/// allocation_counter_start.
long allocation_counter_stop(void);

#endif
