import Foundation
import ModelFormats
import TensorCore

/// A backend that computes with another and records, for every matrix product with a
/// named weight, the sum of each input column's squared activation and the number of
/// input rows: the statistics of an importance matrix (llama.cpp's `llama-imatrix`).
///
/// Load the model with it (``WeightLoader`` tells it the weights' names), run text
/// through the model, then read ``importanceMatrix(datasets:chunkCount:chunkSize:)``.
/// Only weights whose name passes ``records`` are recorded: by default the layers'
/// (`blk.*`), as llama-imatrix does.
public final class ActivationRecorder: Backend, WeightNameObserver, @unchecked Sendable {
    public static let name = "activation-recorder"
    /// The backend that computes.
    public let base: any Backend
    /// Which weights are recorded.
    public let records: @Sendable (String) -> Bool
    /// Whether the full second-moment matrix Σ x xᵀ of each recorded weight's inputs is
    /// kept too (columns² floats per weight), for GPTQ.
    public let collectsSecondMoments: Bool

    private let lock = NSLock()
    /// Weight names by the address of the tensor the operations receive.
    private var names: [UnsafeRawPointer: String] = [:]
    private var sums: [String: [Float]] = [:]
    private var counts: [String: Int] = [:]
    private var moments: [String: [Float]] = [:]

    /// Records the products computed by `base` whose weight name passes `records`.
    public init(
        wrapping base: any Backend, records: @escaping @Sendable (String) -> Bool = { $0.hasPrefix("blk.") },
        collectsSecondMoments: Bool = false
    ) {
        self.base = base
        self.records = records
        self.collectsSecondMoments = collectsSecondMoments
    }

    /// A recorder computing with ``NaiveBackend``.
    public convenience init(configuration: BackendConfiguration) throws {
        self.init(wrapping: try NaiveBackend(configuration: configuration))
    }

    public var configuration: BackendConfiguration { base.configuration }

    public func didLoad(weight: Tensor, named name: String) {
        guard records(name) else { return }
        lock.withLock { names[weight.rawPointer] = name }
    }

    /// The statistics so far, as an importance matrix.
    public func importanceMatrix(datasets: [String], chunkCount: Int, chunkSize: Int) -> ImportanceMatrix {
        lock.withLock {
            var entries: [String: ImportanceMatrix.Entry] = [:]
            for (name, sum) in sums { entries[name] = .init(sums: sum, counts: [Float(counts[name] ?? 0)]) }
            return ImportanceMatrix(entries: entries, datasets: datasets, chunkCount: chunkCount, chunkSize: chunkSize)
        }
    }

    /// The second moments Σ x xᵀ of the inputs of weight `name` (columns × columns,
    /// row-major) and how many input rows they sum, when ``collectsSecondMoments``.
    public func secondMoments(of name: String) -> (values: [Float], count: Int)? {
        lock.withLock { moments[name].map { ($0, counts[name] ?? 0) } }
    }

    /// Adds XᵀX of `input`'s rows to the second moments of each of `names`, computed once by
    /// the base backend.
    private func recordSecondMoments(_ input: Tensor, names: [String]) throws {
        let rows = input.rowCount, columns = input.rowLength
        let transposed = try Tensor(zeros: [columns, rows])
        let t = transposed.mutableRawPointer.assumingMemoryBound(to: Float.self)
        guard let rowBytes = input.elementType.rowByteCount(length: columns) else { return }
        var row = [Float](repeating: 0, count: columns)
        for r in 0..<rows {
            row.withUnsafeMutableBufferPointer { RowCodec.decode(input.elementType, from: input.rawPointer + r * rowBytes, count: columns, into: $0.baseAddress!) }
            for c in 0..<columns { t[c * rows + r] = row[c] }
        }
        let product = try Tensor(zeros: [columns, columns])
        try base.matmul(transposed, weight: transposed, into: product)
        let p = product.rawPointer.assumingMemoryBound(to: Float.self)
        lock.withLock {
            for name in names {
                var sum = moments[name] ?? [Float](repeating: 0, count: columns * columns)
                guard sum.count == columns * columns else { continue }
                moments[name] = nil
                for i in 0..<columns * columns { sum[i] += p[i] }
                moments[name] = sum
            }
        }
    }

    /// Adds `input`'s rows to the statistics of `weight`, if it is recorded.
    private func record(_ input: Tensor, weight: Tensor) {
        guard let name = lock.withLock({ names[weight.rawPointer] }) else { return }
        let rows = input.rowCount, columns = input.rowLength
        guard let rowBytes = input.elementType.rowByteCount(length: columns) else { return }
        var row = [Float](repeating: 0, count: columns)
        lock.withLock {
            var sum = sums[name] ?? [Float](repeating: 0, count: columns)
            guard sum.count == columns else { return }
            row.withUnsafeMutableBufferPointer { x in
                sum.withUnsafeMutableBufferPointer { acc in
                    for r in 0..<rows {
                        RowCodec.decode(input.elementType, from: input.rawPointer + r * rowBytes, count: columns, into: x.baseAddress!)
                        for j in 0..<columns { acc[j] += x[j] * x[j] }
                    }
                }
            }
            sums[name] = sum
            counts[name, default: 0] += rows
        }
    }

    public func prepare(weight: Tensor) throws -> Tensor { try base.prepare(weight: weight) }

    public func execute(_ operation: MatrixMultiplication) throws {
        try recordAll(operation.input, weights: [operation.weight])
        try base.execute(operation)
    }

    public func execute(_ operation: SharedInputMatrixMultiplication) throws {
        try recordAll(operation.input, weights: operation.parts.map(\.weight))
        try base.execute(operation)
    }

    private func recordAll(_ input: Tensor, weights: [Tensor]) throws {
        for weight in weights { record(input, weight: weight) }
        guard collectsSecondMoments else { return }
        let recorded = lock.withLock { weights.compactMap { names[$0.rawPointer] } }
        if !recorded.isEmpty { try recordSecondMoments(input, names: recorded) }
    }

    public func execute(_ operation: EmbeddingLookup) throws { try base.execute(operation) }
    public func execute(_ operation: ElementwiseOperation) throws { try base.execute(operation) }
    public func execute(_ operation: Scaling) throws { try base.execute(operation) }
    public func execute(_ operation: RMSNormalization) throws { try base.execute(operation) }
    public func execute(_ operation: RotaryEmbedding) throws { try base.execute(operation) }
    public func execute(_ operation: Softmax) throws { try base.execute(operation) }
    public func execute(_ operation: Attention) throws { try base.execute(operation) }
    public func execute(_ operation: Activation) throws { try base.execute(operation) }
    public func execute(_ operation: GatedActivation) throws { try base.execute(operation) }
    public func execute(_ operation: Conversion) throws { try base.execute(operation) }
    public func execute(_ operation: Argmax) throws -> [Int] { try base.execute(operation) }
}

/// How ``LanguageModel/collectImportanceMatrix(text:context:chunkLimit:recorder:dataset:progress:)``
/// went.
public struct ImportanceMatrixCollection: Sendable {
    /// The statistics.
    public var matrix: ImportanceMatrix
    /// The text's tokens (with BOS).
    public var tokenCount: Int
    /// The chunks processed.
    public var chunkCount: Int
}

extension LanguageModel {
    /// Runs `text` through the model in chunks of `context` tokens, as llama-imatrix does
    /// (each chunk a fresh sequence whose first token is replaced by BOS when the tokenizer
    /// adds one; a remainder
    /// shorter than a chunk is dropped; at most `chunkLimit` chunks), and returns the
    /// importance matrix `recorder` collected. The model must have been loaded with
    /// `recorder` as its backend.
    ///
    /// - Throws: ``ModelError/invalidParameter(name:value:reason:)`` when the text has
    ///   fewer than two chunks' tokens (llama-imatrix's rule) or the model was not loaded
    ///   with `recorder`.
    public func collectImportanceMatrix(
        text: String, context: Int, chunkLimit: Int? = nil, recorder: ActivationRecorder, dataset: String,
        progress: ((_ chunk: Int, _ of: Int) -> Void)? = nil
    ) throws -> ImportanceMatrixCollection {
        guard (model.backend as AnyObject) === recorder else {
            throw ModelError.invalidParameter(name: "recorder", value: "\(type(of: model.backend))", reason: "is not the backend the model was loaded with")
        }
        guard context >= 2 else {
            throw ModelError.invalidParameter(name: "context", value: "\(context)", reason: "must be at least 2 tokens")
        }
        let tokens = try requireTokenizer().encode(text, options: .init(addEOS: false))
        guard tokens.count >= 2 * context else {
            throw ModelError.invalidParameter(
                name: "text", value: "\(tokens.count) tokens",
                reason: "needs at least two chunks of \(context) tokens (\(2 * context)); use a longer text or a smaller context")
        }
        let allChunks = llamaCppChunks(tokens, length: context)
        let chunks = min(allChunks.count, chunkLimit ?? Int.max)
        let recordsOutput = recorder.records("output.weight")
        for (chunk, ids) in allChunks.prefix(chunks).enumerated() {
            let state = try model.makeState(context: context, batchCapacity: context, cacheType: .f32)
            if recordsOutput {
                // The output projection sees every row only when every row's logits are asked for.
                let logits = try Tensor(zeros: [context, configuration.vocabularySize])
                try model.forward(ids, state: state, allLogits: logits)
            } else {
                _ = try model.process(ids, state: state)
            }
            progress?(chunk + 1, chunks)
        }
        return ImportanceMatrixCollection(
            matrix: recorder.importanceMatrix(datasets: [dataset], chunkCount: chunks, chunkSize: context), tokenCount: tokens.count,
            chunkCount: chunks)
    }
}
