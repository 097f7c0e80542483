import ArgumentParser
import Foundation
import LLM
import ModelFormats

struct ImportanceMatrixCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "imatrix",
        abstract: "Collect an importance matrix (mean squared activations) over a calibration text.",
        discussion: """
            As llama.cpp's llama-imatrix: the text is cut into chunks of --context tokens (each starting with BOS, \
            at least two needed), every matrix product of the layers records each input column's sum of squared \
            activations, and the result is written in llama-imatrix's GGUF format, which `llama quantize --imatrix` \
            and llama-quantize both read.

            Examples:
              llama imatrix -m model-f16.gguf -f calibration.txt -o imatrix.gguf
              llama imatrix -m model-f16.gguf -f calibration.txt -o imatrix.gguf -c 256 --chunks 100 --process-output
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .shortAndLong, help: "The calibration text file.")
    var file: String

    @Option(name: .shortAndLong, help: "The importance matrix file to write.")
    var output: String

    @Option(help: "At most this many chunks (default: all).")
    var chunks: Int?

    @Flag(help: "Record output.weight too (llama-imatrix's --process-output).")
    var processOutput = false

    @Flag(help: "Replace the output file if it exists.")
    var force = false

    func validate() throws {
        if let chunks, chunks < 1 { throw ValidationError("--chunks must be at least 1") }
        if let context = modelOptions.context, context < 2 { throw ValidationError("--context must be at least 2") }
    }

    func run() async throws {
        try await reportingErrors {
            let text: String
            do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
                throw ValidationError("cannot read \(file): \(error.localizedDescription)")
            }
            var recorder: ActivationRecorder?
            let processOutput = self.processOutput
            let model = try modelOptions.load { base in
                let made = ActivationRecorder(wrapping: base) { $0.hasPrefix("blk.") || (processOutput && $0 == "output.weight") }
                recorder = made
                return made
            }
            let start = ContinuousClock.now
            let collection = try model.collectImportanceMatrix(
                text: text, context: modelOptions.context ?? 512, chunkLimit: chunks, recorder: recorder!, dataset: file
            ) { chunk, count in
                guard standardErrorIsTerminal else { return }
                FileHandle.standardError.write(Data("\r[\(chunk)/\(count)] chunks\u{1B}[K".utf8))
            }
            if standardErrorIsTerminal { FileHandle.standardError.write(Data("\n".utf8)) }
            try collection.matrix.write(to: URL(fileURLWithPath: output), overwrite: force)
            printError(
                String(
                    format: "wrote %@: %d weights, %d chunks of %d tokens (%d tokens in the text), %.1f s", output,
                    collection.matrix.entries.count, collection.chunkCount, modelOptions.context ?? 512, collection.tokenCount,
                    (ContinuousClock.now - start).seconds))
        }
    }
}
