import ArgumentParser
import Foundation
import ModelFormats

struct InfoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show a GGUF file's metadata and tensors.",
        discussion: """
            Examples:
              llama info model.gguf
              llama info model.gguf --json | jq '.metadata["general.architecture"]'
            """)

    @Argument(help: "A GGUF file (default: the cached Gemma 3 270M).")
    var file: String?

    @Flag(help: "Print JSON.")
    var json = false

    @Flag(help: "Show every element of long arrays.")
    var full = false

    func run() async throws {
        try await reportingErrors {
            let path = file ?? DefaultModel.path
            let start = ContinuousClock.now
            let gguf = try GGUFFile(contentsOf: URL(fileURLWithPath: path))
            let openTime = (ContinuousClock.now - start).seconds
            if json {
                var metadata: [String: Any] = [:]
                for (key, value) in gguf.metadata.entries { metadata[key] = jsonValue(value) }
                try printJSON([
                    "file": path, "version": gguf.version, "alignment": gguf.alignment, "open_seconds": openTime,
                    "metadata": metadata,
                    "tensors": gguf.tensorInfos.map {
                        ["name": $0.name, "shape": $0.shape, "type": $0.type.name, "offset": $0.offset, "bytes": $0.byteCount] as [String: Any]
                    },
                ] as [String: Any])
                return
            }
            print("\(path): GGUF v\(gguf.version), \(gguf.metadata.entries.count) metadata entries, \(gguf.tensorInfos.count) tensors, opened in \(String(format: "%.1f", openTime * 1000)) ms")
            for (key, value) in gguf.metadata.entries {
                print("  \(key) = \(full ? String(describing: jsonValue(value)) : value.description)")
            }
            var parameters = 0, bytes = 0
            for info in gguf.tensorInfos {
                print("  \(info.name.padding(toLength: 32, withPad: " ", startingAt: 0)) \(info.type.name.padding(toLength: 6, withPad: " ", startingAt: 0)) \(info.shape)")
                parameters += info.elementCount
                bytes += info.byteCount
            }
            print(String(format: "  %.2f M parameters, %.2f MB of tensor data", Double(parameters) / 1e6, Double(bytes) / 1e6))
        }
    }

    func jsonValue(_ value: GGUFValue) -> Any {
        switch value {
        case let .string(v): return v
        case let .bool(v): return v
        case let .float32(v): return Double(v)
        case let .float64(v): return v
        case let .array(a):
            if let strings = a.strings { return full ? strings : Array(strings.prefix(8)) + (strings.count > 8 ? ["… \(strings.count) in all"] : []) }
            if let floats = a.floats { return full ? floats.map(Double.init) : floats.prefix(8).map(Double.init) }
            if let integers = a.integers { return full ? integers : Array(integers.prefix(8)) }
            return a.description
        default: return value.integer ?? value.description
        }
    }
}
