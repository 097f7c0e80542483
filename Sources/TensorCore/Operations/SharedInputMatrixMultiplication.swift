/// Several ``MatrixMultiplication``s of one input: `outputs[i] = input · weights[i]ᵀ`.
///
/// The query, key and value projections of attention read the same normalized hidden
/// state, and so do the gate and up projections of a gated feed-forward network. A
/// backend that sees them together can prepare the input once (for example quantize it
/// for integer dot products) and split all the weights' rows over its threads in one
/// parallel loop instead of one loop per weight; the default computes the parts one by
/// one with ``Backend/execute(_:)-(MatrixMultiplication)``.
///
/// The parts are kept in the value itself (at most ``maximumPartCount``). Built part by
/// part with ``append(weight:output:)``, the operation allocates nothing, which is how
/// the layers use it for every decoded token:
///
/// ```swift
/// var projections = SharedInputMatrixMultiplication(input: h)
/// try projections.append(weight: gate, output: g)
/// try projections.append(weight: up, output: u)
/// try backend.execute(projections)
/// ```
public struct SharedInputMatrixMultiplication: Sendable {
    /// The most products one operation holds.
    public static let maximumPartCount = 4

    /// `f32`, `n` rows of length `k`.
    public let input: Tensor
    /// The products, in order: each with this ``input``, its own weight and output.
    public private(set) var parts = Parts()

    /// The number of input rows `n`.
    public var rowCount: Int { input.rowCount }
    /// The shared inner length `k`.
    public var innerLength: Int { input.rowLength }

    /// An operation without parts yet; add them with ``append(weight:output:)``.
    public init(input: Tensor) {
        self.input = input
    }

    /// Checks each product as ``MatrixMultiplication`` does; `weights` and `outputs` must
    /// have the same count, from one to ``maximumPartCount``.
    public init(input: Tensor, weights: [Tensor], outputs: [Tensor]) throws {
        guard !weights.isEmpty, weights.count == outputs.count else {
            throw TensorError.invalidArgument(
                operation: "shared-input matmul",
                details: "\(weights.count) weights and \(outputs.count) outputs; need the same number, at least one")
        }
        self.init(input: input)
        for (weight, output) in zip(weights, outputs) { try append(weight: weight, output: output) }
    }

    /// Adds the product `output = input · weightᵀ`, checked as ``MatrixMultiplication``
    /// checks it; throws when the operation already has ``maximumPartCount`` parts.
    public mutating func append(weight: Tensor, output: Tensor) throws {
        guard parts.count < Self.maximumPartCount else {
            throw TensorError.invalidArgument(
                operation: "shared-input matmul", details: "more than \(Self.maximumPartCount) products of one input")
        }
        parts.append(try MatrixMultiplication(input: input, weight: weight, output: output))
    }

    /// The reference computation: each part's reference.
    public func computeReference() {
        for part in parts { part.computeReference() }
    }

    /// The products of a ``SharedInputMatrixMultiplication``, kept in the value itself.
    public struct Parts: RandomAccessCollection, Sendable {
        private var storage: (MatrixMultiplication?, MatrixMultiplication?, MatrixMultiplication?, MatrixMultiplication?) =
            (nil, nil, nil, nil)
        private var partCount = 0

        fileprivate init() {}

        fileprivate mutating func append(_ part: MatrixMultiplication) {
            switch partCount {
            case 0: storage.0 = part
            case 1: storage.1 = part
            case 2: storage.2 = part
            default: storage.3 = part
            }
            partCount += 1
        }

        public var startIndex: Int { 0 }
        public var endIndex: Int { partCount }

        public subscript(index: Int) -> MatrixMultiplication {
            precondition(index >= 0 && index < partCount, "part \(index) of \(partCount)")
            switch index {
            case 0: return storage.0!
            case 1: return storage.1!
            case 2: return storage.2!
            default: return storage.3!
            }
        }
    }
}
