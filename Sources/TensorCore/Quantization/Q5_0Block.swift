/// `Q5_0`: 32 values as an f16 scale `d`, a little-endian u32 whose bit j is the
/// fifth bit of value j, and 16 bytes of low nibbles laid out as in ``Q4_0Block``;
/// value = d × (q − 16).
public enum Q5_0Block: EncodableBlockFormat {
    public static var elementType: ElementType { .q5_0 }

    @inlinable
    public static func decode(block: UnsafeRawPointer, into values: UnsafeMutablePointer<Float>) {
        let d = block.loadF16(at: 0)
        let highBits = UInt32(littleEndian: block.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
        for j in 0..<16 {
            let byte = block.loadByte(at: 6 + j)
            let low = Int(byte & 0x0F) | Int((highBits >> UInt32(j)) & 1) << 4
            let high = Int(byte >> 4) | Int((highBits >> UInt32(j + 16)) & 1) << 4
            values[j] = d * Float(low - 16)
            values[j + 16] = d * Float(high - 16)
        }
    }

    @inlinable
    public static func encode(_ values: UnsafePointer<Float>, into block: UnsafeMutableRawPointer) {
        let d = signedMaximumMagnitude(values, count: 32) / -16
        let id = inverseScale(d)
        var highBits: UInt32 = 0
        for j in 0..<16 {
            let low = truncatedLevel(values[j] * id + 16.5, limit: 31)
            let high = truncatedLevel(values[j + 16] * id + 16.5, limit: 31)
            block.storeBytes(of: (low & 0x0F) | (high << 4), toByteOffset: 6 + j, as: UInt8.self)
            highBits |= UInt32(low >> 4) << UInt32(j) | UInt32(high >> 4) << UInt32(j + 16)
        }
        block.storeF16(d, at: 0)
        block.storeBytes(of: highBits.littleEndian, toByteOffset: 2, as: UInt32.self)
    }
}
