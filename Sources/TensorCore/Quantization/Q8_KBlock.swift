/// `Q8_K`: 256 values as an f32 scale `d`, 256 signed bytes, and 16 i16 sums of
/// groups of 16 (used by integer dot products, ignored when decoding); value = d × q.
/// llama.cpp uses it for activations; model files rarely contain it.
public enum Q8_KBlock: BlockFormat {
    public static var elementType: ElementType { .q8_K }

    @inlinable
    public static func decode(block: UnsafeRawPointer, into values: UnsafeMutablePointer<Float>) {
        let d = Float(bitPattern: UInt32(littleEndian: block.loadUnaligned(fromByteOffset: 0, as: UInt32.self)))
        for i in 0..<256 {
            values[i] = d * Float(Int8(bitPattern: block.loadByte(at: 4 + i)))
        }
    }
}
