/// The index of the largest value of each row of an `f32` tensor (the first one
/// when several are equal; NaN values are never chosen unless a row has nothing else).
public struct Argmax: Sendable {
    public let input: Tensor

    public init(_ input: Tensor) throws {
        try OperationChecks.requireF32(input, "input", in: "argmax")
        guard input.rowLength > 0 else {
            throw TensorError.shapeMismatch(operation: "argmax", details: "input \(input.shape) has empty rows")
        }
        self.input = input
    }

    public func computeReference() -> [Int] {
        let n = input.rowLength
        return (0..<input.rowCount).map { r in
            let x = input.floatPointer + r * n
            var best = 0
            for j in 1..<n where x[j] > x[best] || (x[best].isNaN && !x[j].isNaN) { best = j }
            return best
        }
    }
}
