import Foundation

/// The softmax of each row, after adding an optional mask:
/// `output[r][j] = e^(x[r][j] + mask[r][j]) / Σ_j e^(x[r][j] + mask[r][j])`.
///
/// A mask entry of `-infinity` gives its position exactly zero weight. A row whose
/// entries are all `-infinity` comes out as all zeros rather than NaN. The output
/// may be the input.
public struct Softmax: Sendable {
    /// `f32`, rows of length `n`.
    public let input: Tensor
    /// `f32`, the shape of `input`, added before the exponential; or `nil`.
    public let mask: Tensor?
    /// `f32`, the shape of `input`.
    public let output: Tensor

    public init(_ input: Tensor, mask: Tensor? = nil, output: Tensor) throws {
        let name = "softmax"
        try OperationChecks.requireF32(input, "input", in: name)
        try OperationChecks.requireF32(output, "output", in: name)
        try OperationChecks.requireWritable(output, in: name)
        try OperationChecks.requireSameShape(input, "input", output, "output", in: name)
        if let mask {
            try OperationChecks.requireF32(mask, "mask", in: name)
            try OperationChecks.requireSameShape(input, "input", mask, "mask", in: name)
        }
        self.input = input
        self.mask = mask
        self.output = output
    }

    /// Softmax of `count` values in place, with the sum in `Double`. Shared by the
    /// reference attention.
    @inlinable
    public static func normalize(_ values: UnsafeMutablePointer<Float>, count: Int) {
        var maximum = -Float.infinity
        for j in 0..<count { maximum = max(maximum, values[j]) }
        guard maximum > -.infinity else {
            values.update(repeating: 0, count: count)
            return
        }
        var sum = 0.0
        for j in 0..<count { sum += exp(Double(values[j] - maximum)) }
        for j in 0..<count { values[j] = Float(exp(Double(values[j] - maximum)) / sum) }
    }

    public func computeReference() {
        let n = input.rowLength
        for r in 0..<input.rowCount {
            let y = output.mutableFloatPointer + r * n
            let x = input.floatPointer + r * n
            for j in 0..<n { y[j] = x[j] + (mask.map { $0.floatPointer[r * n + j] } ?? 0) }
            Self.normalize(y, count: n)
        }
    }
}
