/// `Q2_K`: 256 values in 16 groups of 16. Layout: 16 bytes of group scales (low
/// nibble: scale, high nibble: minimum), 64 bytes of 2-bit values, f16 `d`, f16 `dmin`.
///
/// The 2-bit values: for half h (0, 1) and shift s (0, 2, 4, 6), the 32 values
/// h·128 + (s/2)·32 + l come from bits s…s+1 of byte h·32 + l.
/// Value i = d·scale(i/16)·q − dmin·min(i/16).
public enum Q2_KBlock: BlockFormat {
    public static var elementType: ElementType { .q2_K }

    @inlinable
    public static func decode(block: UnsafeRawPointer, into values: UnsafeMutablePointer<Float>) {
        let d = block.loadF16(at: 80)
        let dmin = block.loadF16(at: 82)
        for i in 0..<256 {
            let half = i / 128
            let shift = UInt8((i % 128) / 32 * 2)
            let byte = block.loadByte(at: 16 + half * 32 + i % 32)
            let q = Float((byte >> shift) & 3)
            let groupScale = block.loadByte(at: i / 16)
            let scale = d * Float(groupScale & 0x0F)
            let minimum = dmin * Float(groupScale >> 4)
            values[i] = scale * q - minimum
        }
    }
}
