/// `Q5_K`: 256 values in 8 groups of 32. Layout: f16 `d`, f16 `dmin`, 12 bytes of
/// packed group scales and minimums (see `KQuantScales`), 32 bytes `qh` (bit g of
/// byte l is the fifth bit of value g·32 + l), 128 bytes of low nibbles arranged as in
/// ``Q4_KBlock``. Value i = d·scale(i/32)·q − dmin·min(i/32).
public enum Q5_KBlock: EncodableBlockFormat {
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

    /// ggml's `quantize_row_q5_K_ref`: per 32-value group a scale and minimum by
    /// `make_qkx2_quants` (weights: the group's RMS plus |x|), both rounded to 6 bits
    /// against the block's largest, then the values re-rounded with the stored scales.
    @inlinable
    public static func encode(_ x: UnsafePointer<Float>, into block: UnsafeMutableRawPointer) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256 + 32 + 16) { levels in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 32 + 8 + 8) { floats in
                let L = levels.baseAddress!, scratch = L + 256, packedScales = scratch + 32, packedMinimums = packedScales + 8
                let weights = floats.baseAddress!, scales = weights + 32, minimums = scales + 8
                var maxScale: Float = 0, maxMinimum: Float = 0
                for j in 0..<8 {
                    let group = x + 32 * j
                    var sumX2: Float = 0
                    for l in 0..<32 { sumX2 += group[l] * group[l] }
                    let average = (sumX2 / 32).squareRoot()
                    for l in 0..<32 { weights[l] = average + abs(group[l]) }
                    (scales[j], minimums[j]) = KQuantSearch.affineScale(
                        count: 32, levels: 31, group, weights: weights, into: L + 32 * j, scratch: scratch,
                        rmin: -0.5, rdelta: 0.1, steps: 15, absoluteError: false)
                    if scales[j] > maxScale { maxScale = scales[j] }
                    if minimums[j] > maxMinimum { maxMinimum = minimums[j] }
                }
                let inverseScale: Float = maxScale > 0 ? 63 / maxScale : 0
                let inverseMinimum: Float = maxMinimum > 0 ? 63 / maxMinimum : 0
                for j in 0..<8 {
                    packedScales[j] = min(63, UInt8(truncatingIfNeeded: KQuantSearch.nearestInt(inverseScale * scales[j])))
                    packedMinimums[j] = min(63, UInt8(truncatingIfNeeded: KQuantSearch.nearestInt(inverseMinimum * minimums[j])))
                }
                KQuantPacking.storeScalesAndMinimums(scales: packedScales, minimums: packedMinimums, into: block + 4)
                block.storeF16(maxScale / 63, at: 0)
                block.storeF16(maxMinimum / 63, at: 2)
                roundAndPack(x, levels: L, into: block)
            }
        }
    }

    /// ggml's `quantize_row_q5_K_impl` (with an importance matrix): per group a scale and
    /// minimum by `make_qkx3_quants` with weights importance·√(2σ² + x²), the group scales
    /// and minimums rounded to 6 bits by `make_qp_quants` weighted by each group's total
    /// weight.
    @inlinable
    public static func encode(
        _ x: UnsafePointer<Float>, importance qw: UnsafePointer<Float>, rowMeanSquare: Float, into block: UnsafeMutableRawPointer
    ) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256 + 32 + 16) { levels in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 32 + 8 * 3) { floats in
                let L = levels.baseAddress!, scratch = L + 256, packedScales = scratch + 32, packedMinimums = packedScales + 8
                let weights = floats.baseAddress!, scales = weights + 32, minimums = scales + 8, groupWeights = minimums + 8
                var sumX2: Float = 0
                for i in 0..<256 { sumX2 += x[i] * x[i] }
                let sigma2 = 2 * sumX2 / 256
                for j in 0..<8 {
                    for l in 0..<32 { weights[l] = qw[32 * j + l] * (sigma2 + x[32 * j + l] * x[32 * j + l]).squareRoot() }
                    var total: Float = 0
                    for l in 0..<32 { total += weights[l] }
                    groupWeights[j] = total
                    (scales[j], minimums[j]) = KQuantSearch.affineScaleWeighted(
                        count: 32, levels: 31, x + 32 * j, weights: weights, into: L + 32 * j, scratch: scratch,
                        rmin: -0.9, rdelta: 0.05, steps: 36, absoluteError: false)
                }
                let d = KQuantSearch.positiveScale(count: 8, levels: 63, scales, into: packedScales, weights: groupWeights)
                let m = KQuantSearch.positiveScale(count: 8, levels: 63, minimums, into: packedMinimums, weights: groupWeights)
                for j in 0..<8 {
                    packedScales[j] = min(63, packedScales[j])
                    packedMinimums[j] = min(63, packedMinimums[j])
                }
                KQuantPacking.storeScalesAndMinimums(scales: packedScales, minimums: packedMinimums, into: block + 4)
                block.storeF16(d, at: 0)
                block.storeF16(m, at: 2)
                roundAndPack(x, levels: L, into: block)
            }
        }
    }

    /// Rounds every group's values again with its scale and minimum as stored in `block`
    /// (a group whose scale is zero keeps the levels in `L`) and packs them.
    @inlinable
    static func roundAndPack(_ x: UnsafePointer<Float>, levels L: UnsafeMutablePointer<UInt8>, into block: UnsafeMutableRawPointer) {
        let stored = UnsafeRawPointer(block)
        let d = stored.loadF16(at: 0), dmin = stored.loadF16(at: 2)
        for j in 0..<8 {
            let (scale, minimum) = KQuantScales.group(j, in: stored + 4)
            let groupScale = d * Float(scale)
            if groupScale == 0 { continue }
            let groupMinimum = dmin * Float(minimum)
            for i in 0..<32 {
                let l = KQuantSearch.nearestInt((x[32 * j + i] + groupMinimum) / groupScale)
                L[32 * j + i] = UInt8(max(0, min(31, l)))
            }
        }
        BlockGrid.storeLevels(.q5_K, L, into: block)
    }
}
