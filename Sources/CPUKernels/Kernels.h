// Internal declarations shared by the kernel files.
#ifndef CK_KERNELS_H
#define CK_KERNELS_H

#include "CPUKernels.h"

typedef void (*ck_block_decoder)(const uint8_t *block, float *values);

int ck_block_length(ck_type type);
int ck_block_bytes(ck_type type);
/// The block decoder of a quantized type (0 for the float types).
ck_block_decoder ck_decoder(ck_type type);

/// Whether a kernel allowed to use `allowed` may use AVX2+FMA+F16C, AVX-512 (F, BW, VL),
/// or AVX-512 with VNNI, on this processor.
int ck_use_avx2(ck_isa allowed);
int ck_use_avx512(ck_isa allowed);
int ck_use_avx512_vnni(ck_isa allowed);

#endif
