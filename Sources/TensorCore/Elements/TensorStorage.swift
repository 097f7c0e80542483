/// The bytes behind one or more ``Tensor`` values.
///
/// Storage is either *owned* (allocated and freed by this object, writable) or a
/// read-only *view* of memory that something else owns, such as a memory-mapped
/// model file. A view keeps its owner alive for as long as any tensor uses it.
///
/// The class is open so that a backend that keeps weights in memory of its own (a
/// GPU's, say) can subclass it and return such tensors from
/// ``Backend/prepare(weight:)``.
open class TensorStorage: @unchecked Sendable {
    /// The first byte.
    public let baseAddress: UnsafeMutableRawPointer
    /// The number of bytes.
    public let byteCount: Int
    /// Whether operations may write into this storage.
    public let isWritable: Bool
    private let owner: AnyObject?
    private let ownsMemory: Bool

    /// The alignment of owned allocations: a cache line, and enough for any SIMD load.
    public static let alignment = 64

    /// Allocates `byteCount` zeroed, writable bytes.
    public init(zeroedByteCount byteCount: Int) {
        precondition(byteCount >= 0, "a storage size cannot be negative")
        baseAddress = UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 1), alignment: Self.alignment)
        baseAddress.initializeMemory(as: UInt8.self, repeating: 0, count: max(byteCount, 1))
        self.byteCount = byteCount
        isWritable = true
        owner = nil
        ownsMemory = true
    }

    /// Wraps memory that `owner` keeps alive, without copying it. The memory is
    /// treated as read-only.
    public init(viewing baseAddress: UnsafeRawPointer, byteCount: Int, owner: AnyObject?) {
        self.baseAddress = UnsafeMutableRawPointer(mutating: baseAddress)
        self.byteCount = byteCount
        isWritable = false
        self.owner = owner
        ownsMemory = false
    }

    deinit {
        if ownsMemory { baseAddress.deallocate() }
    }

    /// Tells the owner of a view that `byteCount` bytes from `pointer` will not be needed
    /// soon, so that a memory-mapped file can drop them from the process's resident
    /// memory (they are read again from the file if used). Does nothing for owned memory
    /// or owners that cannot do it. A converter streaming a large file calls this after
    /// each tensor so that resident memory stays about one tensor, not the file.
    open func releaseResidentPages(from pointer: UnsafeRawPointer, byteCount: Int) {
        (owner as? ResidentPageReleasing)?.releaseResidentPages(from: pointer, byteCount: byteCount)
    }
}

/// An owner of read-only memory that can drop pages from resident memory and read them
/// again on demand (a memory-mapped file).
public protocol ResidentPageReleasing: AnyObject {
    /// Drops the whole pages inside `byteCount` bytes from `pointer` from resident memory;
    /// their contents stay available.
    func releaseResidentPages(from pointer: UnsafeRawPointer, byteCount: Int)
}
