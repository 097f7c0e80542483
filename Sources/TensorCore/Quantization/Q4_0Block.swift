/// `Q4_0`: 32 values as an f16 scale `d` and 16 bytes of 4-bit values. Byte j holds
/// value j in its low nibble and value j + 16 in its high nibble; value = d × (q − 8).
public enum Q4_0Block: EncodableBlockFormat {
    public static var elementType: ElementType { .q4_0 }

    @inlinable
    public static func decode(block: UnsafeRawPointer, into values: UnsafeMutablePointer<Float>) {
        let d = block.loadF16(at: 0)
        for j in 0..<16 {
            let byte = block.loadByte(at: 2 + j)
            values[j] = d * Float(Int(byte & 0x0F) - 8)
            values[j + 16] = d * Float(Int(byte >> 4) - 8)
        }
    }

    @inlinable
    public static func encode(_ values: UnsafePointer<Float>, into block: UnsafeMutableRawPointer) {
        let d = signedMaximumMagnitude(values, count: 32) / -8
        let id = inverseScale(d)
        func quantize(_ x: Float) -> UInt8 {
            truncatedLevel(x * id + 8.5, limit: 15)
        }
        for j in 0..<16 {
            let byte = quantize(values[j]) | (quantize(values[j + 16]) << 4)
            block.storeBytes(of: byte, toByteOffset: 2 + j, as: UInt8.self)
        }
        block.storeF16(d, at: 0)
    }
}
