/// The reference backend: every operation is the plain, single-threaded Swift loop
/// of its `computeReference()`. Slow, and easy to read; every other backend is
/// tested against it.
public final class NaiveBackend: Backend {
    public static let name = "naive"
    public let configuration: BackendConfiguration

    /// The naive backend ignores the thread count.
    public init(configuration: BackendConfiguration = BackendConfiguration(threadCount: 1)) {
        self.configuration = configuration
    }
}
