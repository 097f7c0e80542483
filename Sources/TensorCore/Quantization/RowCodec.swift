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
