/// The backends an application can choose from by name at run time.
///
/// A registry starts with ``NaiveBackend``; modules that provide other backends are
/// registered by the application that links them, so the core never depends on them:
///
/// ```swift
/// import BLASBackend
/// var registry = BackendRegistry()
/// registry.register(BLASBackend.self)
/// let backend = try registry.makeBackend(named: "blas", configuration: .init(threadCount: 2))
/// ```
public struct BackendRegistry: Sendable {
    /// Creates a backend from its settings.
    public typealias Factory = @Sendable (BackendConfiguration) throws -> any Backend

    private var factories: [String: Factory] = [:]

    /// A registry holding the naive backend.
    public init() {
        register(NaiveBackend.self)
    }

    /// Makes `type` available under its ``Backend/name``, replacing any backend
    /// registered under that name before.
    public mutating func register<B: Backend>(_ type: B.Type) {
        factories[B.name] = { try B(configuration: $0) }
    }

    /// Makes a backend available under `name`, created by `factory`.
    public mutating func register(name: String, factory: @escaping Factory) {
        factories[name] = factory
    }

    /// The registered names, sorted.
    public var names: [String] { factories.keys.sorted() }

    /// Creates the backend registered as `name`.
    public func makeBackend(named name: String, configuration: BackendConfiguration = .init()) throws -> any Backend {
        guard let factory = factories[name] else {
            throw BackendRegistryError.unknownBackend(name, available: names)
        }
        return try factory(configuration)
    }
}

/// An error from ``BackendRegistry``.
public enum BackendRegistryError: Error, Equatable, CustomStringConvertible {
    /// No backend is registered under the name.
    case unknownBackend(String, available: [String])

    public var description: String {
        switch self {
        case let .unknownBackend(name, available):
            "unknown backend '\(name)'; available: \(available.joined(separator: ", "))"
        }
    }
}
