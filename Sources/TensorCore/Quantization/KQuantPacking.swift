/// Bit packings shared by the K-quant encoders.
@usableFromInline
enum KQuantPacking {
    /// Packs 256 levels of 0…3 as ``Q2_KBlock`` and ``Q3_KBlock`` store their low two
    /// bits: for half h and shift s, value h·128 + (s/2)·32 + l goes to bits s…s+1 of
    /// byte h·32 + l (64 bytes).
    @inlinable
    static func storeTwoBitValues(_ L: UnsafePointer<UInt8>, into bytes: UnsafeMutableRawPointer) {
        for half in 0..<2 {
            let j = half * 128
            for l in 0..<32 {
                let byte = (L[j + l] & 3) | (L[j + l + 32] & 3) << 2 | (L[j + l + 64] & 3) << 4 | (L[j + l + 96] & 3) << 6
                bytes.storeBytes(of: byte, toByteOffset: half * 32 + l, as: UInt8.self)
            }
        }
    }

    /// Packs eight 6-bit scales and minimums into the 12 bytes ``KQuantScales`` reads.
    @inlinable
    static func storeScalesAndMinimums(
        scales: UnsafePointer<UInt8>, minimums: UnsafePointer<UInt8>, into bytes: UnsafeMutableRawPointer
    ) {
        var packed = (UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0))
        withUnsafeMutableBytes(of: &packed) { out in
            for j in 0..<8 {
                let ls = scales[j], lm = minimums[j]
                if j < 4 {
                    out[j] = ls
                    out[j + 4] = lm
                } else {
                    out[j + 4] = (ls & 0x0F) | (lm & 0x0F) << 4
                    out[j - 4] |= (ls >> 4) << 6
                    out[j] |= (lm >> 4) << 6
                }
            }
            bytes.copyMemory(from: out.baseAddress!, byteCount: 12)
        }
    }
}
