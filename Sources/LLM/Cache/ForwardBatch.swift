import TensorCore

/// The rows of one forward pass, which may belong to several sequences: each
/// sequence's rows are consecutive and continue its own KV cache at its own position.
///
/// One sequence's prompt step is a batch of one sequence; a server's decode step is a
/// batch of one row for each of its active sequences, so that every matrix product reads
/// the weights once for all of them (matrix-matrix products instead of one
/// matrix-vector product per sequence). Only attention, which reads each sequence's own
/// cache, runs per sequence.
///
/// An architecture's ``TransformerModel/forward(_:)`` reads the batch like this:
///
/// ```swift
/// let n = batch.rowCount
/// let x = try batch.scratch.stream.rows(0..<n)
/// try embedding(batch.tokens, into: x, backend: backend)
/// for (index, block) in blocks.enumerated() {
///     …
///     try block.attention(h, batch: batch, layer: index, into: r, backend: backend)
///     …
/// }
/// batch.advanceCaches()
/// try writeLogits(hidden: x, outputNorm: outputNorm, output: output, batch: batch)
/// ```
public struct ForwardBatch {
    /// The rows of one sequence in a batch.
    public struct Sequence {
        /// The sequence's state: its KV cache receives the rows' keys and values, and its
        /// ``InferenceState/lastLogits`` the logits of its last row.
        public let state: InferenceState
        /// The sequence's rows in the batch.
        public let rows: Range<Int>
        /// The position of the sequence's first row (the positions its cache held before).
        public let position: Int

        init(state: InferenceState, rows: Range<Int>, position: Int) {
            self.state = state
            self.rows = rows
            self.position = position
        }
    }

    /// The token of each row, the sequences one after another.
    public let tokens: [Int]
    /// The position of each row in its sequence (for RoPE).
    public let positions: [Int]
    /// The sequences, in row order.
    public let sequences: [Sequence]
    /// Scratch tensors with room for ``rowCount`` rows.
    public let scratch: DecoderScratch
    /// When given (`[rowCount, vocabulary]`, a batch of one sequence only), receives the
    /// logits of every row.
    public let allLogits: Tensor?
    /// The last rows' logits of a batch of several sequences (`[≥ sequences, vocabulary]`),
    /// copied from there into each state.
    let sequenceLogits: Tensor?

    /// The number of rows.
    public var rowCount: Int { tokens.count }

    init(
        tokens: [Int], positions: [Int], sequences: [Sequence], scratch: DecoderScratch, allLogits: Tensor?,
        sequenceLogits: Tensor?
    ) {
        self.tokens = tokens
        self.positions = positions
        self.sequences = sequences
        self.scratch = scratch
        self.allLogits = allLogits
        self.sequenceLogits = sequenceLogits
    }

    /// Marks the rows of every sequence as stored in its cache; call it after the last
    /// layer.
    public func advanceCaches() {
        for sequence in sequences { sequence.state.cache.advance(to: sequence.position + sequence.rows.count) }
    }
}

/// The scratch of forward passes over several sequences at once (``ForwardBatch``): room
/// for `rowCapacity` rows of up to `sequenceCapacity` sequences, allocated once and
/// reused by every pass. The sequences' own states keep their caches; their scratch is
/// not used by such a pass. A workspace is used by one task at a time.
public final class BatchWorkspace: @unchecked Sendable {
    /// The most rows one pass takes.
    public let rowCapacity: Int
    /// The most sequences one pass takes.
    public let sequenceCapacity: Int
    let scratch: DecoderScratch
    let logits: Tensor
    private let vocabularySize: Int

    /// A workspace for `configuration`'s model (the decoder blocks of this library).
    public init(configuration: ModelConfiguration, rowCapacity: Int, sequenceCapacity: Int) throws {
        guard rowCapacity > 0, sequenceCapacity > 0, sequenceCapacity <= rowCapacity else {
            throw ModelError.invalidParameter(
                name: "sequenceCapacity", value: "\(sequenceCapacity)",
                reason: "must be positive and at most the row capacity \(rowCapacity)")
        }
        self.rowCapacity = rowCapacity
        self.sequenceCapacity = sequenceCapacity
        vocabularySize = configuration.vocabularySize
        scratch = try DecoderScratch(configuration: configuration, batchCapacity: rowCapacity)
        logits = try Tensor(zeros: [sequenceCapacity, configuration.vocabularySize])
    }

    /// The batch of `entries`, checked: each state at most once, the tokens of each not
    /// empty and fitting in its cache, all of them within the workspace's capacities.
    func batch(_ entries: [(state: InferenceState, tokens: ArraySlice<Int>)]) throws -> ForwardBatch {
        guard !entries.isEmpty, entries.count <= sequenceCapacity else {
            throw ModelError.invalidConfiguration("a batched forward pass takes 1 to \(sequenceCapacity) sequences, not \(entries.count)")
        }
        var tokens: [Int] = [], positions: [Int] = [], sequences: [ForwardBatch.Sequence] = []
        sequences.reserveCapacity(entries.count)
        for (state, stateTokens) in entries {
            guard !stateTokens.isEmpty else { throw ModelError.invalidConfiguration("a sequence in a batch has no tokens") }
            guard !sequences.contains(where: { $0.state === state }) else {
                throw ModelError.invalidConfiguration("a sequence appears twice in one batch")
            }
            let position = state.position
            guard position + stateTokens.count <= state.cache.capacity else {
                throw ModelError.promptTooLong(tokens: position + stateTokens.count, context: state.cache.capacity)
            }
            guard stateTokens.allSatisfy({ $0 >= 0 && $0 < vocabularySize }) else {
                throw ModelError.invalidConfiguration("a token id is outside the vocabulary of \(vocabularySize)")
            }
            sequences.append(.init(state: state, rows: tokens.count..<tokens.count + stateTokens.count, position: position))
            tokens += stateTokens
            positions += position..<position + stateTokens.count
        }
        guard tokens.count <= rowCapacity else {
            throw ModelError.invalidConfiguration("a batched forward pass takes at most \(rowCapacity) rows, not \(tokens.count)")
        }
        return ForwardBatch(
            tokens: tokens, positions: positions, sequences: sequences, scratch: scratch, allLogits: nil,
            sequenceLogits: logits)
    }
}

extension TransformerModel {
    /// Runs one forward pass over several sequences at once: each entry's tokens are
    /// added to its state's cache, and the logits of its last token are written to its
    /// ``InferenceState/lastLogits``.
    ///
    /// The matrix products read the weights once for all the rows, so a decode step of
    /// eight sequences costs little more than one. Each state appears at most once; the
    /// rows and sequences must fit in `workspace`.
    public func forward(_ entries: [(state: InferenceState, tokens: ArraySlice<Int>)], workspace: BatchWorkspace) throws {
        try forward(workspace.batch(entries))
    }

    /// The default for an architecture that processes one sequence at a time: each
    /// sequence of the batch in a forward pass of its own, with its own state's scratch.
    public func forward(_ batch: ForwardBatch) throws {
        if let allLogits = batch.allLogits, batch.sequences.count == 1 {
            try forward(batch.tokens, state: batch.sequences[0].state, allLogits: allLogits)
            return
        }
        for sequence in batch.sequences {
            _ = try process(Array(batch.tokens[sequence.rows]), state: sequence.state)
        }
    }
}
