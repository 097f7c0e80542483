#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import ModelFormats
import Testing
import TestSupport

/// The temporary files of ``AtomicFileWriter``: stale ones of dead processes are removed
/// by the next writer of the same name, others are left alone; model files are opened
/// only if they are regular files.
struct AtomicFileWriterTests {
    /// The id of a process that has exited (and been reaped).
    static func deadProcessID() throws -> pid_t {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "exit 0"]
        try process.run()
        process.waitUntilExit()
        return process.processIdentifier
    }

    @Test func staleTemporaryFilesOfDeadProcessesAreRemoved() throws {
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let dead = try Self.deadProcessID()
        #expect(kill(dead, 0) != 0 && errno == ESRCH)
        let names = [
            "stale": ".out.gguf.partial-\(dead)-12345",
            "live": ".out.gguf.partial-\(getppid())-7",  // the test runner's parent is alive
            "other name": ".other.gguf.partial-\(dead)-12345",
            "longer name": ".out.gguf.x.partial-\(dead)-1",
            "not a pid": ".out.gguf.partial-abc-1",
            "extra part": ".out.gguf.partial-\(dead)-1-2",
        ]
        for name in names.values { try Data("x".utf8).write(to: folder.appendingPathComponent(name)) }
        let destination = folder.appendingPathComponent("out.gguf")
        let writer = try AtomicFileWriter(destination: destination, overwrite: false)
        try writer.write([1, 2, 3])
        try writer.commit()
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: folder.path))
        #expect(left == Set(names.values.filter { $0 != names["stale"] } + ["out.gguf"]))
    }

    @Test func anAbandonedWriterLeavesNothing() throws {
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let destination = folder.appendingPathComponent("out.gguf")
        do {
            let writer = try AtomicFileWriter(destination: destination, overwrite: false)
            try writer.write([UInt8](repeating: 7, count: 3 << 20))
            #expect(FileManager.default.fileExists(atPath: writer.temporaryURL.path))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty)
    }

    /// Opening a FIFO for reading waits for a writer: a model file that is one is an
    /// error at once, naming what it is. Run on another thread, so that a regression
    /// fails the test instead of hanging it.
    @Test func onlyRegularFilesAreOpened() async throws {
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let fifo = folder.appendingPathComponent("model.gguf")
        #expect(mkfifo(fifo.path, 0o600) == 0)
        let message = try await withTimeout(seconds: 30) { () -> String in
            do {
                _ = try GGUFFile(contentsOf: fifo)
                return "opened"
            } catch {
                return "\(error)"
            }
        } onTimeout: {
            // Unblock the open(2) of a regression so that the thread ends.
            let descriptor = open(fifo.path, O_WRONLY | O_NONBLOCK)
            if descriptor >= 0 { close(descriptor) }
        }
        #expect(message == "\(fifo.path): file: is a FIFO (named pipe), not a regular file")
        #expect(throws: ModelFormatError.self) { try FileBytes(mapping: folder) }
        #expect(throws: ModelFormatError.self) { try FileBytes.requireRegularFile(atPath: "/dev/null") }
        do {
            try FileBytes.requireRegularFile(atPath: "/dev/null")
        } catch {
            #expect("\(error)" == "/dev/null: file: is a character device, not a regular file")
        }
    }
}

struct TimeoutError: Error {}

/// Runs `body` on its own thread; if it has not finished after `seconds`, calls
/// `onTimeout` and throws.
func withTimeout<T: Sendable>(seconds: Double, _ body: @escaping @Sendable () -> T, onTimeout: @escaping @Sendable () -> Void) async throws -> T {
    let box = Box<T>()
    let thread = Thread { box.set(body()) }
    thread.start()
    let deadline = Date().addingTimeInterval(seconds)
    while true {
        // Checked once more after the deadline: under load the sleep may end late.
        if let value = box.get() { return value }
        if Date() >= deadline { break }
        try await Task.sleep(for: .milliseconds(10))
    }
    onTimeout()
    throw TimeoutError()
}

final class Box<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: T?
    func set(_ newValue: T) { lock.withLock { value = newValue } }
    func get() -> T? { lock.withLock { value } }
}
