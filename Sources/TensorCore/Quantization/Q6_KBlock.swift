/// `Q6_K`: 256 values in 16 groups of 16. Layout: 128 bytes `ql` of low nibbles, 64
/// bytes `qh` of high 2-bit pairs, 16 signed 8-bit group scales, f16 `d`.
///
/// In half h (values h·128 …): value h·128 + s·64 + l (l < 64) takes nibble s of byte
/// h·64 + l of `ql`; value h·128 + t·32 + l (l < 32) takes bits 2t…2t+1 of byte
/// h·32 + l of `qh`. Value i = d·scale(i/16)·(q − 32).
public enum Q6_KBlock: BlockFormat {
    public static var elementType: ElementType { .q6_K }

    @inlinable
    public static func decode(block: UnsafeRawPointer, into values: UnsafeMutablePointer<Float>) {
        let d = block.loadF16(at: 208)
        for i in 0..<256 {
            let half = i / 128
            let withinHalf = i % 128
            let low = (block.loadByte(at: half * 64 + withinHalf % 64) >> UInt8(4 * (withinHalf / 64))) & 0x0F
            let high = (block.loadByte(at: 128 + half * 32 + withinHalf % 32) >> UInt8(2 * (withinHalf / 32))) & 0x03
            let scale = d * Float(Int8(bitPattern: block.loadByte(at: 192 + i / 16)))
            values[i] = scale * Float(Int(low | high << 4) - 32)
        }
    }
}
