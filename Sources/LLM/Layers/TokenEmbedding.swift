import TensorCore

/// The token embedding table `[vocabulary, width]`, in any element type; a row per id.
public struct TokenEmbedding: Sendable {
    public let table: Tensor
    public var vocabularySize: Int { table.shape[0] }
    public var width: Int { table.shape[1] }

    public init(table: Tensor) { self.table = table }

    /// The rows of `ids`.
    public func callAsFunction(_ ids: [Int], into output: Tensor, backend: any Backend) throws {
        if let bad = ids.first(where: { $0 < 0 || $0 >= vocabularySize }) {
            throw ModelError.invalidToken(bad, vocabularySize: vocabularySize)
        }
        try backend.embedding(table, ids: ids, into: output)
    }
}
