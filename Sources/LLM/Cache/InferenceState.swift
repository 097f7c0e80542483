import TensorCore

/// Everything one sequence needs while running through a model: its KV cache and
/// scratch tensors for a batch of up to ``batchCapacity`` tokens, allocated once.
/// A state is used by one task at a time; a model can serve many states at once.
public final class InferenceState: @unchecked Sendable {
    public let cache: KVCache
    /// The most tokens one forward pass takes (the prefill step).
    public let batchCapacity: Int
    let buffers: [String: Tensor]
    /// The logits of the last position of the last forward pass.
    public let lastLogits: Tensor
    /// The positions of the tokens of a forward pass, refilled in place (see
    /// ``positions(_:)``).
    private var positionList: [Int] = []

    init(cache: KVCache, batchCapacity: Int, buffers: [String: [Int]], vocabularySize: Int) throws {
        self.cache = cache
        self.batchCapacity = batchCapacity
        var allocated: [String: Tensor] = [:]
        for (name, rowShape) in buffers {
            allocated[name] = try Tensor(zeros: [batchCapacity] + rowShape)
        }
        self.buffers = allocated
        lastLogits = try Tensor(zeros: [1, vocabularySize])
        positionList.reserveCapacity(batchCapacity)
    }

    /// A state with the scratch buffers of the Llama-family blocks in this library:
    /// the residual stream, a normalised copy, a block output, Q/K/V and attention
    /// output, and the feed-forward gate and up projections.
    convenience init(configuration c: ModelConfiguration, context: Int, batchCapacity: Int, cacheType: ElementType) throws {
        let cache = try KVCache(
            layers: c.layerCount, capacity: context, kvHeads: c.kvHeadCount, headDimension: c.headDimension, elementType: cacheType)
        var buffers = SelfAttention.buffers(headCount: c.headCount, kvHeadCount: c.kvHeadCount, headDimension: c.headDimension)
            .merging(GatedFeedForward.buffers(feedForwardLength: c.feedForwardLength)) { a, _ in a }
        for name in ["x", "h", "residual"] { buffers[name] = [c.embeddingLength] }
        try self.init(cache: cache, batchCapacity: batchCapacity, buffers: buffers, vocabularySize: c.vocabularySize)
    }

    /// The first `rows` rows of scratch buffer `name`.
    func buffer(_ name: String, rows: Int) throws -> Tensor {
        try buffers[name]!.rows(0..<rows)
    }

    /// The positions `range` as an array for ``RotaryEmbedding``: the state's own array,
    /// refilled in place, so that a decoded token allocates none. The array returned by the
    /// previous call must no longer be in use (each layer's RoPE is done with it).
    func positions(_ range: Range<Int>) -> [Int] {
        positionList.removeAll(keepingCapacity: true)
        for position in range { positionList.append(position) }
        return positionList
    }

    /// The positions already processed.
    public var position: Int { cache.count }
}
