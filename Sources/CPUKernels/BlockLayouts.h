// The one definition of every element type's block: its name, how many values a block
// holds and how many bytes it takes (one value for the float types). Everything else
// that needs a block's size is generated from this list: ck_block_length and
// ck_block_bytes (Kernels.h) and ck_block_layout (KernelTable.c), which a test compares
// with TensorCore's ElementType.
#ifndef CK_BLOCK_LAYOUTS_H
#define CK_BLOCK_LAYOUTS_H

/// X(type, name, values per block, bytes per block): the float types, the 32-value block
/// types, the 256-value K-quant super-blocks.
#define CK_BLOCK_LAYOUTS(X)                                                                                            \
    X(CK_F32, "f32", 1, 4) X(CK_F16, "f16", 1, 2) X(CK_BF16, "bf16", 1, 2)                                             \
    X(CK_Q8_0, "q8_0", 32, 34) X(CK_Q4_0, "q4_0", 32, 18) X(CK_Q4_1, "q4_1", 32, 20) X(CK_Q5_0, "q5_0", 32, 22)        \
    X(CK_Q5_1, "q5_1", 32, 24)                                                                                         \
    X(CK_Q2_K, "q2_K", 256, 84) X(CK_Q3_K, "q3_K", 256, 110) X(CK_Q4_K, "q4_K", 256, 144) X(CK_Q5_K, "q5_K", 256, 176) \
    X(CK_Q6_K, "q6_K", 256, 210) X(CK_Q8_K, "q8_K", 256, 292)

#endif
