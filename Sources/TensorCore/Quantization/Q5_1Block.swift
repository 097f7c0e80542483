/// `Q5_1`: 32 values as an f16 scale `d`, an f16 minimum `m`, then the fifth bits and
/// nibbles as in ``Q5_0Block``; value = d × q + m.
public enum Q5_1Block: EncodableBlockFormat {
    public static var elementType: ElementType { .q5_1 }

    @inlinable
    public static func decode(block: UnsafeRawPointer, into values: UnsafeMutablePointer<Float>) {
        let d = block.loadF16(at: 0)
        let m = block.loadF16(at: 2)
        let highBits = UInt32(littleEndian: block.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        for j in 0..<16 {
            let byte = block.loadByte(at: 8 + j)
            let low = UInt32(byte & 0x0F) | ((highBits >> UInt32(j)) & 1) << 4
            let high = UInt32(byte >> 4) | ((highBits >> UInt32(j + 16)) & 1) << 4
            values[j] = d * Float(low) + m
            values[j + 16] = d * Float(high) + m
        }
    }

    @inlinable
    public static func encode(_ values: UnsafePointer<Float>, into block: UnsafeMutableRawPointer) {
        var minimum = values[0]
        var maximum = values[0]
        for i in 1..<32 {
            minimum = min(minimum, values[i])
            maximum = max(maximum, values[i])
        }
        let d = (maximum - minimum) / 31
        let id = inverseScale(d)
        func quantize(_ x: Float) -> UInt8 {
            truncatedLevel((x - minimum) * id + 0.5, limit: 31)
        }
        var highBits: UInt32 = 0
        for j in 0..<16 {
            let low = quantize(values[j])
            let high = quantize(values[j + 16])
            block.storeBytes(of: (low & 0x0F) | (high << 4), toByteOffset: 8 + j, as: UInt8.self)
            highBits |= UInt32(low >> 4) << UInt32(j) | UInt32(high >> 4) << UInt32(j + 16)
        }
        block.storeF16(d, at: 0)
        block.storeF16(minimum, at: 2)
        block.storeBytes(of: highBits.littleEndian, toByteOffset: 4, as: UInt32.self)
    }
}
