// Internal declarations shared by the kernel files.
#ifndef CK_KERNELS_H
#define CK_KERNELS_H

#include "CPUKernels.h"

typedef void (*ck_block_decoder)(const uint8_t *block, float *values);

int ck_block_length(ck_type type);
int ck_block_bytes(ck_type type);
/// The block decoder of a quantized type (0 for the float types).
ck_block_decoder ck_decoder(ck_type type);

#endif
