/// One block-quantized element type: how a block of ``blockLength`` values is laid
/// out in ``blockByteCount`` bytes, and how to turn it back into `Float`s.
///
/// Each format is a caseless enum with static functions so that the compiler can
/// specialise the row loops in ``RowCodec`` for it. Block bytes are read with
/// unaligned little-endian loads: a block inside a memory-mapped GGUF file has no
/// alignment beyond one byte.
public protocol BlockFormat {
    /// The element type this format implements.
    static var elementType: ElementType { get }
    /// Writes the `elementType.blockLength` values of the block at `block` to `values`.
    static func decode(block: UnsafeRawPointer, into values: UnsafeMutablePointer<Float>)
}

/// A block format that can also be produced from `Float` values.
public protocol EncodableBlockFormat: BlockFormat {
    /// Quantizes `elementType.blockLength` values into one block at `block`.
    ///
    /// The arithmetic follows ggml's reference quantizers (`quantize_row_*_ref` in
    /// `ggml-quants.c`; for the 32-value types also the `gguf` Python package's
    /// `gguf.quants`, which is bit-exact with them) operation by operation, so blocks
    /// produced here are byte-identical to theirs up to the fused multiply-adds a C
    /// compiler may introduce.
    static func encode(_ values: UnsafePointer<Float>, into block: UnsafeMutableRawPointer)

    /// Quantizes one block with an importance matrix: `importance` holds, for each of the
    /// block's values, the mean squared activation of its input column (llama.cpp's
    /// `imatrix`), and the rounding error of a value counts in proportion to it.
    /// `rowMeanSquare` is the mean of the squares of the whole row's values, which the
    /// 32-value types weigh in. Byte-identical to ggml's `quantize_row_*_impl`; a type
    /// ggml quantizes without the matrix (`q8_0`) ignores it.
    static func encode(
        _ values: UnsafePointer<Float>, importance: UnsafePointer<Float>, rowMeanSquare: Float, into block: UnsafeMutableRawPointer)
}

extension EncodableBlockFormat {
    @inlinable
    public static func encode(
        _ values: UnsafePointer<Float>, importance: UnsafePointer<Float>, rowMeanSquare: Float, into block: UnsafeMutableRawPointer
    ) {
        encode(values, into: block)
    }
}

extension BlockFormat {
    /// Values per block.
    @inlinable public static var blockLength: Int { elementType.blockLength }
    /// Bytes per block.
    @inlinable public static var blockByteCount: Int { elementType.blockByteCount }
}

extension UnsafeRawPointer {
    /// The f16 at `offset` bytes, widened to `Float`.
    @inlinable
    func loadF16(at offset: Int) -> Float {
        HalfPrecision.float(fromF16: UInt16(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }

    /// The byte at `offset`.
    @inlinable
    func loadByte(at offset: Int) -> UInt8 {
        load(fromByteOffset: offset, as: UInt8.self)
    }
}

extension UnsafeMutableRawPointer {
    /// Stores `value` as a little-endian f16 at `offset` bytes.
    @inlinable
    func storeF16(_ value: Float, at offset: Int) {
        storeBytes(of: HalfPrecision.f16Bits(from: value).littleEndian, toByteOffset: offset, as: UInt16.self)
    }
}

/// The rounding of NumPy's `np_roundf` in `gguf.quants` (and C's `roundf`):
/// to nearest, ties away from zero.
@inlinable
func roundHalfAwayFromZero(_ x: Float) -> Float {
    x.rounded(.toNearestOrAwayFromZero)
}

/// The largest-magnitude value of a block, with its sign; the first one wins a tie
/// (NumPy's `argmax` and ggml's loop both keep the first).
@inlinable
func signedMaximumMagnitude(_ values: UnsafePointer<Float>, count: Int) -> Float {
    var best: Float = 0
    var bestMagnitude: Float = 0
    for i in 0..<count where abs(values[i]) > bestMagnitude {
        bestMagnitude = abs(values[i])
        best = values[i]
    }
    return best
}

/// `x` truncated toward zero and clamped to `0...limit`, the `np.trunc(…).astype(np.uint8).clip(0, limit)`
/// of `gguf.quants`; NaN (from non-finite input) becomes 0 instead of trapping.
@inlinable
func truncatedLevel(_ x: Float, limit: UInt8) -> UInt8 {
    guard !x.isNaN else { return 0 }
    return UInt8(Swift.max(0, Swift.min(Float(limit), x.rounded(.towardZero))))
}

/// `x` rounded half away from zero and clamped to the range of `Int8`; NaN becomes 0.
@inlinable
func roundedInt8(_ x: Float) -> Int8 {
    guard !x.isNaN else { return 0 }
    return Int8(Swift.max(-128, Swift.min(127, roundHalfAwayFromZero(x))))
}

/// The reciprocal of a block scale, or zero for a zero scale (as `gguf.quants` does).
@inlinable
func inverseScale(_ d: Float) -> Float {
    d == 0 ? 0 : 1 / d
}
