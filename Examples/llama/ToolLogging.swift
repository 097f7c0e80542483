import Foundation
import Logging

/// The tool's log: the libraries' swift-log records on standard error, at the level
/// `--verbose` chooses (`.debug`: what was loaded, which kernels and chat template were
/// chosen), else `.notice` (warnings and errors only).
///
/// swift-log is set up once per process; the level is read at each record, because the
/// libraries create their loggers before the options are parsed (and the tool's tests
/// run several commands in one process).
enum ToolLogging {
    private static let state = LevelState()

    /// Sets the level for the rest of the run, setting up the log the first time.
    static func setUp(verbose: Bool) {
        state.setUp(level: verbose ? .debug : .notice)
    }

    /// Sets the level for the rest of the run (`llama serve` logs requests at `.info`).
    static func setUp(level: Logger.Level) {
        state.setUp(level: level)
    }

    fileprivate final class LevelState: @unchecked Sendable {
        private let lock = NSLock()
        private var bootstrapped = false
        private var level = Logger.Level.notice

        var current: Logger.Level { lock.withLock { level } }

        func setUp(level: Logger.Level) {
            let first = lock.withLock {
                self.level = level
                defer { bootstrapped = true }
                return !bootstrapped
            }
            if first {
                LoggingSystem.bootstrap { label in LevelReadingHandler(inner: StreamLogHandler.standardError(label: label)) }
            }
        }
    }

    /// A stream handler whose level is the tool's current one.
    private struct LevelReadingHandler: LogHandler {
        var inner: StreamLogHandler

        var logLevel: Logger.Level {
            get { ToolLogging.state.current }
            set {}
        }

        var metadata: Logger.Metadata {
            get { inner.metadata }
            set { inner.metadata = newValue }
        }

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { inner[metadataKey: key] }
            set { inner[metadataKey: key] = newValue }
        }

        func log(event: LogEvent) {
            inner.log(event: event)
        }
    }
}
