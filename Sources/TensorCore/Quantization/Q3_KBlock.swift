/// `Q3_K`: 256 values in 16 groups of 16. Layout: 32 bytes `hmask` (bit h of byte l is
/// the high bit of value h·32 + l), 64 bytes of low 2-bit values (arranged as in
/// ``Q2_KBlock``), 12 bytes of 6-bit group scales, f16 `d`.
///
/// Scales: the low four bits of scale k are nibble k/8 of byte k % 8; the high two bits
/// are bits 2·(k/4)… of byte 8 + k % 4; the scale is that 6-bit number minus 32.
/// A value is `low − 4` when its hmask bit is 0 and `low` when it is 1.
public enum Q3_KBlock: BlockFormat {
    public static var elementType: ElementType { .q3_K }

    @inlinable
    public static func decode(block: UnsafeRawPointer, into values: UnsafeMutablePointer<Float>) {
        let d = block.loadF16(at: 108)
        for group in 0..<16 {
            let lowScaleBits = (block.loadByte(at: 96 + group % 8) >> UInt8(4 * (group / 8))) & 0x0F
            let highScaleBits = (block.loadByte(at: 104 + group % 4) >> UInt8(2 * (group / 4))) & 0x03
            let scale = d * Float(Int(lowScaleBits | highScaleBits << 4) - 32)
            for i in group * 16..<(group + 1) * 16 {
                let half = i / 128
                let shift = UInt8((i % 128) / 32 * 2)
                let low = Int((block.loadByte(at: 32 + half * 32 + i % 32) >> shift) & 3)
                let highBitSet = (block.loadByte(at: i % 32) >> UInt8(i / 32)) & 1 == 1
                values[i] = scale * Float(highBitSet ? low : low - 4)
            }
        }
    }
}
