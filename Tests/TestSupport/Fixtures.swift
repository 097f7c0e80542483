import Foundation

/// The committed test fixtures under `Tests/Fixtures`, shared by every test target.
public enum Fixtures {
    /// `Tests/Fixtures`.
    public static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// The fixture at `path`, relative to `Tests/Fixtures`.
    public static func url(_ path: String) -> URL {
        root.appendingPathComponent(path)
    }

    /// The bytes of the fixture at `path`.
    public static func data(_ path: String) throws -> Data {
        try Data(contentsOf: url(path))
    }

    /// Decodes the JSON fixture at `path`.
    public static func json<T: Decodable>(_ type: T.Type, _ path: String) throws -> T {
        try JSONDecoder().decode(type, from: data(path))
    }

    /// A new empty temporary folder, removed by the caller (or left for the system).
    public static func temporaryFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("swift-llama-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }
}

extension Fixtures {
    /// A file of the shared reference fixtures, `../shared/fixtures/<path>` beside the
    /// clone (read-only files too large to commit, such as the byte-level BPE vocabularies
    /// of `vocab/`; CI puts them there).
    public static func shared(_ path: String) -> URL {
        root.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("shared/fixtures").appendingPathComponent(path)
    }

    /// The fixed time the chat-template references were rendered at (`strftime_now` in
    /// `Scripts/generate_chat_template_references.py` and the shared `render_with_jinja2.py`):
    /// 2026-12-07 10:30, local time.
    public static let chatTemplateReferenceTime: Date = {
        var components = DateComponents()
        (components.year, components.month, components.day, components.hour, components.minute) = (2026, 12, 7, 10, 30)
        return Calendar(identifier: .gregorian).date(from: components)!
    }()

    /// The cache folder of downloaded files (`SWIFT_LLAMA_CACHE`, else
    /// `$XDG_CACHE_HOME/swift-llama`, else `~/.cache/swift-llama`), as the scripts use it.
    public static var cacheFolder: URL {
        let environment = ProcessInfo.processInfo.environment
        let cache = environment["SWIFT_LLAMA_CACHE"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory() + "/.cache") + "/swift-llama"
        return URL(fileURLWithPath: cache)
    }
}

extension Fixtures {
    /// SmolLM2-135M-Instruct (Q4_1), the default model, as ``cachedModel(_:override:suite:fetch:)``
    /// finds it (`$SWIFT_LLAMA_SMOLLM2_MODEL` overrides); `suite` names the tests that need it.
    public static func smolLM2Model(suite: String) -> URL? {
        cachedModel(
            "SmolLM2-135M-Instruct.Q4_1.gguf", override: "SWIFT_LLAMA_SMOLLM2_MODEL", suite: suite,
            fetch: "Scripts/fetch-default-model.sh")
    }

    /// A model file of the download cache (`Scripts/fetch-default-model.sh` puts it in
    /// `$SWIFT_LLAMA_CACHE`, else `$XDG_CACHE_HOME/swift-llama`, else
    /// `~/.cache/swift-llama`, under `models/`), or the path in the environment variable
    /// `override` when set; `nil`, with a line saying the tests that need it are skipped
    /// and how to fetch it, when the file is not there.
    public static func cachedModel(_ fileName: String, override: String, suite: String, fetch: String) -> URL? {
        let path = ProcessInfo.processInfo.environment[override].flatMap { $0.isEmpty ? nil : $0 }
            ?? cacheFolder.appendingPathComponent("models/" + fileName).path
        guard FileManager.default.fileExists(atPath: path) else {
            print("\(suite): SKIPPED — \(path) is not there; run \(fetch) to run these tests")
            return nil
        }
        return URL(fileURLWithPath: path)
    }
}
