/// `Q6_K`: 256 values in 16 groups of 16. Layout: 128 bytes `ql` of low nibbles, 64
/// bytes `qh` of high 2-bit pairs, 16 signed 8-bit group scales, f16 `d`.
///
/// In half h (values h·128 …): value h·128 + s·64 + l (l < 64) takes nibble s of byte
/// h·64 + l of `ql`; value h·128 + t·32 + l (l < 32) takes bits 2t…2t+1 of byte
/// h·32 + l of `qh`. Value i = d·scale(i/16)·(q − 32).
public enum Q6_KBlock: EncodableBlockFormat {
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

    /// ggml's `quantize_row_q6_K_ref`: per 16-value group a symmetric scale by
    /// `make_qx_quants` (x²-weighted), the scales rounded to 8 bits against the block's
    /// largest magnitude, then the values re-rounded with the stored scales.
    @inlinable
    public static func encode(_ x: UnsafePointer<Float>, into block: UnsafeMutableRawPointer) {
        encode(x, importance: nil, into: block)
    }

    /// ggml's `quantize_row_q6_K_impl` (with an importance matrix): as without one, with
    /// the importance as the weights of each group's scale search.
    @inlinable
    public static func encode(
        _ x: UnsafePointer<Float>, importance: UnsafePointer<Float>, rowMeanSquare: Float, into block: UnsafeMutableRawPointer
    ) {
        encode(x, importance: Optional(importance), into: block)
    }

    @inlinable
    static func encode(_ x: UnsafePointer<Float>, importance: UnsafePointer<Float>?, into block: UnsafeMutableRawPointer) {
        withUnsafeTemporaryAllocation(of: Int8.self, capacity: 256) { levels in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 16) { scaleBuffer in
                let L = levels.baseAddress!, scales = scaleBuffer.baseAddress!
                var maxScale: Float = 0, maxAbsoluteScale: Float = 0
                for j in 0..<16 {
                    scales[j] = KQuantSearch.symmetricScale(
                        count: 16, levels: 32, x + 16 * j, into: L + 16 * j, rmseType: 1, importance: importance.map { $0 + 16 * j })
                    if abs(scales[j]) > maxAbsoluteScale {
                        maxAbsoluteScale = abs(scales[j])
                        maxScale = scales[j]
                    }
                }
                if maxAbsoluteScale < KQuantSearch.groupMaxEpsilon {
                    for i in 0..<210 { block.storeBytes(of: 0, toByteOffset: i, as: UInt8.self) }
                    return
                }
                let iscale = -128 / maxScale
                block.storeF16(1 / iscale, at: 208)
                for j in 0..<16 {
                    let scale = Int8(truncatingIfNeeded: min(127, KQuantSearch.nearestInt(iscale * scales[j])))
                    block.storeBytes(of: scale, toByteOffset: 192 + j, as: Int8.self)
                }
                let stored = UnsafeRawPointer(block)
                let dAll = stored.loadF16(at: 208)
                for j in 0..<16 {
                    let d = dAll * Float(stored.load(fromByteOffset: 192 + j, as: Int8.self))
                    if d == 0 { continue }
                    for i in 0..<16 {
                        let l = KQuantSearch.nearestInt(x[16 * j + i] / d)
                        L[16 * j + i] = Int8(max(-32, min(31, l)) + 32)
                    }
                }
                UnsafeMutableRawPointer(L).withMemoryRebound(to: UInt8.self, capacity: 256) { BlockGrid.storeLevels(.q6_K, $0, into: block) }
            }
        }
    }
}
