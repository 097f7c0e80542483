/// `Q4_K`: 256 values in 8 groups of 32. Layout: f16 `d`, f16 `dmin`, 12 bytes of
/// packed 6-bit group scales and minimums (see `KQuantScales`), 128 bytes of 4-bit
/// values: value g·64 + l is the low nibble and value g·64 + 32 + l the high nibble
/// of byte g·32 + l. Value i = d·scale(i/32)·q − dmin·min(i/32).
public enum Q4_KBlock: BlockFormat {
    public static var elementType: ElementType { .q4_K }

    @inlinable
    public static func decode(block: UnsafeRawPointer, into values: UnsafeMutablePointer<Float>) {
        let d = block.loadF16(at: 0)
        let dmin = block.loadF16(at: 2)
        let scaleBytes = block + 4
        for group in 0..<8 {
            let (scale, minimum) = KQuantScales.group(group, in: scaleBytes)
            let groupScale = d * Float(scale)
            let groupMinimum = dmin * Float(minimum)
            let shift = UInt8(4 * (group % 2))
            for l in 0..<32 {
                let q = (block.loadByte(at: 16 + (group / 2) * 32 + l) >> shift) & 0x0F
                values[group * 32 + l] = groupScale * Float(q) - groupMinimum
            }
        }
    }
}
