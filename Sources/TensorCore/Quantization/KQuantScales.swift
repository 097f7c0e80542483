/// The packed 6-bit scales and minimums of the eight 32-value groups of a ``Q4_KBlock``
/// or ``Q5_KBlock`` (12 bytes):
///
/// ```
///  byte 0…3:  bits 0-5 scale j,   bits 6-7 high bits of scale j+4
///  byte 4…7:  bits 0-5 min j,     bits 6-7 high bits of min j+4
///  byte 8…11: bits 0-3 low bits of scale j+4, bits 4-7 low bits of min j+4
/// ```
@usableFromInline
enum KQuantScales {
    /// Scale and minimum of group `j` (0…7) from the 12 bytes at `bytes`.
    @inlinable
    static func group(_ j: Int, in bytes: UnsafeRawPointer) -> (scale: UInt8, minimum: UInt8) {
        if j < 4 {
            return (bytes.loadByte(at: j) & 0x3F, bytes.loadByte(at: j + 4) & 0x3F)
        }
        let packed = bytes.loadByte(at: j + 4)
        let scale = (packed & 0x0F) | ((bytes.loadByte(at: j - 4) >> 2) & 0x30)
        let minimum = (packed >> 4) | ((bytes.loadByte(at: j) >> 2) & 0x30)
        return (scale, minimum)
    }
}
