import Foundation

/// The settings a backend is created with.
public struct BackendConfiguration: Sendable, Equatable {
    /// How many threads the backend may use for one operation.
    public var threadCount: Int
    /// Settings particular to one backend, by name (documented by that backend).
    public var options: [String: String]

    /// - Parameters:
    ///   - threadCount: threads per operation; defaults to the number of active processors.
    ///   - options: backend-specific settings.
    public init(threadCount: Int? = nil, options: [String: String] = [:]) {
        self.threadCount = max(1, threadCount ?? ProcessInfo.processInfo.activeProcessorCount)
        self.options = options
    }
}
