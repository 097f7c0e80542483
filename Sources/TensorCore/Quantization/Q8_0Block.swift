/// `Q8_0`: 32 values as an f16 scale `d` and 32 signed bytes; value = q × d.
public enum Q8_0Block: EncodableBlockFormat {
    public static var elementType: ElementType { .q8_0 }

    @inlinable
    public static func decode(block: UnsafeRawPointer, into values: UnsafeMutablePointer<Float>) {
        let d = block.loadF16(at: 0)
        for i in 0..<32 {
            values[i] = Float(Int8(bitPattern: block.loadByte(at: 2 + i))) * d
        }
    }

    @inlinable
    public static func encode(_ values: UnsafePointer<Float>, into block: UnsafeMutableRawPointer) {
        var maximum: Float = 0
        for i in 0..<32 { maximum = max(maximum, abs(values[i])) }
        let d = maximum / 127
        let id = inverseScale(d)
        for i in 0..<32 {
            let q = roundedInt8(values[i] * id)
            block.storeBytes(of: UInt8(bitPattern: q), toByteOffset: 2 + i, as: UInt8.self)
        }
        block.storeF16(d, at: 0)
    }
}
