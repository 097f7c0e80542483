// libFuzzer's own mutator, which a custom mutator calls for the mutations it does not
// make itself. Defined by libFuzzer (linked by -sanitize=fuzzer).
#include <stddef.h>
#include <stdint.h>

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t maxSize);

// Runs libFuzzer with `callback` as the entry point. SwiftPM links an executable with
// its own `main` (the module's top-level code), which would hide libFuzzer's; each
// target's main.swift calls this instead.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
