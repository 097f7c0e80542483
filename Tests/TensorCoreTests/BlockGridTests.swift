import Foundation
import Testing
import TestSupport
@testable import TensorCore

/// ``BlockGrid``: the grid a block's header fixes holds its decoded values, and writing the
/// levels read off that grid under the header gives the same block back.
struct BlockGridTests {
    @Test(arguments: ElementType.allCases.filter { BlockGrid.maximumLevel(of: $0) != nil })
    func levelsUnderAHeaderRoundTrip(type: ElementType) throws {
        var random = SeededRandom(seed: 11)
        let n = type.blockLength
        for trial in 0..<20 {
            let values = (0..<n).map { _ in gaussian(&random) * (trial % 2 == 0 ? 1 : 0.02) }
            var block = [UInt8](repeating: 0, count: type.blockByteCount)
            var decoded = [Float](repeating: 0, count: n)
            var steps = [Float](repeating: 0, count: n), offsets = [Float](repeating: 0, count: n)
            values.withUnsafeBufferPointer { RowCodec.encode($0.baseAddress!, count: n, as: type, into: &block) }
            block.withUnsafeBytes { RowCodec.decode(type, from: $0.baseAddress!, count: n, into: &decoded) }
            block.withUnsafeBytes { BlockGrid.grid(type, block: $0.baseAddress!, steps: &steps, offsets: &offsets) }
            var levels = [UInt8](repeating: 0, count: n)
            for j in 0..<n {
                try #require(steps[j] != 0, "\(type) trial \(trial): a zero scale")
                let level = ((decoded[j] - offsets[j]) / steps[j]).rounded()
                #expect(level >= 0 && level <= Float(BlockGrid.maximumLevel(of: type)!))
                levels[j] = UInt8(level)
                #expect(abs(steps[j] * level + offsets[j] - decoded[j]) <= 1e-5 * max(abs(decoded[j]), abs(steps[j])))
            }
            var rewritten = block
            levels.withUnsafeBufferPointer { BlockGrid.storeLevels(type, $0.baseAddress!, into: &rewritten) }
            #expect(rewritten == block, "\(type) trial \(trial)")
        }
    }
}

/// A standard normal draw (Box-Muller).
func gaussian(_ random: inout SeededRandom) -> Float {
    let u = Double.random(in: 1e-12..<1, using: &random), v = Double.random(in: 0..<1, using: &random)
    return Float((-2 * log(u)).squareRoot() * cos(2 * .pi * v))
}
