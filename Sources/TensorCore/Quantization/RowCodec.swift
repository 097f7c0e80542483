/// Converts whole rows between `Float` and any ``ElementType``.
///
/// This is the reference conversion: plain loops, one block at a time. Backends with
/// faster kernels must produce the same values (dequantization is exact arithmetic on
/// the stored integers and scales, so there is only one right answer).
public enum RowCodec {
    /// Decodes `count` values (a whole number of blocks) of type `type` at `source`
    /// into `destination`.
    @inlinable
    public static func decode(
        _ type: ElementType, from source: UnsafeRawPointer, count: Int, into destination: UnsafeMutablePointer<Float>
    ) {
        switch type {
        case .f32:
            // A byte copy: the source may be unaligned (safetensors data has no alignment guarantee).
            UnsafeMutableRawPointer(destination).copyMemory(from: source, byteCount: count * 4)
        case .f16:
            for i in 0..<count {
                let bits = UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                destination[i] = HalfPrecision.float(fromF16: bits)
            }
        case .bf16:
            for i in 0..<count {
                let bits = UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                destination[i] = HalfPrecision.float(fromBF16: bits)
            }
        case .q8_0: decodeBlocks(Q8_0Block.self, from: source, count: count, into: destination)
        case .q4_0: decodeBlocks(Q4_0Block.self, from: source, count: count, into: destination)
        case .q4_1: decodeBlocks(Q4_1Block.self, from: source, count: count, into: destination)
        case .q5_0: decodeBlocks(Q5_0Block.self, from: source, count: count, into: destination)
        case .q5_1: decodeBlocks(Q5_1Block.self, from: source, count: count, into: destination)
        case .q2_K: decodeBlocks(Q2_KBlock.self, from: source, count: count, into: destination)
        case .q3_K: decodeBlocks(Q3_KBlock.self, from: source, count: count, into: destination)
        case .q4_K: decodeBlocks(Q4_KBlock.self, from: source, count: count, into: destination)
        case .q5_K: decodeBlocks(Q5_KBlock.self, from: source, count: count, into: destination)
        case .q6_K: decodeBlocks(Q6_KBlock.self, from: source, count: count, into: destination)
        case .q8_K: decodeBlocks(Q8_KBlock.self, from: source, count: count, into: destination)
        }
    }

    /// Encodes `count` values (a whole number of blocks) into type `type` at
    /// `destination`. `type.canEncode` must be true.
    @inlinable
    public static func encode(
        _ source: UnsafePointer<Float>, count: Int, as type: ElementType, into destination: UnsafeMutableRawPointer
    ) {
        switch type {
        case .f32:
            destination.copyMemory(from: source, byteCount: count * 4)
        case .f16:
            for i in 0..<count {
                destination.storeBytes(
                    of: HalfPrecision.f16Bits(from: source[i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
            }
        case .bf16:
            for i in 0..<count {
                destination.storeBytes(
                    of: HalfPrecision.bf16Bits(from: source[i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
            }
        case .q8_0: encodeBlocks(Q8_0Block.self, source, count: count, into: destination)
        case .q4_0: encodeBlocks(Q4_0Block.self, source, count: count, into: destination)
        case .q4_1: encodeBlocks(Q4_1Block.self, source, count: count, into: destination)
        case .q5_0: encodeBlocks(Q5_0Block.self, source, count: count, into: destination)
        case .q5_1: encodeBlocks(Q5_1Block.self, source, count: count, into: destination)
        case .q2_K: encodeBlocks(Q2_KBlock.self, source, count: count, into: destination)
        case .q3_K: encodeBlocks(Q3_KBlock.self, source, count: count, into: destination)
        case .q4_K: encodeBlocks(Q4_KBlock.self, source, count: count, into: destination)
        case .q5_K: encodeBlocks(Q5_KBlock.self, source, count: count, into: destination)
        case .q6_K: encodeBlocks(Q6_KBlock.self, source, count: count, into: destination)
        case .q8_K:
            preconditionFailure("encoding to \(type) is not supported; check ElementType.canEncode first")
        }
    }

    /// Encodes one row of `count` values (a whole number of blocks) into type `type` at
    /// `destination`, weighting each value's rounding error by `importance[i]`, the mean
    /// squared activation of input column i (an importance matrix's entry for the tensor).
    /// Byte-identical to llama.cpp's quantizers given the same matrix; `f32`, `f16`, `bf16`
    /// and `q8_0` do not use it. `type.canEncode` must be true.
    @inlinable
    public static func encode(
        _ source: UnsafePointer<Float>, count: Int, as type: ElementType, importance: UnsafePointer<Float>,
        into destination: UnsafeMutableRawPointer
    ) {
        func weighted<Format: EncodableBlockFormat>(_ format: Format.Type) {
            var sumOfSquares: Float = 0
            for i in 0..<count { sumOfSquares += source[i] * source[i] }
            let rowMeanSquare = sumOfSquares / Float(count)
            let blockLength = Format.blockLength, blockByteCount = Format.blockByteCount
            for block in 0..<count / blockLength {
                Format.encode(
                    source + block * blockLength, importance: importance + block * blockLength, rowMeanSquare: rowMeanSquare,
                    into: destination + block * blockByteCount)
            }
        }
        switch type {
        case .q4_0: weighted(Q4_0Block.self)
        case .q4_1: weighted(Q4_1Block.self)
        case .q5_0: weighted(Q5_0Block.self)
        case .q5_1: weighted(Q5_1Block.self)
        case .q2_K: weighted(Q2_KBlock.self)
        case .q3_K: weighted(Q3_KBlock.self)
        case .q4_K: weighted(Q4_KBlock.self)
        case .q5_K: weighted(Q5_KBlock.self)
        case .q6_K: weighted(Q6_KBlock.self)
        case .f32, .f16, .bf16, .q8_0, .q8_K: encode(source, count: count, as: type, into: destination)
        }
    }

    @inlinable
    static func decodeBlocks<Format: BlockFormat>(
        _ format: Format.Type, from source: UnsafeRawPointer, count: Int, into destination: UnsafeMutablePointer<Float>
    ) {
        let blockLength = Format.blockLength
        let blockByteCount = Format.blockByteCount
        for block in 0..<count / blockLength {
            Format.decode(block: source + block * blockByteCount, into: destination + block * blockLength)
        }
    }

    @inlinable
    static func encodeBlocks<Format: EncodableBlockFormat>(
        _ format: Format.Type, _ source: UnsafePointer<Float>, count: Int, into destination: UnsafeMutableRawPointer
    ) {
        let blockLength = Format.blockLength
        let blockByteCount = Format.blockByteCount
        for block in 0..<count / blockLength {
            Format.encode(source + block * blockLength, into: destination + block * blockByteCount)
        }
    }
}
