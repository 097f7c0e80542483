/// The values an encoded block can hold once its header (scales, minimums) is fixed: for
/// every position j, `step[j] · level + offset[j]` with `level` in `0...maximumLevel`.
/// Error-compensating quantizers (GPTQ) choose a block's header first, as the encoder
/// does, then pick each value's level one at a time; ``storeLevels(_:_:into:)`` writes the
/// levels under the header.
public enum BlockGrid {
    /// The largest level of `type` (`q4_0`: 15, `q6_K`: 63), or nil for a type without
    /// blocks of levels.
    public static func maximumLevel(of type: ElementType) -> Int? {
        switch type {
        case .q4_0, .q4_1, .q4_K: 15
        case .q5_0, .q5_1, .q5_K: 31
        case .q8_0: 255
        case .q2_K: 3
        case .q3_K: 7
        case .q6_K: 63
        case .f32, .f16, .bf16, .q8_K: nil
        }
    }

    /// Fills `steps` and `offsets` (`type.blockLength` each) from the header of `block`.
    public static func grid(
        _ type: ElementType, block: UnsafeRawPointer, steps: UnsafeMutablePointer<Float>, offsets: UnsafeMutablePointer<Float>
    ) {
        func fill(_ range: Range<Int>, _ step: Float, _ offset: Float) {
            for j in range {
                steps[j] = step
                offsets[j] = offset
            }
        }
        switch type {
        case .q4_0: let d = block.loadF16(at: 0); fill(0..<32, d, -8 * d)
        case .q5_0: let d = block.loadF16(at: 0); fill(0..<32, d, -16 * d)
        case .q8_0: let d = block.loadF16(at: 0); fill(0..<32, d, -128 * d)
        case .q4_1, .q5_1: fill(0..<32, block.loadF16(at: 0), block.loadF16(at: 2))
        case .q2_K:
            let d = block.loadF16(at: 80), dmin = block.loadF16(at: 82)
            for g in 0..<16 {
                let sc = block.loadByte(at: g)
                fill(g * 16..<(g + 1) * 16, d * Float(sc & 0x0F), -(dmin * Float(sc >> 4)))
            }
        case .q3_K:
            let d = block.loadF16(at: 108)
            for g in 0..<16 {
                let low = (block.loadByte(at: 96 + g % 8) >> UInt8(4 * (g / 8))) & 0x0F
                let high = (block.loadByte(at: 104 + g % 4) >> UInt8(2 * (g / 4))) & 0x03
                let s = d * Float(Int(low | high << 4) - 32)
                fill(g * 16..<(g + 1) * 16, s, -4 * s)
            }
        case .q4_K, .q5_K:
            let d = block.loadF16(at: 0), dmin = block.loadF16(at: 2)
            for g in 0..<8 {
                let (scale, minimum) = KQuantScales.group(g, in: block + 4)
                fill(g * 32..<(g + 1) * 32, d * Float(scale), -(dmin * Float(minimum)))
            }
        case .q6_K:
            let d = block.loadF16(at: 208)
            for g in 0..<16 {
                let s = d * Float(block.load(fromByteOffset: 192 + g, as: Int8.self))
                fill(g * 16..<(g + 1) * 16, s, -32 * s)
            }
        case .f32, .f16, .bf16, .q8_K:
            preconditionFailure("\(type) has no grid of levels")
        }
    }

    /// Writes `levels` (`type.blockLength` of them, each at most ``maximumLevel(of:)``)
    /// into `block`, keeping its header.
    public static func storeLevels(_ type: ElementType, _ L: UnsafePointer<UInt8>, into block: UnsafeMutableRawPointer) {
        func nibbles(at offset: Int) {
            for j in 0..<16 { block.storeBytes(of: (L[j] & 0x0F) | (L[j + 16] & 0x0F) << 4, toByteOffset: offset + j, as: UInt8.self) }
        }
        switch type {
        case .q4_0: nibbles(at: 2)
        case .q4_1: nibbles(at: 4)
        case .q5_0: storeFiveBitLevels({ L[$0] }, highBitsAt: 2, lowBitsAt: 6, into: block)
        case .q5_1: storeFiveBitLevels({ L[$0] }, highBitsAt: 4, lowBitsAt: 8, into: block)
        case .q8_0:
            for j in 0..<32 { block.storeBytes(of: Int8(truncatingIfNeeded: Int(L[j]) - 128), toByteOffset: 2 + j, as: Int8.self) }
        case .q2_K: KQuantPacking.storeTwoBitValues(L, into: block + 16)
        case .q3_K:
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256) { low in
                for i in 0..<32 { block.storeBytes(of: 0, toByteOffset: i, as: UInt8.self) }
                for j in 0..<256 {
                    low[j] = L[j] & 3
                    if L[j] > 3 {
                        block.storeBytes(
                            of: block.load(fromByteOffset: j % 32, as: UInt8.self) | UInt8(1) << UInt8(j / 32), toByteOffset: j % 32,
                            as: UInt8.self)
                    }
                }
                KQuantPacking.storeTwoBitValues(low.baseAddress!, into: block + 32)
            }
        case .q4_K:
            for half in 0..<4 {
                for l in 0..<32 {
                    block.storeBytes(of: (L[half * 64 + l] & 0x0F) | (L[half * 64 + 32 + l] & 0x0F) << 4, toByteOffset: 16 + half * 32 + l, as: UInt8.self)
                }
            }
        case .q5_K:
            for l in 0..<32 {
                var high: UInt8 = 0
                for half in 0..<4 {
                    let l1 = L[half * 64 + l], l2 = L[half * 64 + 32 + l]
                    if l1 > 15 { high |= UInt8(1) << UInt8(2 * half) }
                    if l2 > 15 { high |= UInt8(2) << UInt8(2 * half) }
                    block.storeBytes(of: (l1 & 0x0F) | (l2 & 0x0F) << 4, toByteOffset: 48 + half * 32 + l, as: UInt8.self)
                }
                block.storeBytes(of: high, toByteOffset: 16 + l, as: UInt8.self)
            }
        case .q6_K:
            for half in 0..<2 {
                let j = half * 128
                for l in 0..<32 {
                    let q0 = L[j + l], q1 = L[j + l + 32], q2 = L[j + l + 64], q3 = L[j + l + 96]
                    block.storeBytes(of: (q0 & 0x0F) | (q2 & 0x0F) << 4, toByteOffset: half * 64 + l, as: UInt8.self)
                    block.storeBytes(of: (q1 & 0x0F) | (q3 & 0x0F) << 4, toByteOffset: half * 64 + 32 + l, as: UInt8.self)
                    let high = (q0 >> 4) | (q1 >> 4) << 2 | (q2 >> 4) << 4 | (q3 >> 4) << 6
                    block.storeBytes(of: high, toByteOffset: 128 + half * 32 + l, as: UInt8.self)
                }
            }
        case .f32, .f16, .bf16, .q8_K:
            preconditionFailure("\(type) has no levels")
        }
    }
}
