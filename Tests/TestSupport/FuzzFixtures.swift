import Foundation

/// The inputs the fuzzers (Fuzz/) found crashes with: `Tests/Fixtures/fuzz/<target>/`.
/// Each is replayed by a test of the module that reads it, through the same calls as
/// the fuzz target, and must load or throw, never crash. Inputs of crashes not fixed
/// yet wait in `Tests/Fixtures/fuzz-open/<target>/` and are not replayed.
public enum FuzzFixtures {
    /// The files of `Tests/Fixtures/fuzz/<target>/`, sorted by name (README files excluded).
    public static func files(_ target: String) -> [URL] {
        let folder = Fixtures.url("fuzz/\(target)")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { !$0.hasSuffix(".md") && !$0.hasPrefix(".") }.sorted().map { folder.appendingPathComponent($0) }
    }

    /// `files(target)`'s names, for parameterized tests (a name reads better in a report).
    public static func names(_ target: String) -> [String] {
        files(target).map(\.lastPathComponent)
    }

    public static func url(_ target: String, _ name: String) -> URL {
        Fixtures.url("fuzz/\(target)/\(name)")
    }
}
