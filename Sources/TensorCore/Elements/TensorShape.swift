/// The dimensions of a ``Tensor``, outermost first, kept inline in the value.
///
/// A shape is a collection of `Int` like an array, and an array literal makes one
/// (`let shape: TensorShape = [2, 3]`), but it is not an array: taking a view of a tensor
/// (``Tensor/rows(_:)``, ``Tensor/reshaped(_:)``) copies a few words instead of
/// allocating one. An array literal still builds a temporary array (Swift passes literal
/// elements as one); code that runs for every token writes the shape with the
/// initializers that take the dimensions as arguments, `TensorShape(n, heads, width)`,
/// which allocate nothing.
///
/// A shape has at most ``maximumRank`` dimensions; the initializer from a collection
/// throws for more.
public struct TensorShape: RandomAccessCollection, MutableCollection, Hashable, Sendable,
    ExpressibleByArrayLiteral, CustomStringConvertible
{
    /// The most dimensions a shape holds (GGUF allows 4; the models here use 1 to 3).
    public static let maximumRank = 8

    private var dimensions: (Int, Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0, 0)
    private var rankStorage = 0

    /// Copies `dimensions`; throws if there are more than ``maximumRank``.
    public init<Dimensions: Collection<Int>>(_ dimensions: Dimensions) throws {
        guard dimensions.count <= Self.maximumRank else {
            throw TensorError.invalidArgument(
                operation: "tensor shape",
                details: "\(Array(dimensions)) has \(dimensions.count) dimensions; at most \(Self.maximumRank) are supported")
        }
        self.init(checked: dimensions)
    }

    /// A shape written in code, such as `[n, heads, width]`. More than ``maximumRank``
    /// dimensions is a programming error.
    public init(arrayLiteral elements: Int...) {
        precondition(elements.count <= Self.maximumRank, "a tensor shape has at most \(Self.maximumRank) dimensions")
        self.init(checked: elements)
    }

    /// Copies `dimensions`, whose count the caller checked against ``maximumRank``.
    private init(checked dimensions: some Collection<Int>) {
        rankStorage = dimensions.count
        for (index, dimension) in dimensions.enumerated() { self[index] = dimension }
    }

    /// A vector of `length` elements.
    public init(_ length: Int) {
        rankStorage = 1
        dimensions.0 = length
    }

    /// A matrix: `rows` rows of length `columns`.
    public init(_ rows: Int, _ columns: Int) {
        rankStorage = 2
        (dimensions.0, dimensions.1) = (rows, columns)
    }

    /// Three dimensions, such as `[tokens, heads, headWidth]`.
    public init(_ d0: Int, _ d1: Int, _ d2: Int) {
        rankStorage = 3
        (dimensions.0, dimensions.1, dimensions.2) = (d0, d1, d2)
    }

    /// Four dimensions.
    public init(_ d0: Int, _ d1: Int, _ d2: Int, _ d3: Int) {
        rankStorage = 4
        (dimensions.0, dimensions.1, dimensions.2, dimensions.3) = (d0, d1, d2, d3)
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { rankStorage }

    public subscript(position: Int) -> Int {
        get {
            precondition(position >= 0 && position < rankStorage, "dimension \(position) of a shape of rank \(rankStorage)")
            return withUnsafeBytes(of: dimensions) { $0.load(fromByteOffset: position * MemoryLayout<Int>.stride, as: Int.self) }
        }
        set {
            precondition(position >= 0 && position < rankStorage, "dimension \(position) of a shape of rank \(rankStorage)")
            withUnsafeMutableBytes(of: &dimensions) {
                $0.storeBytes(of: newValue, toByteOffset: position * MemoryLayout<Int>.stride, as: Int.self)
            }
        }
    }

    public static func == (a: TensorShape, b: TensorShape) -> Bool { a.elementsEqual(b) }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(rankStorage)
        for dimension in self { hasher.combine(dimension) }
    }

    /// The dimensions in brackets, as an array prints: `[2, 3]`.
    public var description: String { "[" + map(String.init).joined(separator: ", ") + "]" }
}
