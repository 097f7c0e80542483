/// `output[i] = table[ids[i]]`: the rows of an embedding table (any element type)
/// for a list of token ids, decoded to `f32`.
public struct EmbeddingLookup: Sendable {
    /// Shape `[vocabulary, width]`, any element type.
    public let table: Tensor
    /// Row indices into `table`.
    public let ids: [Int]
    /// `f32`, `ids.count` rows of length `width`.
    public let output: Tensor

    public init(table: Tensor, ids: [Int], output: Tensor) throws {
        let name = "embedding"
        try OperationChecks.requireRank(table, 2, "table", in: name)
        try OperationChecks.requireF32(output, "output", in: name)
        try OperationChecks.requireWritable(output, in: name)
        guard output.rowCount == ids.count, output.rowLength == table.rowLength else {
            throw TensorError.shapeMismatch(
                operation: name,
                details: "\(ids.count) ids from table \(table.shape) give [\(ids.count), \(table.rowLength)], but output is \(output.shape)")
        }
        if let bad = ids.first(where: { $0 < 0 || $0 >= table.shape[0] }) {
            throw TensorError.invalidArgument(
                operation: name, details: "id \(bad) is outside the table's \(table.shape[0]) rows")
        }
        self.table = table
        self.ids = ids
        self.output = output
    }

    /// The reference computation: decode each selected row.
    public func computeReference() {
        let width = table.rowLength
        for (i, id) in ids.enumerated() {
            RowCodec.decode(
                table.elementType, from: table.rowPointer(id), count: width, into: output.mutableFloatPointer + i * width)
        }
    }
}
