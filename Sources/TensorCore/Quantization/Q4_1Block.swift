/// `Q4_1`: 32 values as an f16 scale `d`, an f16 minimum `m` and 16 bytes of 4-bit
/// values laid out as in ``Q4_0Block``; value = d × q + m.
public enum Q4_1Block: EncodableBlockFormat {
    public static var elementType: ElementType { .q4_1 }

    @inlinable
    public static func decode(block: UnsafeRawPointer, into values: UnsafeMutablePointer<Float>) {
        let d = block.loadF16(at: 0)
        let m = block.loadF16(at: 2)
        for j in 0..<16 {
            let byte = block.loadByte(at: 4 + j)
            values[j] = d * Float(byte & 0x0F) + m
            values[j + 16] = d * Float(byte >> 4) + m
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
        let d = (maximum - minimum) / 15
        let id = inverseScale(d)
        func quantize(_ x: Float) -> UInt8 {
            truncatedLevel((x - minimum) * id + 0.5, limit: 15)
        }
        for j in 0..<16 {
            let byte = quantize(values[j]) | (quantize(values[j + 16]) << 4)
            block.storeBytes(of: byte, toByteOffset: 4 + j, as: UInt8.self)
        }
        block.storeF16(d, at: 0)
        block.storeF16(minimum, at: 2)
    }
}
