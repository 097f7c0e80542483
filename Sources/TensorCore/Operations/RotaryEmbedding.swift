import Foundation

/// Rotary position embedding (RoPE): rotates pairs of values of each head by an
/// angle proportional to the token's position.
///
/// Pair i (of `dimensions / 2`) of a token at position p turns by
/// `p / positionScale × base^(−2i / dimensions) / factor(i)` radians (the factors are 1
/// unless a model sets per-pair ``Parameters/frequencyFactors``). Which two values form
/// pair i depends on how the checkpoint ordered the rows of its Q and K weights;
/// see ``Layout``. Values past `dimensions` (partial rotary) are left as they are.
/// The output may be the input.
public struct RotaryEmbedding: Sendable {
    /// Which values of a head are rotated together.
    public enum Layout: String, Sendable, CaseIterable {
        /// Pairs `(2i, 2i + 1)`: Meta's original checkpoints, llama2.c, and GGUF files of
        /// the `llama` architecture (llama.cpp permutes Hugging Face's Q/K rows into this
        /// order when converting). llama.cpp calls it `LLAMA_ROPE_TYPE_NORM`.
        case interleaved
        /// Pairs `(i, i + dimensions/2)`: Hugging Face's `rotate_half`, and GGUF files of
        /// architectures llama.cpp runs with `LLAMA_ROPE_TYPE_NEOX` (Gemma among them).
        case halfSplit
    }

    /// The rotation's settings, fixed for a model.
    public struct Parameters: Sendable, Equatable {
        /// The base of the frequencies (θ): 10,000 for Llama 2, 5,000,000 for Yi.
        public var base: Float
        /// The pairing of values; see ``Layout``.
        public var layout: Layout
        /// How many values of each head are rotated (even, at most the head width).
        public var dimensions: Int
        /// Linear RoPE scaling: positions are divided by this factor (1 = no scaling).
        public var positionScale: Float
        /// Per-pair divisors of the frequencies, `dimensions / 2` of them, or `nil` for
        /// none: Llama 3's frequency-dependent scaling (`rope_scaling` of type `llama3`
        /// in `config.json`, the `rope_freqs.weight` tensor of GGUF files), which slows
        /// the low frequencies and leaves the high ones.
        public var frequencyFactors: [Float]?

        public init(base: Float, layout: Layout, dimensions: Int, positionScale: Float = 1, frequencyFactors: [Float]? = nil) {
            self.base = base
            self.layout = layout
            self.dimensions = dimensions
            self.positionScale = positionScale
            self.frequencyFactors = frequencyFactors
        }

        /// The angular frequency of pair `i`, rounded to `Float` as Hugging Face's
        /// `inv_freq` is, and divided by the pair's factor when there are factors.
        public func frequency(ofPair i: Int) -> Float {
            let frequency = Float(pow(Double(base), -Double(2 * i) / Double(dimensions)))
            guard let frequencyFactors else { return frequency }
            return frequency / frequencyFactors[i]
        }
    }

    /// `f32`, shape `[tokens, heads, headWidth]`.
    public let input: Tensor
    /// The position of each token.
    public let positions: [Int]
    public let parameters: Parameters
    /// `f32`, the shape of `input`.
    public let output: Tensor

    public init(_ input: Tensor, positions: [Int], parameters: Parameters, output: Tensor) throws {
        let name = "rope"
        try OperationChecks.requireF32(input, "input", in: name)
        try OperationChecks.requireF32(output, "output", in: name)
        try OperationChecks.requireWritable(output, in: name)
        try OperationChecks.requireRank(input, 3, "input", in: name)
        try OperationChecks.requireSameShape(input, "input", output, "output", in: name)
        guard positions.count == input.shape[0] else {
            throw TensorError.shapeMismatch(
                operation: name, details: "\(positions.count) positions for input \(input.shape) with \(input.shape[0]) tokens")
        }
        guard parameters.dimensions > 0, parameters.dimensions % 2 == 0, parameters.dimensions <= input.shape[2] else {
            throw TensorError.invalidArgument(
                operation: name,
                details: "rotary dimensions \(parameters.dimensions) must be even and at most the head width \(input.shape[2])")
        }
        guard parameters.base > 1, parameters.base.isFinite, parameters.positionScale > 0, parameters.positionScale.isFinite else {
            throw TensorError.invalidArgument(
                operation: name, details: "base \(parameters.base) must exceed 1 and scale \(parameters.positionScale) be positive")
        }
        if let factors = parameters.frequencyFactors {
            guard factors.count == parameters.dimensions / 2, factors.allSatisfy({ $0 > 0 && $0.isFinite }) else {
                throw TensorError.invalidArgument(
                    operation: name,
                    details: "\(factors.count) frequency factors for \(parameters.dimensions / 2) pairs; each must be finite and positive")
            }
        }
        guard positions.allSatisfy({ $0 >= 0 }) else {
            throw TensorError.invalidArgument(operation: name, details: "positions cannot be negative")
        }
        self.input = input
        self.positions = positions
        self.parameters = parameters
        self.output = output
    }

    /// The indices of the two values that form pair `i` of a head.
    @inlinable
    public static func pairIndices(_ i: Int, dimensions: Int, layout: Layout) -> (Int, Int) {
        switch layout {
        case .interleaved: (2 * i, 2 * i + 1)
        case .halfSplit: (i, i + dimensions / 2)
        }
    }

    /// The reference computation. The angle is `Float(position) / scale × frequency`
    /// in `Float` (as Hugging Face and llama.cpp compute it), its cosine and sine in
    /// `Double`, rounded to `Float`.
    public func computeReference() {
        let heads = input.shape[1], width = input.shape[2]
        let pairs = parameters.dimensions / 2
        let frequencies = (0..<pairs).map(parameters.frequency(ofPair:))
        for (t, position) in positions.enumerated() {
            let scaledPosition = Float(position) / parameters.positionScale
            for h in 0..<heads {
                let x = input.floatPointer + (t * heads + h) * width
                let y = output.mutableFloatPointer + (t * heads + h) * width
                if x != UnsafePointer(y) { y.update(from: x, count: width) }
                for i in 0..<pairs {
                    let angle = Double(scaledPosition * frequencies[i])
                    let c = Float(cos(angle)), s = Float(sin(angle))
                    let (a, b) = Self.pairIndices(i, dimensions: parameters.dimensions, layout: parameters.layout)
                    let x0 = y[a], x1 = y[b]
                    y[a] = x0 * c - x1 * s
                    y[b] = x0 * s + x1 * c
                }
            }
        }
    }
}
