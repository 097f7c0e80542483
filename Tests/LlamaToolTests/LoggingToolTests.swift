import Foundation
import Testing
import TestSupport

/// `--verbose` turns on the libraries' debug log on standard error; without it the log
/// shows warnings only, and standard output is the same either way.
struct LoggingToolTests {
    static let model = Fixtures.url("models/llama-mha/model-f32.gguf").path

    @Test func verboseLogsWhatWasLoadedOnStandardError() throws {
        let arguments = ["generate", "-m", Self.model, "--temperature", "0", "-n", "4", "--prompt-ids", "1"]
        let quiet = try ToolRunner.run(arguments)
        let verbose = try ToolRunner.run(arguments + ["--verbose"])
        #expect(quiet.status == 0 && verbose.status == 0, "\(verbose.standardError)")
        #expect(verbose.standardOutput == quiet.standardOutput)
        #expect(verbose.standardError.contains("loaded model"))
        #expect(verbose.standardError.contains("architecture=LlamaModel"))
        #expect(verbose.standardError.contains("format=gguf"))
        #expect(!quiet.standardError.contains(" debug "))
    }
}
