/// `Q2_K`: 256 values in 16 groups of 16. Layout: 16 bytes of group scales (low
/// nibble: scale, high nibble: minimum), 64 bytes of 2-bit values, f16 `d`, f16 `dmin`.
///
/// The 2-bit values: for half h (0, 1) and shift s (0, 2, 4, 6), the 32 values
/// h·128 + (s/2)·32 + l come from bits s…s+1 of byte h·32 + l.
/// Value i = d·scale(i/16)·q − dmin·min(i/16).
public enum Q2_KBlock: EncodableBlockFormat {
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

    /// ggml's `quantize_row_q2_K_ref`: per 16-value group a scale and minimum by
    /// `make_qkx2_quants` (|x|-weighted absolute error), both rounded to 4 bits against
    /// the block's largest, then the values re-rounded with the stored scales.
    @inlinable
    public static func encode(_ x: UnsafePointer<Float>, into block: UnsafeMutableRawPointer) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256 + 16) { levels in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 16 + 16 + 16) { floats in
                let L = levels.baseAddress!, scratch = L + 256
                let weights = floats.baseAddress!, scales = weights + 16, minimums = scales + 16
                var maxScale: Float = 0, maxMinimum: Float = 0
                for j in 0..<16 {
                    for l in 0..<16 { weights[l] = abs(x[16 * j + l]) }
                    (scales[j], minimums[j]) = KQuantSearch.affineScale(
                        count: 16, levels: 3, x + 16 * j, weights: weights, into: L + 16 * j, scratch: scratch,
                        rmin: -0.5, rdelta: 0.1, steps: 15, absoluteError: true)
                    if scales[j] > maxScale { maxScale = scales[j] }
                    if minimums[j] > maxMinimum { maxMinimum = minimums[j] }
                }
                let q4scale: Float = 15
                if maxScale > 0 {
                    let iscale = q4scale / maxScale
                    for j in 0..<16 {
                        block.storeBytes(of: UInt8(truncatingIfNeeded: KQuantSearch.nearestInt(iscale * scales[j])), toByteOffset: j, as: UInt8.self)
                    }
                    block.storeF16(maxScale / q4scale, at: 80)
                } else {
                    for j in 0..<16 { block.storeBytes(of: 0, toByteOffset: j, as: UInt8.self) }
                    block.storeF16(0, at: 80)
                }
                if maxMinimum > 0 {
                    let iscale = q4scale / maxMinimum
                    for j in 0..<16 {
                        let l = UInt8(truncatingIfNeeded: KQuantSearch.nearestInt(iscale * minimums[j]) << 4)
                        block.storeBytes(of: block.load(fromByteOffset: j, as: UInt8.self) | l, toByteOffset: j, as: UInt8.self)
                    }
                    block.storeF16(maxMinimum / q4scale, at: 82)
                } else {
                    block.storeF16(0, at: 82)
                }
                roundAndPack(x, levels: L, into: block)
            }
        }
    }

    /// ggml's `quantize_row_q2_K_impl` (with an importance matrix): per group a scale and
    /// minimum by `make_qkx3_quants` with weights importance·√(σ² + x²), the group scales and
    /// minimums rounded to 4 bits by `make_qp_quants` weighted by each group's total weight.
    @inlinable
    public static func encode(
        _ x: UnsafePointer<Float>, importance qw: UnsafePointer<Float>, rowMeanSquare: Float, into block: UnsafeMutableRawPointer
    ) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256 + 16 + 16 + 16) { levels in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 16 * 4) { floats in
                let L = levels.baseAddress!, scratch = L + 256, packedScales = scratch + 16, packedMinimums = packedScales + 16
                let weights = floats.baseAddress!, scales = weights + 16, minimums = scales + 16, groupWeights = minimums + 16
                var sumX2: Float = 0
                for i in 0..<256 { sumX2 += x[i] * x[i] }
                let sigma2 = sumX2 / 256
                for j in 0..<16 {
                    for l in 0..<16 { weights[l] = qw[16 * j + l] * (sigma2 + x[16 * j + l] * x[16 * j + l]).squareRoot() }
                    var total: Float = 0
                    for l in 0..<16 { total += weights[l] }
                    groupWeights[j] = total
                    (scales[j], minimums[j]) = KQuantSearch.affineScaleWeighted(
                        count: 16, levels: 3, x + 16 * j, weights: weights, into: L + 16 * j, scratch: scratch,
                        rmin: -0.9, rdelta: 0.05, steps: 36, absoluteError: false)
                }
                let d = KQuantSearch.positiveScale(count: 16, levels: 15, scales, into: packedScales, weights: groupWeights)
                let m = KQuantSearch.positiveScale(count: 16, levels: 15, minimums, into: packedMinimums, weights: groupWeights)
                block.storeF16(d, at: 80)
                block.storeF16(m, at: 82)
                for j in 0..<16 {
                    block.storeBytes(of: packedScales[j] | packedMinimums[j] << 4, toByteOffset: j, as: UInt8.self)
                }
                roundAndPack(x, levels: L, into: block)
            }
        }
    }

    /// Rounds every group's values again with its scale and minimum as stored in `block`
    /// (a group whose scale is zero keeps the levels in `L`) and packs them.
    @inlinable
    static func roundAndPack(_ x: UnsafePointer<Float>, levels L: UnsafeMutablePointer<UInt8>, into block: UnsafeMutableRawPointer) {
        let stored = UnsafeRawPointer(block)
        let d = stored.loadF16(at: 80), dmin = stored.loadF16(at: 82)
        for j in 0..<16 {
            let groupScale = stored.loadByte(at: j)
            let scale = d * Float(groupScale & 0x0F)
            if scale == 0 { continue }
            let minimum = dmin * Float(groupScale >> 4)
            for i in 0..<16 {
                let l = KQuantSearch.nearestInt((x[16 * j + i] + minimum) / scale)
                L[16 * j + i] = UInt8(max(0, min(3, l)))
            }
        }
        KQuantPacking.storeTwoBitValues(L, into: block + 16)
    }
}
