/// `Q5_K`: 256 values in 8 groups of 32. Layout: f16 `d`, f16 `dmin`, 12 bytes of
/// packed group scales and minimums (see `KQuantScales`), 32 bytes `qh` (bit g of
/// byte l is the fifth bit of value g·32 + l), 128 bytes of low nibbles arranged as in
/// ``Q4_KBlock``. Value i = d·scale(i/32)·q − dmin·min(i/32).
public enum Q5_KBlock: BlockFormat {
    public static var elementType: ElementType { .q5_K }

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
                let low = (block.loadByte(at: 48 + (group / 2) * 32 + l) >> shift) & 0x0F
                let high = (block.loadByte(at: 16 + l) >> UInt8(group)) & 1
                values[group * 32 + l] = groupScale * Float(low | high << 4) - groupMinimum
            }
        }
    }
}
