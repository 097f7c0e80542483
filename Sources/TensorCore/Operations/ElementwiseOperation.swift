/// `output = a + b` or `output = a × b`, element by element, on `f32` tensors of
/// the same shape, or with `b` one row that applies to every row of `a` (a bias:
/// `b` of shape `[a.rowLength]`). The output may be one of the inputs (in-place).
public struct ElementwiseOperation: Sendable {
    /// The arithmetic to apply.
    public enum Kind: String, Sendable, CaseIterable {
        case add
        case multiply
    }

    public let kind: Kind
    public let a: Tensor
    public let b: Tensor
    public let output: Tensor

    public init(_ kind: Kind, _ a: Tensor, _ b: Tensor, output: Tensor) throws {
        let name = kind.rawValue
        try OperationChecks.requireF32(a, "a", in: name)
        try OperationChecks.requireF32(b, "b", in: name)
        try OperationChecks.requireF32(output, "output", in: name)
        try OperationChecks.requireWritable(output, in: name)
        if b.shape.count != 1 || b.shape[0] != a.rowLength || a.shape.count == 1 {
            try OperationChecks.requireSameShape(a, "a", b, "b", in: name)
        }
        try OperationChecks.requireSameShape(a, "a", output, "output", in: name)
        self.kind = kind
        self.a = a
        self.b = b
        self.output = output
    }

    /// Whether `b` is one row applied to every row of `a`.
    public var broadcastsRow: Bool { b.elementCount != a.elementCount }

    public func computeReference() {
        let x = a.floatPointer, y = b.floatPointer, z = output.mutableFloatPointer
        let period = b.elementCount
        switch kind {
        case .add: for i in 0..<a.elementCount { z[i] = x[i] + y[i % period] }
        case .multiply: for i in 0..<a.elementCount { z[i] = x[i] * y[i % period] }
        }
    }
}
