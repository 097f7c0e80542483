import TensorCore

/// Everything one sequence needs while running through a model: its KV cache and
/// scratch tensors for a batch of up to ``batchCapacity`` tokens, allocated once.
/// A state is used by one task at a time; a model can serve many states at once.
public final class InferenceState: @unchecked Sendable {
    public let cache: KVCache
    /// The most tokens one forward pass takes (the prefill step).
    public let batchCapacity: Int
    /// The scratch tensors of a forward pass, `batchCapacity` rows each.
    public let scratch: DecoderScratch
    /// The logits of the last position of the last forward pass.
    public let lastLogits: Tensor
    /// The positions of the tokens of a forward pass, refilled in place (see
    /// ``positions(_:)``).
    private var positionList: [Int] = []
    /// The entry of this state's one-sequence batches, refilled in place.
    private var singleSequence: [ForwardBatch.Sequence] = []

    /// A state over `cache` with `scratch` for up to `batchCapacity` tokens a pass.
    public init(cache: KVCache, batchCapacity: Int, scratch: DecoderScratch, vocabularySize: Int) throws {
        self.cache = cache
        self.batchCapacity = batchCapacity
        self.scratch = scratch
        lastLogits = try Tensor(zeros: [1, vocabularySize])
        positionList.reserveCapacity(batchCapacity)
        singleSequence.reserveCapacity(1)
    }

    /// A state with the KV cache and scratch of the decoder blocks in this library.
    public convenience init(configuration c: ModelConfiguration, context: Int, batchCapacity: Int, cacheType: ElementType) throws {
        let cache = try KVCache(
            layers: c.layerCount, capacity: context, kvHeads: c.kvHeadCount, headDimension: c.headDimension, elementType: cacheType)
        try self.init(
            cache: cache, batchCapacity: batchCapacity, scratch: DecoderScratch(configuration: c, batchCapacity: batchCapacity),
            vocabularySize: c.vocabularySize)
    }

    /// The positions `range` as an array for RoPE (`RotaryEmbedding` in TensorCore): the state's own array,
    /// refilled in place, so that a decoded token allocates none. The array returned by the
    /// previous call must no longer be in use (each layer's RoPE is done with it).
    public func positions(_ range: Range<Int>) -> [Int] {
        positionList.removeAll(keepingCapacity: true)
        for position in range { positionList.append(position) }
        return positionList
    }

    /// The one-sequence batch of ``TransformerModel/forwardOneSequence(_:state:allLogits:)``:
    /// built in the state's own array, refilled in place, so that a decoded token
    /// allocates none. ``endSingleSequenceBatch()`` empties it after the pass (the entry
    /// refers to this state).
    func singleSequenceBatch(_ tokens: [Int], allLogits: Tensor?) -> ForwardBatch {
        let start = position
        singleSequence.removeAll(keepingCapacity: true)
        singleSequence.append(ForwardBatch.Sequence(state: self, rows: 0..<tokens.count, position: start))
        return ForwardBatch(
            tokens: tokens, positions: positions(start..<start + tokens.count), sequences: singleSequence, scratch: scratch,
            allLogits: allLogits, sequenceLogits: nil)
    }

    /// Empties the array of ``singleSequenceBatch(_:allLogits:)``.
    func endSingleSequenceBatch() {
        singleSequence.removeAll(keepingCapacity: true)
    }

    /// The positions already processed.
    public var position: Int { cache.count }
}

/// The scratch tensors of a decoder forward pass, allocated once per sequence with room
/// for a whole batch: the residual stream, its normalised copy, a block's output, and
/// the buffers of the attention and feed-forward layers. A pass of `n` tokens uses the
/// first `n` rows of each.
public struct DecoderScratch: Sendable {
    /// The residual stream `[batch, width]`.
    public let stream: Tensor
    /// The normalised stream, the input of a layer `[batch, width]`.
    public let normalized: Tensor
    /// A layer's output before it is added to the stream `[batch, width]`.
    public let layerOutput: Tensor
    public let attention: SelfAttention.Scratch
    public let feedForward: GatedFeedForward.Scratch

    /// Scratch for `batchCapacity` tokens of a model of configuration `c`.
    public init(configuration c: ModelConfiguration, batchCapacity: Int) throws {
        stream = try Tensor(zeros: [batchCapacity, c.embeddingLength])
        normalized = try Tensor(zeros: [batchCapacity, c.embeddingLength])
        layerOutput = try Tensor(zeros: [batchCapacity, c.embeddingLength])
        attention = try SelfAttention.Scratch(
            batchCapacity: batchCapacity, headCount: c.headCount, kvHeadCount: c.kvHeadCount, headDimension: c.headDimension)
        feedForward = try GatedFeedForward.Scratch(batchCapacity: batchCapacity, innerWidth: c.feedForwardLength)
    }
}
