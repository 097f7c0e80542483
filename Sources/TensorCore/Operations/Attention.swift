/// Scaled dot-product attention of a block of queries over a key/value cache, with
/// grouped-query heads:
/// `output[i, h] = Σ_j softmax_j(scale · q[i, h] · k[j, g] + mask[i, j]) · v[j, g]`,
/// where `g = h / (heads / kvHeads)` is the key/value head that query head `h` shares
/// with the other heads of its group.
///
/// One operation rather than a composition of matrix products, a mask and a softmax,
/// because the fast way to compute it (a streaming softmax that never materialises
/// the `[queries, keys]` score matrix per head, or a batched matrix product on a GPU)
/// depends on the backend.
public struct Attention: Sendable {
    /// `f32`, shape `[queries, heads, headWidth]`.
    public let query: Tensor
    /// `f32` or `f16`, shape `[keys, kvHeads, headWidth]`: the cache up to the last
    /// position any query sees.
    public let keys: Tensor
    /// `f32` or `f16`, the shape of `keys`.
    public let values: Tensor
    /// Which keys each query sees.
    public let mask: AttentionMask
    /// The factor applied to the dot products, usually `1 / √headWidth`.
    public let scale: Float
    /// `f32`, the shape of `query`.
    public let output: Tensor

    /// The number of queries.
    public var queryCount: Int { query.shape[0] }
    /// The number of query heads.
    public var headCount: Int { query.shape[1] }
    /// The number of key/value heads.
    public var kvHeadCount: Int { keys.shape[1] }
    /// The width of a head.
    public var headWidth: Int { query.shape[2] }
    /// The number of keys.
    public var keyCount: Int { keys.shape[0] }

    public init(
        query: Tensor, keys: Tensor, values: Tensor, mask: AttentionMask, scale: Float, output: Tensor
    ) throws {
        let name = "attention"
        try OperationChecks.requireF32(query, "query", in: name)
        try OperationChecks.requireF32(output, "output", in: name)
        try OperationChecks.requireWritable(output, in: name)
        try OperationChecks.requireRank(query, 3, "query", in: name)
        try OperationChecks.requireRank(keys, 3, "keys", in: name)
        try OperationChecks.requireSameShape(keys, "keys", values, "values", in: name)
        try OperationChecks.requireSameShape(query, "query", output, "output", in: name)
        func requireCacheType(_ tensor: Tensor, _ argument: String) throws {
            guard tensor.elementType == .f32 || tensor.elementType == .f16 else {
                throw TensorError.unsupportedElementType(
                    operation: name, argument: argument, tensor.elementType, expected: "f32 or f16")
            }
        }
        try requireCacheType(keys, "keys")
        try requireCacheType(values, "values")
        guard keys.shape[2] == query.shape[2] else {
            throw TensorError.shapeMismatch(
                operation: name, details: "query \(query.shape) and keys \(keys.shape) have different head widths")
        }
        guard keys.shape[1] > 0, query.shape[1] % keys.shape[1] == 0 else {
            throw TensorError.shapeMismatch(
                operation: name,
                details: "the \(query.shape[1]) query heads of \(query.shape) are not a multiple of the \(keys.shape[1]) key/value heads of \(keys.shape)")
        }
        switch mask {
        case .none:
            break
        case let .causal(first, window):
            guard first >= 0, first + query.shape[0] <= keys.shape[0] else {
                throw TensorError.shapeMismatch(
                    operation: name,
                    details: "causal queries at positions \(first)..<\(first + query.shape[0]) need at least that many keys, but keys are \(keys.shape)")
            }
            if let window, window < 1 {
                throw TensorError.invalidArgument(operation: name, details: "a sliding window must be at least 1, not \(window)")
            }
        case let .additive(maskTensor):
            try OperationChecks.requireF32(maskTensor, "mask", in: name)
            guard maskTensor.shape == [query.shape[0], keys.shape[0]] else {
                throw TensorError.shapeMismatch(
                    operation: name,
                    details: "mask \(maskTensor.shape) must be [queries, keys] = [\(query.shape[0]), \(keys.shape[0])]")
            }
        }
        self.query = query
        self.keys = keys
        self.values = values
        self.mask = mask
        self.scale = scale
        self.output = output
    }

    /// The reference computation: for each query and head, all scores, a softmax
    /// (``Softmax/normalize(_:count:)``), and the weighted sum of values in `Double`.
    public func computeReference() {
        let width = headWidth, heads = headCount, groupSize = headCount / kvHeadCount
        let keyRows = keys.floats(), valueRows = values.floats()
        let additive: Tensor? = if case let .additive(m) = mask { m } else { nil }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: max(keyCount, 1)) { scores in
            for i in 0..<queryCount {
                for h in 0..<heads {
                    let g = h / groupSize
                    let q = query.floatPointer + (i * heads + h) * width
                    for j in 0..<keyCount {
                        guard mask.allows(query: i, key: j) else {
                            scores[j] = -.infinity
                            continue
                        }
                        let k = (j * kvHeadCount + g) * width
                        var dot = 0.0
                        for l in 0..<width { dot += Double(q[l]) * Double(keyRows[k + l]) }
                        scores[j] = Float(dot) * scale + (additive.map { $0.floatPointer[i * keyCount + j] } ?? 0)
                    }
                    Softmax.normalize(scores.baseAddress!, count: keyCount)
                    let y = output.mutableFloatPointer + (i * heads + h) * width
                    for l in 0..<width {
                        var sum = 0.0
                        for j in 0..<keyCount where scores[j] != 0 {
                            sum += Double(scores[j]) * Double(valueRows[(j * kvHeadCount + g) * width + l])
                        }
                        y[l] = Float(sum)
                    }
                }
            }
        }
    }
}
