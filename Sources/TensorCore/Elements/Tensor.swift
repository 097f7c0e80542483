/// A multi-dimensional array of numbers in contiguous row-major order.
///
/// A tensor is a *view*: its shape and element type, and a reference to the
/// ``TensorStorage`` that holds its bytes. Copying a `Tensor` value does not copy
/// the bytes; both values see the same storage, as with references to arrays in
/// PyTorch or NumPy. Operations write their results into output tensors that the
/// caller allocated once, so that a forward pass allocates nothing per token.
///
/// The last dimension is the *row*: for a weight matrix of `m` rows of length `k`,
/// the shape is `[m, k]`. A quantized element type stores each row as whole blocks,
/// so the row length must be a multiple of the type's block length.
///
/// ```swift
/// let x = try Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
/// let q = try Tensor(converting: try Tensor(shape: [1, 32], values: weights), to: .q8_0)
/// let firstRow = try x.rows(0..<1)      // a view, no copy
/// print(x.floats())                      // [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
/// ```
public struct Tensor: Sendable, CustomStringConvertible {
    /// The size of each dimension, outermost first.
    public let shape: TensorShape
    /// How the elements are stored.
    public let elementType: ElementType
    /// The bytes, shared with every other view of the same storage.
    public let storage: TensorStorage
    /// Where this tensor's bytes start in ``storage``.
    public let byteOffset: Int
    /// The number of bytes this tensor covers.
    public let byteCount: Int

    /// Lets a memory-mapped file drop this tensor's bytes from resident memory (see
    /// ``TensorStorage/releaseResidentPages(from:byteCount:)``); they stay readable.
    public func releaseResidentPages() {
        storage.releaseResidentPages(from: UnsafeRawPointer(storage.baseAddress + byteOffset), byteCount: byteCount)
    }

    /// Creates a view of `storage` with the given shape and type, checking that the
    /// shape is valid and the bytes lie inside the storage.
    public init(
        shape dimensions: some Collection<Int>, elementType: ElementType, storage: TensorStorage, byteOffset: Int = 0
    ) throws {
        let shape = try TensorShape(dimensions)
        let byteCount = try Tensor.byteCount(shape: shape, elementType: elementType)
        guard byteOffset >= 0, byteOffset <= storage.byteCount, byteCount <= storage.byteCount - byteOffset else {
            throw TensorError.invalidShape(
                Array(shape), elementType,
                reason: "needs \(byteCount) bytes at offset \(byteOffset), but the storage has \(storage.byteCount)")
        }
        self.shape = shape
        self.elementType = elementType
        self.storage = storage
        self.byteOffset = byteOffset
        self.byteCount = byteCount
    }

    /// Allocates a tensor of the given shape and type, filled with zero bytes (zero
    /// values for the float types).
    public init(zeros dimensions: some Collection<Int>, elementType: ElementType = .f32) throws {
        let shape = try TensorShape(dimensions)
        let byteCount = try Tensor.byteCount(shape: shape, elementType: elementType)
        try self.init(shape: shape, elementType: elementType, storage: TensorStorage(zeroedByteCount: byteCount))
    }

    /// Allocates an `f32` tensor holding `values` in row-major order.
    public init(shape: some Collection<Int>, values: [Float]) throws {
        try self.init(zeros: shape, elementType: .f32)
        guard values.count == elementCount else {
            throw TensorError.invalidShape(Array(shape), .f32, reason: "has \(elementCount) elements, but \(values.count) values were given")
        }
        values.withUnsafeBytes { mutableRawPointer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    }

    /// A read-only tensor over memory that `owner` keeps alive (for example a
    /// memory-mapped file), without copying it.
    public init(
        shape: some Collection<Int>, elementType: ElementType, viewing baseAddress: UnsafeRawPointer, byteCount: Int, owner: AnyObject?
    ) throws {
        let storage = TensorStorage(viewing: baseAddress, byteCount: byteCount, owner: owner)
        try self.init(shape: shape, elementType: elementType, storage: storage)
    }

    /// Converts `source` to `elementType` (quantizing or dequantizing as needed) into
    /// a new tensor of the same shape.
    public init(converting source: Tensor, to elementType: ElementType) throws {
        guard elementType.canEncode else {
            throw TensorError.unsupportedElementType(
                operation: "convert", argument: "target", elementType, expected: "a type that can be encoded")
        }
        try self.init(zeros: source.shape, elementType: elementType)
        try Conversion(source, output: self).computeReference()
    }

    /// The largest tensor, in bytes, that this library accepts (256 TiB): far beyond any
    /// model, and small enough that byte arithmetic on it cannot overflow.
    public static let maximumByteCount = 1 << 48

    /// The number of bytes a tensor of this shape and type occupies; throws for a shape
    /// no tensor can have.
    public static func byteCount(shape dimensions: some Collection<Int>, elementType: ElementType) throws -> Int {
        let shape = try TensorShape(dimensions)
        guard !shape.isEmpty else {
            throw TensorError.invalidShape(Array(shape), elementType, reason: "a tensor needs at least one dimension")
        }
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw TensorError.invalidShape(Array(shape), elementType, reason: "dimensions cannot be negative")
        }
        var rows = 1
        for dimension in shape.dropLast() {
            let (product, overflow) = rows.multipliedReportingOverflow(by: dimension)
            guard !overflow else { throw TensorError.invalidShape(Array(shape), elementType, reason: "the size overflows") }
            rows = product
        }
        guard let rowBytes = elementType.rowByteCount(length: shape[shape.count - 1]) else {
            throw TensorError.invalidShape(
                Array(shape), elementType,
                reason: "the row length \(shape[shape.count - 1]) is not a multiple of the block length \(elementType.blockLength)")
        }
        let (total, overflow) = rows.multipliedReportingOverflow(by: rowBytes)
        guard !overflow, total <= maximumByteCount else {
            throw TensorError.invalidShape(Array(shape), elementType, reason: "the size overflows")
        }
        return total
    }

    // MARK: Shape

    /// The number of dimensions.
    @inlinable public var rank: Int { shape.count }
    /// The number of elements.
    @inlinable public var elementCount: Int { shape.reduce(1, *) }
    /// The length of a row: the last dimension.
    @inlinable public var rowLength: Int { shape[shape.count - 1] }
    /// The number of rows: the product of all dimensions but the last.
    @inlinable public var rowCount: Int { shape.dropLast().reduce(1, *) }
    /// The number of bytes of one row.
    @inlinable public var rowByteCount: Int { rowLength / elementType.blockLength * elementType.blockByteCount }
    /// Whether operations may write into this tensor.
    @inlinable public var isWritable: Bool { storage.isWritable }

    /// The same bytes seen with another shape of the same size and row structure.
    public func reshaped(_ newShape: TensorShape) throws -> Tensor {
        let newByteCount = try Tensor.byteCount(shape: newShape, elementType: elementType)
        guard newByteCount == byteCount, newShape.reduce(1, *) == elementCount else {
            throw TensorError.shapeMismatch(
                operation: "reshape", details: "cannot view \(shape) of \(elementType) as \(newShape)")
        }
        return try Tensor(shape: newShape, elementType: elementType, storage: storage, byteOffset: byteOffset)
    }

    /// The entries `range` of the first dimension, as a view of the same storage.
    public func rows(_ range: Range<Int>) throws -> Tensor {
        guard range.lowerBound >= 0, range.upperBound <= shape[0] else {
            throw TensorError.invalidArgument(
                operation: "rows", details: "range \(range) is outside the first dimension of \(shape)")
        }
        let sliceBytes = shape[0] == 0 ? 0 : byteCount / shape[0]
        var newShape = shape
        newShape[0] = range.count
        return try Tensor(
            shape: newShape, elementType: elementType, storage: storage,
            byteOffset: byteOffset + range.lowerBound * sliceBytes)
    }

    // MARK: Memory

    /// The first byte of this tensor.
    @inlinable public var rawPointer: UnsafeRawPointer { UnsafeRawPointer(storage.baseAddress + byteOffset) }

    /// The first byte of this tensor, for writing. The tensor must be writable.
    @inlinable public var mutableRawPointer: UnsafeMutableRawPointer {
        precondition(storage.isWritable, "writing into a read-only tensor")
        return storage.baseAddress + byteOffset
    }

    /// The first byte of row `index` (rows as in ``rowCount``).
    @inlinable public func rowPointer(_ index: Int) -> UnsafeRawPointer { rawPointer + index * rowByteCount }

    /// The first byte of row `index`, for writing.
    @inlinable public func mutableRowPointer(_ index: Int) -> UnsafeMutableRawPointer {
        mutableRawPointer + index * rowByteCount
    }

    /// The elements of an `f32` tensor.
    @inlinable public var floatPointer: UnsafePointer<Float> {
        precondition(elementType == .f32, "floatPointer needs an f32 tensor")
        return rawPointer.assumingMemoryBound(to: Float.self)
    }

    /// The elements of a writable `f32` tensor.
    @inlinable public var mutableFloatPointer: UnsafeMutablePointer<Float> {
        precondition(elementType == .f32, "mutableFloatPointer needs an f32 tensor")
        return mutableRawPointer.assumingMemoryBound(to: Float.self)
    }

    /// All elements, decoded to `Float`, in row-major order.
    public func floats() -> [Float] {
        guard elementCount > 0 else { return [] }
        return [Float](unsafeUninitializedCapacity: elementCount) { buffer, count in
            decodeRows(into: buffer.baseAddress!)
            count = elementCount
        }
    }

    /// All elements, decoded to `Float`, written into `values` (resized to
    /// ``elementCount`` if it has another count): the same as ``floats()`` without a new
    /// array when `values` is reused, as the generation loop does with each token's logits.
    public func copyFloats(into values: inout [Float]) {
        if values.count != elementCount { values = [Float](repeating: 0, count: elementCount) }
        guard elementCount > 0 else { return }
        values.withUnsafeMutableBufferPointer { decodeRows(into: $0.baseAddress!) }
    }

    /// Decodes every row to `Float` into ``elementCount`` values at `destination`.
    private func decodeRows(into destination: UnsafeMutablePointer<Float>) {
        let rowLength = rowLength
        for r in 0..<rowCount {
            RowCodec.decode(elementType, from: rowPointer(r), count: rowLength, into: destination + r * rowLength)
        }
    }

    public var description: String {
        "Tensor(\(shape), \(elementType)\(isWritable ? "" : ", read-only"))"
    }
}
