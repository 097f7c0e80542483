#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import TensorCore

/// The read-only bytes of a model file: memory-mapped from disk (nothing is read
/// until it is touched, and pages are shared with the page cache), or held in memory.
///
/// Tensors that view a file keep its `FileBytes` alive, so the mapping lives exactly
/// as long as some tensor or reader uses it.
public final class FileBytes: ResidentPageReleasing, @unchecked Sendable {
    /// The first byte (never dereferenced when `count` is 0).
    public let baseAddress: UnsafeRawPointer
    /// The number of bytes.
    public let count: Int
    /// The path the bytes came from, or a name given for in-memory bytes.
    public let path: String
    private let release: () -> Void
    /// Whether the bytes are a mapping of the file (not a copy in memory).
    private let isMapped: Bool

    /// Maps the file at `url` read-only.
    public init(mapping url: URL) throws {
        let path = url.path
        self.path = path
        // The type is checked before opening: opening a FIFO for reading waits for a
        // writer, and a device may never end. O_NONBLOCK covers a file replaced by a
        // FIFO in between, and the type is checked again on the open descriptor.
        try Self.requireRegularFile(atPath: path)
        let descriptor = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw ModelFormatError(.io, file: path, field: "file", problem: "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw ModelFormatError(.io, file: path, field: "file", problem: "cannot read its size: \(String(cString: strerror(errno)))")
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            throw ModelFormatError(.io, file: path, field: "file", problem: "is \(Self.kindName(mode: status.st_mode)), not a regular file")
        }
        let size = Int(status.st_size)
        count = size
        if size == 0 {
            let empty = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 64)
            baseAddress = UnsafeRawPointer(empty)
            release = { empty.deallocate() }
            isMapped = false
            return
        }
        guard let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0), mapped != MAP_FAILED else {
            throw ModelFormatError(.io, file: path, field: "file", problem: "cannot map into memory: \(String(cString: strerror(errno)))")
        }
        #if os(Linux)
        // Pages read from disk for this mapping come as 2 MiB folios where the kernel and
        // file system can (Linux 6.x with large folios, e.g. ext4 from 6.16), so the
        // mapping uses 2 MiB page-table entries. A decoded token reads every weight once:
        // with 4 KiB pages that is a TLB miss per 4 KiB of weights and a hardware
        // prefetcher that stops at every 4 KiB boundary, so decoding is faster with 2 MiB
        // ones (Documentation/Performance.md, "2 MiB pages").
        // Pages already cached stay as they are; a failure only means small pages.
        _ = madvise(mapped, size, MADV_HUGEPAGE)
        #endif
        baseAddress = UnsafeRawPointer(mapped)
        release = { munmap(mapped, size) }
        isMapped = true
    }

    /// Throws unless `path` is a regular file (or a symbolic link to one), without
    /// opening it. The error names the file and what it is instead: a folder, a FIFO
    /// (named pipe), a character or block device, a socket, or missing.
    /// Returns the file's size in bytes.
    @discardableResult
    public static func requireRegularFile(atPath path: String) throws -> Int {
        var status = stat()
        guard stat(path, &status) == 0 else {
            throw ModelFormatError(.io, file: path, field: "file", problem: "cannot open: \(String(cString: strerror(errno)))")
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            throw ModelFormatError(.io, file: path, field: "file", problem: "is \(kindName(mode: status.st_mode)), not a regular file")
        }
        return Int(status.st_size)
    }

    /// The largest file ``readRegularFile(_:maximumByteCount:)`` reads by default: far
    /// above any configuration, tokenizer or index file, far below the memory a mistaken
    /// path (a model file given as `tokenizer.json`) would otherwise take.
    public static let defaultMaximumReadByteCount = 1 << 30

    /// The bytes of a small file read whole (JSON, a `tokenizer.model`): a regular file
    /// of at most `maximumByteCount` bytes. A FIFO, a device or a folder is an error, not
    /// a read that blocks forever or never ends.
    public static func readRegularFile(_ url: URL, maximumByteCount: Int = defaultMaximumReadByteCount) throws -> Data {
        let size = try requireRegularFile(atPath: url.path)
        guard size <= maximumByteCount else {
            throw ModelFormatError(
                .invalidValue, file: url.path, field: "file", problem: "is \(size) bytes, more than the \(maximumByteCount) a file of this kind may have")
        }
        do { return try Data(contentsOf: url) } catch {
            throw ModelFormatError(.io, file: url.path, field: "file", problem: "cannot read: \(error.localizedDescription)")
        }
    }

    /// What a `st_mode` describes, for errors: "a folder", "a FIFO (named pipe)", ….
    static func kindName(mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFREG: "a regular file"
        case S_IFDIR: "a folder"
        case S_IFIFO: "a FIFO (named pipe)"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFSOCK: "a socket"
        case S_IFLNK: "a symbolic link"
        default: "a file of unknown type"
        }
    }

    /// Drops the whole pages of the mapping inside the range from resident memory
    /// (`madvise(MADV_DONTNEED)`: the mapping is read-only, so they are read from the file
    /// again if touched). Does nothing for bytes held in memory or outside the mapping.
    public func releaseResidentPages(from pointer: UnsafeRawPointer, byteCount: Int) {
        guard isMapped, byteCount > 0, pointer >= baseAddress, pointer + byteCount <= baseAddress + count else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (Int(bitPattern: pointer) + page - 1) / page * page
        let end = (Int(bitPattern: pointer) + byteCount) / page * page
        guard end > start, let address = UnsafeMutableRawPointer(bitPattern: start) else { return }
        _ = madvise(address, end - start, MADV_DONTNEED)
    }

    /// Copies `bytes` into memory owned by this object; `name` stands for the file in errors.
    public init(copying bytes: some Collection<UInt8>, name: String) {
        let storage = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 64)
        storage.copyMemory(from: Array(bytes), byteCount: bytes.count)
        baseAddress = UnsafeRawPointer(storage)
        isMapped = false
        count = bytes.count
        path = name
        release = { storage.deallocate() }
    }

    deinit { release() }

    /// The bytes `range`, which the caller has checked lie inside.
    public func slice(_ range: Range<Int>) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: baseAddress + range.lowerBound, count: range.count)
    }
}
