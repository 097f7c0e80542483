#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Writes a file that appears whole or not at all: bytes go to a hidden temporary
/// file in the same folder, which is renamed over the target only by ``commit()``.
/// If the writer is dropped without committing (an error, a cancelled conversion),
/// the temporary file is removed and the target is untouched.
///
/// An existing target is never replaced unless `overwrite` is true. Write errors are
/// reported with the system's reason, so a full disk says "No space left on device".
public final class AtomicFileWriter {
    /// The file that will exist after ``commit()``.
    public let destination: URL
    /// The temporary file being written.
    public let temporaryURL: URL
    private var descriptor: Int32
    private var buffer: [UInt8] = []
    private var committed = false
    /// Bytes written so far (including buffered ones).
    public private(set) var bytesWritten = 0
    private static let bufferCapacity = 1 << 20

    public init(destination: URL, overwrite: Bool) throws {
        self.destination = destination
        let path = destination.path
        if !overwrite, FileManager.default.fileExists(atPath: path) {
            throw ModelFormatError(
                .alreadyExists, file: path, field: "output", problem: "already exists; pass overwrite (--force) to replace it")
        }
        let folder = destination.deletingLastPathComponent()
        let name = ".\(destination.lastPathComponent).partial-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        temporaryURL = folder.appendingPathComponent(name)
        descriptor = open(temporaryURL.path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard descriptor >= 0 else {
            throw ModelFormatError(
                .io, file: path, field: "output", problem: "cannot create a temporary file in \(folder.path): \(String(cString: strerror(errno)))")
        }
        buffer.reserveCapacity(Self.bufferCapacity)
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
        if !committed { unlink(temporaryURL.path) }
    }

    /// Appends bytes.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        if buffer.count + bytes.count > Self.bufferCapacity {
            try flush()
        }
        if bytes.count >= Self.bufferCapacity {
            try writeDirectly(bytes)
        } else {
            buffer.append(contentsOf: bytes)
        }
        bytesWritten += bytes.count
    }

    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Appends a little-endian integer.
    public func write<T: FixedWidthInteger>(_ value: T) throws {
        try withUnsafeBytes(of: value.littleEndian) { try write($0) }
    }

    /// Appends zero bytes until the file length is a multiple of `alignment`.
    public func pad(toMultipleOf alignment: Int) throws {
        let remainder = bytesWritten % alignment
        if remainder != 0 { try write([UInt8](repeating: 0, count: alignment - remainder)) }
    }

    private func flush() throws {
        try buffer.withUnsafeBytes { try writeDirectly($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    private func writeDirectly(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let result = systemWrite(descriptor, bytes.baseAddress! + done, bytes.count - done)
            if result < 0 {
                if errno == EINTR { continue }
                throw ModelFormatError(
                    .io, file: destination.path, field: "output",
                    problem: "writing failed after \(bytesWritten) bytes: \(String(cString: strerror(errno)))")
            }
            done += result
        }
    }

    /// Flushes, closes and renames the temporary file to the destination.
    public func commit() throws {
        try flush()
        if fsync(descriptor) != 0 {
            throw ModelFormatError(
                .io, file: destination.path, field: "output", problem: "cannot flush to disk: \(String(cString: strerror(errno)))")
        }
        close(descriptor)
        descriptor = -1
        guard rename(temporaryURL.path, destination.path) == 0 else {
            throw ModelFormatError(
                .io, file: destination.path, field: "output", problem: "cannot rename the finished file into place: \(String(cString: strerror(errno)))")
        }
        committed = true
    }
}

/// POSIX `write(2)`, named so that it does not clash with the writer's methods.
private func systemWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(descriptor, bytes, count)
    #elseif canImport(Musl)
    return Musl.write(descriptor, bytes, count)
    #else
    return Darwin.write(descriptor, bytes, count)
    #endif
}
