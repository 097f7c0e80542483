import Foundation
import TestSupport

/// Runs the built `llama` tool (it sits next to the test bundle in the build folder).
enum ToolRunner {
    struct Result {
        var status: Int32
        var standardOutput: String
        var standardError: String
    }

    /// Writes a random f16 model of these sizes with `llama random-model` (context 256)
    /// and returns its path; stops the tests if the tool fails.
    static func randomModel(
        at path: String, width: Int, layers: Int, heads: Int, kvHeads: Int, feedForward: Int, vocabulary: Int
    ) -> String {
        let result = try! run([
            "random-model", path, "--preset", "custom", "--width", "\(width)", "--layers", "\(layers)", "--heads", "\(heads)",
            "--kv-heads", "\(kvHeads)", "--feed-forward", "\(feedForward)", "--vocabulary", "\(vocabulary)",
            "--context-length", "256", "--type", "f16",
        ])
        precondition(result.status == 0, result.standardError)
        return path
    }

    static let executable: URL = {
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        // swift-testing runs the .xctest bundle's executable from inside the bundle on some platforms.
        while !FileManager.default.fileExists(atPath: folder.appendingPathComponent("llama").path), folder.path != "/" {
            folder.deleteLastPathComponent()
        }
        return folder.appendingPathComponent("llama")
    }()

    static func run(_ arguments: [String], input: String? = nil, environment: [String: String] = [:]) throws -> Result {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        var merged = ProcessInfo.processInfo.environment
        merged["SWIFT_LLAMA_MODEL"] = "/nonexistent/default.gguf"
        for (key, value) in environment { merged[key] = value }
        process.environment = merged
        let output = Pipe(), error = Pipe(), standardInput = Pipe()
        process.standardOutput = output
        process.standardError = error
        process.standardInput = standardInput
        try process.run()
        if let input { standardInput.fileHandleForWriting.write(Data(input.utf8)) }
        try standardInput.fileHandleForWriting.close()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, standardOutput: String(decoding: outputData, as: UTF8.self),
            standardError: String(decoding: errorData, as: UTF8.self))
    }

    /// Runs and decodes standard output as JSON.
    static func json(_ arguments: [String], input: String? = nil) throws -> (Result, Any) {
        let result = try run(arguments, input: input)
        let object = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8))
        return (result, object)
    }
}
