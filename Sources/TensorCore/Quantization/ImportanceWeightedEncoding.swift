// The 32-value types' encoders with an importance matrix (ggml's `quantize_row_q4_0_impl`
// … `quantize_row_q5_1_impl`): each value's error weighs importance·√(σ² + x²), σ² the
// row's mean square, and the scale (and minimum) are searched for that weighted error
// instead of taken from the block's extreme values.

/// The weights of a 32-value block: importance·√(σ² + x²).
@inlinable
func importanceWeights(
    _ x: UnsafePointer<Float>, importance: UnsafePointer<Float>, rowMeanSquare sigma2: Float, into weights: UnsafeMutablePointer<Float>
) {
    for j in 0..<32 { weights[j] = importance[j] * (sigma2 + x[j] * x[j]).squareRoot() }
}

extension Q4_0Block {
    @inlinable
    public static func encode(
        _ x: UnsafePointer<Float>, importance: UnsafePointer<Float>, rowMeanSquare: Float, into block: UnsafeMutableRawPointer
    ) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 32) { weights in
            withUnsafeTemporaryAllocation(of: Int8.self, capacity: 32) { levels in
                let w = weights.baseAddress!, L = levels.baseAddress!
                importanceWeights(x, importance: importance, rowMeanSquare: rowMeanSquare, into: w)
                let d = KQuantSearch.symmetricScale(count: 32, levels: 8, x, into: L, rmseType: 1, importance: w)
                block.storeF16(d, at: 0)
                for j in 0..<16 {
                    let byte = UInt8(bitPattern: L[j]) | UInt8(bitPattern: L[j + 16]) << 4
                    block.storeBytes(of: byte, toByteOffset: 2 + j, as: UInt8.self)
                }
            }
        }
    }
}

extension Q5_0Block {
    @inlinable
    public static func encode(
        _ x: UnsafePointer<Float>, importance: UnsafePointer<Float>, rowMeanSquare: Float, into block: UnsafeMutableRawPointer
    ) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 32) { weights in
            withUnsafeTemporaryAllocation(of: Int8.self, capacity: 32) { levels in
                let w = weights.baseAddress!, L = levels.baseAddress!
                importanceWeights(x, importance: importance, rowMeanSquare: rowMeanSquare, into: w)
                let d = KQuantSearch.symmetricScale(count: 32, levels: 16, x, into: L, rmseType: 1, importance: w)
                block.storeF16(d, at: 0)
                storeFiveBitLevels({ UInt8(bitPattern: L[$0]) }, highBitsAt: 2, lowBitsAt: 6, into: block)
            }
        }
    }
}

extension Q4_1Block {
    @inlinable
    public static func encode(
        _ x: UnsafePointer<Float>, importance: UnsafePointer<Float>, rowMeanSquare: Float, into block: UnsafeMutableRawPointer
    ) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 32) { weights in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { levels in
                let w = weights.baseAddress!, L = levels.baseAddress!
                importanceWeights(x, importance: importance, rowMeanSquare: rowMeanSquare, into: w)
                let (d, minimum) = KQuantSearch.affineScaleWeighted(
                    count: 32, levels: 15, x, weights: w, into: L, scratch: L + 32, rmin: -0.9, rdelta: 0.05, steps: 36,
                    absoluteError: false)
                block.storeF16(d, at: 0)
                block.storeF16(-minimum, at: 2)
                for j in 0..<16 { block.storeBytes(of: L[j] | L[j + 16] << 4, toByteOffset: 4 + j, as: UInt8.self) }
            }
        }
    }
}

extension Q5_1Block {
    @inlinable
    public static func encode(
        _ x: UnsafePointer<Float>, importance: UnsafePointer<Float>, rowMeanSquare: Float, into block: UnsafeMutableRawPointer
    ) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 32) { weights in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { levels in
                let w = weights.baseAddress!, L = levels.baseAddress!
                importanceWeights(x, importance: importance, rowMeanSquare: rowMeanSquare, into: w)
                let (d, minimum) = KQuantSearch.affineScaleWeighted(
                    count: 32, levels: 31, x, weights: w, into: L, scratch: L + 32, rmin: -0.9, rdelta: 0.05, steps: 36,
                    absoluteError: false)
                block.storeF16(d, at: 0)
                block.storeF16(-minimum, at: 2)
                storeFiveBitLevels({ L[$0] }, highBitsAt: 4, lowBitsAt: 8, into: block)
            }
        }
    }
}

/// Stores 32 five-bit levels as `Q5_0`/`Q5_1` do: low nibbles of values j and j + 16 in
/// byte j, the fifth bits as bit j (and j + 16) of a little-endian `UInt32`.
@inlinable
func storeFiveBitLevels(
    _ level: (Int) -> UInt8, highBitsAt highOffset: Int, lowBitsAt lowOffset: Int, into block: UnsafeMutableRawPointer
) {
    var highBits: UInt32 = 0
    for j in 0..<16 {
        let low = level(j), high = level(j + 16)
        block.storeBytes(of: (low & 0x0F) | (high & 0x0F) << 4, toByteOffset: lowOffset + j, as: UInt8.self)
        highBits |= UInt32((low & 0x10) >> 4) << UInt32(j) | UInt32((high & 0x10) >> 4) << UInt32(j + 16)
    }
    block.storeBytes(of: highBits.littleEndian, toByteOffset: highOffset, as: UInt32.self)
}
