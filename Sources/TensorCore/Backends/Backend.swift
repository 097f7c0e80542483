/// A set of compute kernels for the operations of a transformer forward pass.
///
/// Every operation is a value type in this module (``MatrixMultiplication``,
/// ``Attention``, …) whose initializer checks its arguments and whose
/// `computeReference()` is the readable reference implementation. A backend
/// receives operations that are already checked and computes them; every
/// requirement has a default implementation that calls the reference, so a new
/// backend overrides only what it does better. ``NaiveBackend`` overrides nothing.
///
/// Callers use the convenience methods (``matmul(_:weight:into:)``,
/// ``rmsNorm(_:weight:epsilon:into:)``, …), which build the operation and pass it to
/// ``execute(_:)-(MatrixMultiplication)``.
///
/// ## Adding a backend
///
/// ```swift
/// import TensorCore
///
/// public final class MyBackend: Backend {
///     public static let name = "mine"
///     public let configuration: BackendConfiguration
///     public init(configuration: BackendConfiguration) { self.configuration = configuration }
///
///     public func execute(_ operation: MatrixMultiplication) throws {
///         // a faster matrix product; everything else falls back to the reference
///     }
/// }
///
/// var registry = BackendRegistry()
/// registry.register(MyBackend.self)
/// let backend = try registry.makeBackend(named: "mine")
/// ```
public protocol Backend: Sendable {
    /// The name users select the backend by (`naive`, `blas`, …).
    static var name: String { get }
    /// Creates the backend with its settings.
    init(configuration: BackendConfiguration) throws
    /// The settings the backend was created with.
    var configuration: BackendConfiguration { get }

    /// Prepares a weight for use by this backend, once, before any operation uses it:
    /// a backend may repack it for its kernels or copy it to memory of its own. The
    /// default returns the tensor unchanged, so weights are used where they lie (for
    /// example in a memory-mapped file).
    func prepare(weight: Tensor) throws -> Tensor

    func execute(_ operation: MatrixMultiplication) throws
    /// Several products of one input (``SharedInputMatrixMultiplication``). The default
    /// passes each part to ``execute(_:)-(MatrixMultiplication)``.
    func execute(_ operation: SharedInputMatrixMultiplication) throws
    func execute(_ operation: EmbeddingLookup) throws
    func execute(_ operation: ElementwiseOperation) throws
    func execute(_ operation: Scaling) throws
    func execute(_ operation: RMSNormalization) throws
    func execute(_ operation: RotaryEmbedding) throws
    func execute(_ operation: Softmax) throws
    func execute(_ operation: Attention) throws
    func execute(_ operation: Activation) throws
    func execute(_ operation: GatedActivation) throws
    func execute(_ operation: Conversion) throws
    func execute(_ operation: Argmax) throws -> [Int]
}

// MARK: - Reference defaults

extension Backend {
    public func prepare(weight: Tensor) throws -> Tensor { weight }
    public func execute(_ operation: MatrixMultiplication) throws { operation.computeReference() }
    public func execute(_ operation: SharedInputMatrixMultiplication) throws {
        for part in operation.parts { try execute(part) }
    }
    public func execute(_ operation: EmbeddingLookup) throws { operation.computeReference() }
    public func execute(_ operation: ElementwiseOperation) throws { operation.computeReference() }
    public func execute(_ operation: Scaling) throws { operation.computeReference() }
    public func execute(_ operation: RMSNormalization) throws { operation.computeReference() }
    public func execute(_ operation: RotaryEmbedding) throws { operation.computeReference() }
    public func execute(_ operation: Softmax) throws { operation.computeReference() }
    public func execute(_ operation: Attention) throws { operation.computeReference() }
    public func execute(_ operation: Activation) throws { operation.computeReference() }
    public func execute(_ operation: GatedActivation) throws { operation.computeReference() }
    public func execute(_ operation: Conversion) throws { operation.computeReference() }
    public func execute(_ operation: Argmax) throws -> [Int] { operation.computeReference() }
}

// MARK: - Convenience calls

extension Backend {
    /// The backend's name, from an existential.
    public var name: String { Self.name }

    /// `output = input · weightᵀ`; see ``MatrixMultiplication``.
    public func matmul(_ input: Tensor, weight: Tensor, into output: Tensor) throws {
        try execute(MatrixMultiplication(input: input, weight: weight, output: output))
    }

    /// `outputs[i] = input · weights[i]ᵀ` for every weight; see
    /// ``SharedInputMatrixMultiplication`` (which can also be built without arrays).
    public func matmul(_ input: Tensor, weights: [Tensor], into outputs: [Tensor]) throws {
        try execute(SharedInputMatrixMultiplication(input: input, weights: weights, outputs: outputs))
    }

    /// `input · weightᵀ` in a new tensor of shape `[n, m]`.
    public func matmul(_ input: Tensor, weight: Tensor) throws -> Tensor {
        let output = try Tensor(zeros: [input.rowCount, weight.shape[0]])
        try matmul(input, weight: weight, into: output)
        return output
    }

    /// The rows `ids` of `table`; see ``EmbeddingLookup``.
    public func embedding(_ table: Tensor, ids: [Int], into output: Tensor) throws {
        try execute(EmbeddingLookup(table: table, ids: ids, output: output))
    }

    /// `output = a + b`.
    public func add(_ a: Tensor, _ b: Tensor, into output: Tensor) throws {
        try execute(ElementwiseOperation(.add, a, b, output: output))
    }

    /// `output = a × b`, element by element.
    public func multiply(_ a: Tensor, _ b: Tensor, into output: Tensor) throws {
        try execute(ElementwiseOperation(.multiply, a, b, output: output))
    }

    /// `output = input × factor`.
    public func scale(_ input: Tensor, by factor: Float, into output: Tensor) throws {
        try execute(Scaling(input, by: factor, output: output))
    }

    /// RMS normalisation of each row times `weight`; see ``RMSNormalization``.
    public func rmsNorm(_ input: Tensor, weight: Tensor, epsilon: Float, into output: Tensor) throws {
        try execute(RMSNormalization(input, weight: weight, epsilon: epsilon, output: output))
    }

    /// Rotary position embedding; see ``RotaryEmbedding``.
    public func rope(
        _ input: Tensor, positions: [Int], parameters: RotaryEmbedding.Parameters, into output: Tensor
    ) throws {
        try execute(RotaryEmbedding(input, positions: positions, parameters: parameters, output: output))
    }

    /// Row-wise softmax with an optional additive mask; see ``Softmax``.
    public func softmax(_ input: Tensor, mask: Tensor? = nil, into output: Tensor) throws {
        try execute(Softmax(input, mask: mask, output: output))
    }

    /// Grouped-query attention over a key/value cache; see ``Attention``.
    public func attention(
        query: Tensor, keys: Tensor, values: Tensor, mask: AttentionMask, scale: Float, into output: Tensor
    ) throws {
        try execute(Attention(query: query, keys: keys, values: values, mask: mask, scale: scale, output: output))
    }

    /// SiLU of each element.
    public func silu(_ input: Tensor, into output: Tensor) throws {
        try execute(Activation(.silu, input, output: output))
    }

    /// Tanh-approximated GELU of each element.
    public func gelu(_ input: Tensor, into output: Tensor) throws {
        try execute(Activation(.gelu, input, output: output))
    }

    /// `output = silu(gate) × up`.
    public func swiglu(gate: Tensor, up: Tensor, into output: Tensor) throws {
        try execute(GatedActivation(.silu, gate: gate, up: up, output: output))
    }

    /// `output = gelu(gate) × up`.
    public func geglu(gate: Tensor, up: Tensor, into output: Tensor) throws {
        try execute(GatedActivation(.gelu, gate: gate, up: up, output: output))
    }

    /// Copies `input` into `output`, converting the element type; see ``Conversion``.
    public func convert(_ input: Tensor, into output: Tensor) throws {
        try execute(Conversion(input, output: output))
    }

    /// The index of the largest value of each row.
    public func argmax(_ input: Tensor) throws -> [Int] {
        try execute(Argmax(input))
    }
}
