import TensorCore

/// The keys and values of every layer for the positions processed so far, in
/// tensors allocated once for the whole context (`[capacity, kvHeads, headDimension]`
/// per layer), in `f32` or — halving the memory — `f16`.
///
/// A cache belongs to one sequence. A chat session keeps its cache between turns so
/// that a follow-up message only processes the new tokens; ``trim(to:)`` forgets
/// positions (to regenerate a reply, or to drop a turn).
public final class KVCache: @unchecked Sendable {
    /// The most positions the cache holds.
    public let capacity: Int
    /// `f32` or `f16`.
    public let elementType: ElementType
    /// How many positions hold keys and values.
    public private(set) var count = 0
    private let keys: [Tensor]
    private let values: [Tensor]
    private let kvHeads: Int
    private let headDimension: Int

    public init(layers: Int, capacity: Int, kvHeads: Int, headDimension: Int, elementType: ElementType = .f32) throws {
        guard elementType == .f32 || elementType == .f16 else {
            throw ModelError.invalidParameter(name: "cacheType", value: "\(elementType)", reason: "a KV cache holds f32 or f16")
        }
        self.capacity = capacity
        self.elementType = elementType
        self.kvHeads = kvHeads
        self.headDimension = headDimension
        keys = try (0..<layers).map { _ in try Tensor(zeros: [capacity, kvHeads, headDimension], elementType: elementType) }
        values = try (0..<layers).map { _ in try Tensor(zeros: [capacity, kvHeads, headDimension], elementType: elementType) }
    }

    /// The bytes the cache occupies.
    public var byteCount: Int { keys.reduce(0) { $0 + $1.byteCount } * 2 }

    /// Stores the keys and values (`[n, kvHeads × headDimension]`, f32) of positions
    /// `position ..< position + n` of `layer`.
    func store(layer: Int, keys newKeys: Tensor, values newValues: Tensor, at position: Int, backend: any Backend) throws {
        let n = newKeys.rowCount
        let rowShape = TensorShape(n, kvHeads * headDimension)
        try backend.convert(newKeys, into: keys[layer].rows(position..<position + n).reshaped(rowShape))
        try backend.convert(newValues, into: values[layer].rows(position..<position + n).reshaped(rowShape))
    }

    /// The keys and values of `layer` for positions `0 ..< length`.
    func entries(layer: Int, length: Int) throws -> (keys: Tensor, values: Tensor) {
        (try keys[layer].rows(0..<length), try values[layer].rows(0..<length))
    }

    /// Marks positions up to `newCount` as filled (after every layer stored them).
    func advance(to newCount: Int) {
        precondition(newCount <= capacity)
        count = newCount
    }

    /// Forgets every position from `newCount` on.
    public func trim(to newCount: Int) {
        count = min(count, max(0, newCount))
    }

    /// Forgets everything.
    public func reset() { count = 0 }
}
