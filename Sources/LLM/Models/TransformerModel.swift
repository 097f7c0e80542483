import TensorCore

/// A decoder-only transformer that turns token ids into next-token logits.
///
/// Implementations (``LlamaModel``, ``Gemma3Model``) are immutable and `Sendable`: the
/// weights are shared, and each sequence keeps its own ``InferenceState`` (KV cache
/// and scratch), so many tasks can run one model at once.
public protocol TransformerModel: Sendable {
    var configuration: ModelConfiguration { get }
    var backend: any Backend { get }

    /// A state for one sequence: a KV cache of `context` positions (`f32` or `f16`) and
    /// scratch for `batchCapacity` tokens per forward pass.
    func makeState(context: Int, batchCapacity: Int, cacheType: ElementType) throws -> InferenceState

    /// Processes `tokens` at the positions after those already in `state`'s cache and
    /// adds them to it. Writes the logits of the last token to `state.lastLogits`, and,
    /// when `allLogits` is given (`[tokens.count, vocabulary]`), the logits of every
    /// token there. `tokens.count` must not exceed the state's batch capacity.
    func forward(_ tokens: [Int], state: InferenceState, allLogits: Tensor?) throws

    /// Processes the rows of `batch`, which may belong to several sequences (see
    /// ``ForwardBatch``): adds each sequence's rows to its cache and writes the logits of
    /// its last row to its state's ``InferenceState/lastLogits``. The default runs each
    /// sequence in a pass of its own; the architectures of this library run the batch in
    /// one pass, so that its matrix products read the weights once.
    func forward(_ batch: ForwardBatch) throws
}

extension TransformerModel {
    /// Checks a forward pass's arguments against the state.
    public func checkForward(_ tokens: [Int], state: InferenceState, allLogits: Tensor?) throws {
        guard !tokens.isEmpty, tokens.count <= state.batchCapacity else {
            throw ModelError.invalidConfiguration("a forward pass takes 1 to \(state.batchCapacity) tokens, not \(tokens.count)")
        }
        guard state.position + tokens.count <= state.cache.capacity else {
            throw ModelError.promptTooLong(tokens: state.position + tokens.count, context: state.cache.capacity)
        }
        if let allLogits, allLogits.shape != [tokens.count, configuration.vocabularySize] {
            throw ModelError.invalidConfiguration("logits need shape [\(tokens.count), \(configuration.vocabularySize)], not \(allLogits.shape)")
        }
    }

    /// Runs a forward pass of `tokens` for one sequence as a ``ForwardBatch`` of one
    /// sequence over the state's own scratch, after checking the arguments with
    /// ``checkForward(_:state:allLogits:)``: how the architectures of this library
    /// implement ``forward(_:state:allLogits:)``.
    public func forwardOneSequence(_ tokens: [Int], state: InferenceState, allLogits: Tensor?) throws {
        try checkForward(tokens, state: state, allLogits: allLogits)
        defer { state.endSingleSequenceBatch() }
        try forward(state.singleSequenceBatch(tokens, allLogits: allLogits))
    }

    /// The final norm and output projection: the last row's logits of each sequence of
    /// `batch` into its state's ``InferenceState/lastLogits``, and every row's into the
    /// batch's ``ForwardBatch/allLogits`` when it has them.
    public func writeLogits(hidden x: Tensor, outputNorm: RMSNorm, output: Linear, batch: ForwardBatch) throws {
        let n = x.rowCount
        let scratch = batch.scratch
        if batch.sequences.count == 1 {
            let state = batch.sequences[0].state
            if let allLogits = batch.allLogits {
                let normed = try scratch.normalized.rows(0..<n)
                try outputNorm(x, into: normed, backend: backend)
                try output(normed, into: allLogits, backend: backend)
                state.lastLogits.mutableRawPointer.copyMemory(from: allLogits.rowPointer(n - 1), byteCount: allLogits.rowByteCount)
            } else {
                let normed = try scratch.normalized.rows(0..<1)
                try outputNorm(x.rows(n - 1..<n), into: normed, backend: backend)
                try output(normed, into: state.lastLogits, backend: backend)
            }
            return
        }
        // Several sequences: their last rows gathered, then one norm and one product.
        guard batch.allLogits == nil, let sequenceLogits = batch.sequenceLogits else {
            throw ModelError.invalidConfiguration("every row's logits can be asked of a batch of one sequence only")
        }
        let m = batch.sequences.count
        let gathered = try scratch.layerOutput.rows(0..<m), normed = try scratch.normalized.rows(0..<m)
        for (i, sequence) in batch.sequences.enumerated() {
            gathered.mutableRowPointer(i).copyMemory(from: x.rowPointer(sequence.rows.upperBound - 1), byteCount: x.rowByteCount)
        }
        try outputNorm(gathered, into: normed, backend: backend)
        let logits = try sequenceLogits.rows(0..<m)
        try output(normed, into: logits, backend: backend)
        for (i, sequence) in batch.sequences.enumerated() {
            sequence.state.lastLogits.mutableRawPointer.copyMemory(from: logits.rowPointer(i), byteCount: logits.rowByteCount)
        }
    }

    /// Runs `tokens` through the model in steps of at most the state's batch capacity
    /// and returns the last token's logits.
    public func process(_ tokens: [Int], state: InferenceState) throws -> [Float] {
        _ = try process(tokens, state: state, stoppingWhen: { false })
        return state.lastLogits.floats()
    }

    /// Runs `tokens` through the model in steps of at most the state's batch capacity,
    /// asking `shouldStop` between two steps; returns how many tokens were processed (all
    /// of them unless it said to stop). The last processed token's logits are in
    /// `state.lastLogits`.
    public func process(_ tokens: [Int], state: InferenceState, stoppingWhen shouldStop: () -> Bool) throws -> Int {
        var start = 0
        while start < tokens.count {
            if start > 0, shouldStop() { return start }
            let end = min(tokens.count, start + state.batchCapacity)
            try forward(Array(tokens[start..<end]), state: state, allLogits: nil)
            start = end
        }
        return tokens.count
    }
}
