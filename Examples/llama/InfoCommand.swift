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

    @Argument(help: "A GGUF file (default: the cached SmolLM2-135M-Instruct).")
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
            // Keys, strings and tensor names come from the file: control characters in
            // them are escaped, so a file cannot add lines or send terminal escapes.
            for (key, value) in gguf.metadata.entries {
                print("  \(escapingControlCharacters(key)) = \(text(value))")
            }
            var parameters = 0, bytes = 0
            for info in gguf.tensorInfos {
                print("  \(escapingControlCharacters(info.name).padding(toLength: 32, withPad: " ", startingAt: 0)) \(info.type.name.padding(toLength: 6, withPad: " ", startingAt: 0)) \(info.shape)")
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
        // Every UInt64 in full: values from 2^63 on do not fit `Int`.
        case let .uint64(v): return v
        case let .array(.uint64(values)): return full ? values : Array(values.prefix(8))
        case let .array(a):
            if let strings = a.strings { return full ? strings : Array(strings.prefix(8)) + (strings.count > 8 ? ["… \(strings.count) in all"] : []) }
            if let floats = a.floats { return full ? floats.map(Double.init) : floats.prefix(8).map(Double.init) }
            if let integers = a.integers { return full ? integers : Array(integers.prefix(8)) }
            return a.description
        default: return value.integer ?? value.description
        }
    }

    /// A metadata value as one line of text: strings quoted and escaped, every integer
    /// exact (a UInt64 of 2^63 or more too), arrays as a preview of their first
    /// elements (of all of them with --full).
    func text(_ value: GGUFValue) -> String {
        switch value {
        case let .string(v): return quoted(v)
        case let .uint64(v): return "\(v)"
        case let .array(array): return text(array)
        default: return value.integer.map { "\($0)" } ?? value.description
        }
    }

    func text(_ array: GGUFArray) -> String {
        let limit = full ? Int.max : 3
        let elements: [String]
        switch array {
        case let .string(v): elements = v.prefix(limit).map(quoted)
        case let .uint64(v): elements = v.prefix(limit).map { "\($0)" }
        case let .int64(v): elements = v.prefix(limit).map { "\($0)" }
        case let .float32(v): elements = v.prefix(limit).map { "\($0)" }
        case let .float64(v): elements = v.prefix(limit).map { "\($0)" }
        case let .bool(v): elements = v.prefix(limit).map { "\($0)" }
        case let .array(v): elements = v.prefix(limit).map(text)
        default: elements = (array.integers ?? []).prefix(limit).map { "\($0)" }
        }
        return "[\(array.elementType) × \(array.count): \(elements.joined(separator: ", "))\(array.count > limit ? ", …" : "")]"
    }

    func quoted(_ string: String) -> String {
        "\"" + escapingControlCharacters(string.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")) + "\""
    }
}

/// `text` with its control characters (C0, DEL and C1, among them ESC and the CSI
/// introducer U+009B) and the bidirectional overrides and isolates written as escapes
/// (`\n`, `\t`, `\r`, `\u{1B}`), so that printing it cannot start a new line, move the
/// cursor, change colours or reorder what a terminal shows.
func escapingControlCharacters(_ text: String) -> String {
    var result = ""
    result.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\n": result += "\\n"
        case "\t": result += "\\t"
        case "\r": result += "\\r"
        case _ where scalar.properties.generalCategory == .control || (0x202A...0x202E).contains(scalar.value) || (0x2066...0x2069).contains(scalar.value):
            result += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
        default: result.unicodeScalars.append(scalar)
        }
    }
    return result
}
