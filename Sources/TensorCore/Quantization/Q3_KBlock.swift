/// `Q3_K`: 256 values in 16 groups of 16. Layout: 32 bytes `hmask` (bit h of byte l is
/// the high bit of value h·32 + l), 64 bytes of low 2-bit values (arranged as in
/// ``Q2_KBlock``), 12 bytes of 6-bit group scales, f16 `d`.
///
/// Scales: the low four bits of scale k are nibble k/8 of byte k % 8; the high two bits
/// are bits 2·(k/4)… of byte 8 + k % 4; the scale is that 6-bit number minus 32.
/// A value is `low − 4` when its hmask bit is 0 and `low` when it is 1.
public enum Q3_KBlock: EncodableBlockFormat {
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

    /// ggml's `quantize_row_q3_K_ref`: per 16-value group a symmetric scale by
    /// `make_q3_quants` (refined), the scales rounded to 6 bits against the block's
    /// largest magnitude, then the values re-rounded with the stored scales.
    @inlinable
    public static func encode(_ x: UnsafePointer<Float>, into block: UnsafeMutableRawPointer) {
        withUnsafeTemporaryAllocation(of: Int8.self, capacity: 256 + 16) { levels in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 16) { scaleBuffer in
                let L = levels.baseAddress!, packed = L + 256, scales = scaleBuffer.baseAddress!
                var maxScale: Float = 0, amax: Float = 0
                for j in 0..<16 {
                    scales[j] = KQuantSearch.q3Scale(count: 16, levels: 4, x + 16 * j, into: L + 16 * j, refine: true)
                    if abs(scales[j]) > amax {
                        amax = abs(scales[j])
                        maxScale = scales[j]
                    }
                }
                if maxScale != 0 {
                    let iscale = -32 / maxScale
                    for j in 0..<16 {
                        let l = Int8(truncatingIfNeeded: KQuantSearch.nearestInt(iscale * scales[j]))
                        packed[j] = max(-32, min(31, l)) + 32
                    }
                    storeScales(packed, into: block)
                    block.storeF16(1 / iscale, at: 108)
                } else {
                    for i in 0..<12 { block.storeBytes(of: 0, toByteOffset: 96 + i, as: UInt8.self) }
                    block.storeF16(0, at: 108)
                }
                roundAndPack(x, levels: L, into: block)
            }
        }
    }

    /// ggml's `quantize_row_q3_K_impl` (with an importance matrix): per group a scale by
    /// `make_qx_quants` with weights importance·√(2σ² + x²), and the group scales by
    /// `make_qx_quants` weighted by each group's total weight.
    @inlinable
    public static func encode(
        _ x: UnsafePointer<Float>, importance qw: UnsafePointer<Float>, rowMeanSquare: Float, into block: UnsafeMutableRawPointer
    ) {
        withUnsafeTemporaryAllocation(of: Int8.self, capacity: 256 + 16) { levels in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 16 * 3) { floats in
                let L = levels.baseAddress!, packed = L + 256
                let weights = floats.baseAddress!, scales = weights + 16, groupWeights = scales + 16
                var sumX2: Float = 0
                for i in 0..<256 { sumX2 += x[i] * x[i] }
                let sigma2 = 2 * sumX2 / 256
                for j in 0..<16 {
                    for l in 0..<16 { weights[l] = qw[16 * j + l] * (sigma2 + x[16 * j + l] * x[16 * j + l]).squareRoot() }
                    var total: Float = 0
                    for l in 0..<16 { total += weights[l] }
                    groupWeights[j] = total
                    scales[j] = KQuantSearch.symmetricScale(count: 16, levels: 4, x + 16 * j, into: L + 16 * j, rmseType: 1, importance: weights)
                }
                let d = KQuantSearch.symmetricScale(count: 16, levels: 32, scales, into: packed, rmseType: 1, importance: groupWeights)
                storeScales(packed, into: block)
                block.storeF16(d, at: 108)
                roundAndPack(x, levels: L, into: block)
            }
        }
    }

    /// Packs sixteen 6-bit group scales (stored plus 32) into the 12 scale bytes.
    @inlinable
    static func storeScales(_ packed: UnsafePointer<Int8>, into block: UnsafeMutableRawPointer) {
        let scaleBytes = block + 96
        for i in 0..<12 { scaleBytes.storeBytes(of: 0, toByteOffset: i, as: UInt8.self) }
        func orByte(_ offset: Int, _ value: UInt8) {
            scaleBytes.storeBytes(of: scaleBytes.load(fromByteOffset: offset, as: UInt8.self) | value, toByteOffset: offset, as: UInt8.self)
        }
        for j in 0..<16 {
            let l = UInt8(bitPattern: packed[j])
            orByte(j % 8, (l & 0x0F) << (j < 8 ? 0 : 4))
            orByte(8 + j % 4, UInt8(truncatingIfNeeded: Int(l >> 4) << (2 * (j / 4))))
        }
    }

    /// Rounds every group's values again with its scale as stored in `block` (a group
    /// whose scale is zero keeps the levels in `L`), and writes the high bits and the low
    /// two bits.
    @inlinable
    static func roundAndPack(_ x: UnsafePointer<Float>, levels L: UnsafeMutablePointer<Int8>, into block: UnsafeMutableRawPointer) {
        let stored = UnsafeRawPointer(block)
        let dAll = stored.loadF16(at: 108)
        for j in 0..<16 {
            let low = (stored.loadByte(at: 96 + j % 8) >> UInt8(4 * (j / 8))) & 0x0F
            let high = (stored.loadByte(at: 104 + j % 4) >> UInt8(2 * (j / 4))) & 0x03
            let d = dAll * Float(Int(low | high << 4) - 32)
            if d == 0 { continue }
            for i in 0..<16 {
                let l = KQuantSearch.nearestInt(x[16 * j + i] / d)
                L[16 * j + i] = Int8(max(-4, min(3, l)) + 4)
            }
        }
        // The high bit of value j goes to bit j/32 of hmask byte j % 32.
        for i in 0..<32 { block.storeBytes(of: 0, toByteOffset: i, as: UInt8.self) }
        for j in 0..<256 where L[j] > 3 {
            block.storeBytes(
                of: block.load(fromByteOffset: j % 32, as: UInt8.self) | UInt8(1) << UInt8(j / 32), toByteOffset: j % 32, as: UInt8.self)
            L[j] -= 4
        }
        UnsafeMutableRawPointer(L).withMemoryRebound(to: UInt8.self, capacity: 256) { low in
            KQuantPacking.storeTwoBitValues(low, into: block + 32)
        }
    }
}
