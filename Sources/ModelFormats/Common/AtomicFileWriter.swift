#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import CTemporaryFiles
import Foundation

/// Writes a file that appears whole or not at all: bytes go to a hidden temporary
/// file in the same folder, which is renamed over the target only by ``commit()``.
/// If the writer is dropped without committing (an error, a cancelled conversion),
/// the temporary file is removed and the target is untouched.
///
/// The temporary file is named `.NAME.partial-PID-RANDOM`. It is also removed when
/// the process is ended by SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGXFSZ or a crash
/// signal, or exits while the writer is alive: its path is kept in a process-wide
/// table that async-signal-safe handlers delete (see `TemporaryFiles.h`). A process
/// killed outright (SIGKILL, power loss) leaves its file behind; the next writer of
/// the same NAME in that folder removes such files once their process is gone.
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
    /// The temporary file's slot in the signal handlers' table (-1: not in it).
    private var cleanupSlot: Int32
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
        let name = "\(Self.temporaryPrefix(for: destination.lastPathComponent))\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        temporaryURL = folder.appendingPathComponent(name)
        // Registered before the file exists, so no signal can come between its creation
        // and its registration.
        cleanupSlot = tf_register(temporaryURL.path)
        descriptor = open(temporaryURL.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            let reason = String(cString: strerror(errno))
            tf_unregister(cleanupSlot)
            throw ModelFormatError(
                .io, file: path, field: "output", problem: "cannot create a temporary file in \(folder.path): \(reason)")
        }
        buffer.reserveCapacity(Self.bufferCapacity)
        Self.removeStaleTemporaryFiles(of: destination)
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
        if !committed { unlink(temporaryURL.path) }
        tf_unregister(cleanupSlot)
    }

    /// The start of the temporary file names of writers of `name`: `.NAME.partial-`.
    static func temporaryPrefix(for name: String) -> String { ".\(name).partial-" }

    /// Deletes the temporary files of earlier writers of `destination` whose process no
    /// longer exists (`.NAME.partial-PID-RANDOM` beside it, with `kill(PID, 0)` failing
    /// with ESRCH). Files of live processes, and of other names, are left alone.
    /// Returns the paths it deleted.
    @discardableResult
    public static func removeStaleTemporaryFiles(of destination: URL) -> [String] {
        let folder = destination.deletingLastPathComponent()
        let prefix = temporaryPrefix(for: destination.lastPathComponent)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return [] }
        var removed: [String] = []
        for name in names where name.hasPrefix(prefix) {
            let parts = name.dropFirst(prefix.count).split(separator: "-", omittingEmptySubsequences: false)
            guard parts.count == 2, let pid = pid_t(parts[0]), pid > 0, UInt32(parts[1]) != nil, pid != getpid() else { continue }
            guard kill(pid, 0) != 0, errno == ESRCH else { continue }
            let path = folder.appendingPathComponent(name).path
            if unlink(path) == 0 { removed.append(path) }
        }
        return removed
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
        // After the rename: a signal in between deletes a path that no longer exists.
        tf_unregister(cleanupSlot)
        cleanupSlot = -1
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
