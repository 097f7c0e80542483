/// SplitMix64: a small generator whose sequence is fixed by its seed, so that a
/// generated test case can be replayed from the seed the test prints.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    public var state: UInt64

    public init(seed: Int) { state = UInt64(truncatingIfNeeded: seed) }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Σ(a − b)² / Σb², or infinity when either has a NaN or an infinity where the other
/// does not. Zero when both are all zeros.
public func normalizedMeanSquaredError(_ a: [Float], _ b: [Float]) -> Double {
    precondition(a.count == b.count)
    var error = 0.0, reference = 0.0
    for (x, y) in zip(a, b) {
        if x.isNaN || y.isNaN { return .infinity }
        if x.isInfinite || y.isInfinite {
            if x != y { return .infinity }
            continue
        }
        error += (Double(x) - Double(y)) * (Double(x) - Double(y))
        reference += Double(y) * Double(y)
    }
    if reference == 0 { return error == 0 ? 0 : .infinity }
    return error / reference
}
