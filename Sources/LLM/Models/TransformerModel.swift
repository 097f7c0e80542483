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

    /// The final norm and output projection: the last row's logits into
    /// `state.lastLogits`, and every row's into `allLogits` when given.
    public func writeLogits(hidden x: Tensor, outputNorm: RMSNorm, output: Linear, state: InferenceState, allLogits: Tensor?) throws {
        let n = x.rowCount
        if let allLogits {
            let normed = try state.scratch.normalized.rows(0..<n)
            try outputNorm(x, into: normed, backend: backend)
            try output(normed, into: allLogits, backend: backend)
            state.lastLogits.mutableRawPointer.copyMemory(from: allLogits.rowPointer(n - 1), byteCount: allLogits.rowByteCount)
        } else {
            let normed = try state.scratch.normalized.rows(0..<1)
            try outputNorm(x.rows(n - 1..<n), into: normed, backend: backend)
            try output(normed, into: state.lastLogits, backend: backend)
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
