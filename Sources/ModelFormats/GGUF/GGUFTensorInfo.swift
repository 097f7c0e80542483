import TensorCore

/// Where a tensor lies in a GGUF file and what it holds.
public struct GGUFTensorInfo: Sendable, Equatable {
    /// The tensor's name (`blk.0.attn_q.weight`, …).
    public let name: String
    /// The dimensions as GGUF stores them: fastest-varying first (`ne[0]` is the row length).
    public let dimensions: [Int]
    /// The data type.
    public let type: GGMLType
    /// The offset of the data from the start of the file's data section.
    public let relativeOffset: Int
    /// The absolute offset of the data in the file.
    public let offset: Int
    /// The number of data bytes.
    public let byteCount: Int

    /// The shape in this library's row-major order (last dimension = row): the
    /// reverse of ``dimensions``. A weight `[k, m]` in GGUF is `[m, k]` here.
    public var shape: [Int] { dimensions.reversed() }

    /// The number of elements.
    public var elementCount: Int { dimensions.reduce(1, *) }
}
