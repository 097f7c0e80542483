/// Copies `input` into `output`, converting element types: `f32` to `f16` to fill
/// a half-precision KV cache, any type to `f32`, or `f32` to any type that can be
/// encoded (quantizing). The two tensors have the same number of rows of the same
/// length; their shapes may otherwise differ.
public struct Conversion: Sendable {
    public let input: Tensor
    public let output: Tensor

    public init(_ input: Tensor, output: Tensor) throws {
        let name = "convert"
        try OperationChecks.requireWritable(output, in: name)
        guard output.elementType.canEncode else {
            throw TensorError.unsupportedElementType(
                operation: name, argument: "output", output.elementType, expected: "a type that can be encoded")
        }
        guard input.rowLength == output.rowLength, input.rowCount == output.rowCount else {
            throw TensorError.shapeMismatch(
                operation: name, details: "input \(input.shape) and output \(output.shape) differ in rows")
        }
        self.input = input
        self.output = output
    }

    public func computeReference() {
        // A tensor without elements may still state a huge row length or row count
        // (a [0, 2^31 − 1] or [2^31 − 1, 0] tensor in a file): the scratch row is sized
        // by the one and the loop runs over the other, so do neither.
        guard input.rowCount > 0, input.rowLength > 0 else { return }
        let n = input.rowLength
        withUnsafeTemporaryAllocation(of: Float.self, capacity: max(n, 1)) { row in
            for r in 0..<input.rowCount {
                RowCodec.decode(input.elementType, from: input.rowPointer(r), count: n, into: row.baseAddress!)
                RowCodec.encode(row.baseAddress!, count: n, as: output.elementType, into: output.mutableRowPointer(r))
            }
        }
    }
}
