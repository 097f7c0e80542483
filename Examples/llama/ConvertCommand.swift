import ArgumentParser
import BLASBackend
import Foundation
import LLM
import ModelFormats
import TensorCore
import WeightConverter

struct ConvertCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a Hugging Face folder or a llama2.c checkpoint to GGUF.",
        discussion: """
            Types: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K_S, Q3_K_M, Q3_K_L, Q4_K_S, Q4_K_M, Q5_K_S, \
            Q5_K_M, Q6_K (any case; Q3_K, Q4_K and Q5_K mean the _M mixes). Norms stay f32. The quantized types \
            give each tensor the type llama-quantize gives it: Q6_K for the output projection (or a tied \
            embedding), more bits for some attn_v and ffn_down layers in the K-quant mixes.

            Examples:
              llama convert ./Llama-2-7b-hf llama-2-7b.q8_0.gguf --type q8_0
              llama convert stories260K.bin stories260K.gguf --tokenizer tok512.model --type f32
            """)

    @Argument(help: "A Hugging Face folder, or a llama2.c checkpoint (.bin).")
    var input: String

    @Argument(help: "The GGUF file to write.")
    var output: String

    @Option(help: "The weight type.")
    var type: String = "f16"

    @Option(help: "The tokenizer of a llama2.c checkpoint (tokenizer.model or GGUF).")
    var tokenizer: String?

    @Option(help: "general.name of the output.")
    var name: String?

    @Flag(help: "Replace the output file if it exists.")
    var force = false

    func run() async throws {
        try await reportingErrors {
            let options = ConversionOptions(fileType: try fileType(named: type), overwrite: force, name: name)
            let inputURL = URL(fileURLWithPath: input), outputURL = URL(fileURLWithPath: output)
            let progress = ProgressPrinter()
            switch try ModelLoader.format(of: inputURL) {
            case .huggingFace:
                try WeightConverter.convertHuggingFace(folder: inputURL, to: outputURL, options: options, progress: progress.report)
            case .llama2c:
                guard let tokenizer else { throw ValidationError("a llama2.c checkpoint needs --tokenizer") }
                try WeightConverter.convertLlama2c(
                    checkpoint: inputURL, tokenizer: URL(fileURLWithPath: tokenizer), to: outputURL, options: options,
                    progress: progress.report)
            case .gguf:
                throw ValidationError("\(input) is already GGUF; use `llama quantize` to change its type")
            }
            progress.finish(output)
        }
    }
}

struct QuantizeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quantize",
        abstract: "Re-encode the weights of a GGUF file in another type.",
        discussion: """
            Each tensor gets the type llama-quantize gives it for the file type: Q6_K for the output projection \
            (or a tied embedding) of the quantized types, more bits for some attn_v and ffn_down layers in the \
            K-quant mixes, and a smaller block type for rows that are not whole 256-value blocks.

            Examples:
              llama quantize model-f16.gguf model-q4_k_m.gguf Q4_K_M
              llama quantize model-f16.gguf model-q4_k_m.gguf Q4_K_M --imatrix imatrix.gguf
              llama quantize model-f16.gguf model-q4_k_m.gguf Q4_K_M --method gptq --calibration calibration.txt
              llama quantize model-f16.gguf model-q4_0.gguf q4_0
              llama quantize model-q8_0.gguf model-f32.gguf f32 --force
            """)

    @Argument(help: "The GGUF file to read.") var input: String
    @Argument(help: "The GGUF file to write.") var output: String
    @Argument(help: "The file type: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K_S, Q3_K_M, Q3_K_L, Q4_K_S, Q4_K_M, Q5_K_S, Q5_K_M or Q6_K.")
    var type: String

    @Option(help: "An importance matrix (llama.cpp's imatrix GGUF file, from llama-imatrix): weigh each weight's rounding error by its input column's mean squared activation.")
    var imatrix: String?

    @Option(help: "rtn (round to nearest, as llama-quantize; the default) or gptq (error-compensating; needs --calibration).")
    var method: String = "rtn"

    @Option(help: "gptq: the calibration text the inputs' second moments are collected over.")
    var calibration: String?

    @Option(help: "gptq: tokens per calibration chunk.")
    var calibrationContext: Int = 512

    @Option(help: "gptq: at most this many calibration chunks (default: all).")
    var calibrationChunks: Int?

    @Option(help: "gptq: the dampening added to the second moments' diagonal, as a fraction of its mean.")
    var dampening: Double = 0.01

    @OptionGroup var backendOptions: BackendOptions

    @Flag(help: "Replace the output file if it exists.")
    var force = false

    func validate() throws {
        guard ["rtn", "gptq"].contains(method) else { throw ValidationError("--method must be rtn or gptq, not \(method)") }
        if method == "gptq" && calibration == nil { throw ValidationError("--method gptq needs --calibration TEXT") }
        if method == "rtn" && calibration != nil { throw ValidationError("--calibration is for --method gptq") }
        guard calibrationContext >= 2, (calibrationChunks ?? 1) >= 1 else {
            throw ValidationError("--calibration-context must be at least 2 and --calibration-chunks at least 1")
        }
        guard dampening > 0, dampening.isFinite else { throw ValidationError("--dampening must be positive") }
    }

    func run() async throws {
        try await reportingErrors {
            var options = ConversionOptions(fileType: try fileType(named: type), overwrite: force)
            if let imatrix { options.importanceMatrix = try ImportanceMatrix(contentsOf: URL(fileURLWithPath: imatrix)) }
            if let calibration {
                // GPTQ: run the calibration text through the model being quantized, keeping
                // every layer weight's input second moments.
                let text: String
                do { text = try String(contentsOfFile: calibration, encoding: .utf8) } catch {
                    throw ValidationError("cannot read \(calibration): \(error.localizedDescription)")
                }
                let recorder = ActivationRecorder(wrapping: try backendOptions.makeBackend(), collectsSecondMoments: true)
                let model = try ModelLoader.load(from: URL(fileURLWithPath: input), backend: recorder)
                let start = ContinuousClock.now
                let collected = try model.collectImportanceMatrix(
                    text: text, context: calibrationContext, chunkLimit: calibrationChunks, recorder: recorder, dataset: calibration
                ) { chunk, count in
                    guard standardErrorIsTerminal else { return }
                    FileHandle.standardError.write(Data("\rcalibration [\(chunk)/\(count)] chunks\u{1B}[K".utf8))
                }
                if standardErrorIsTerminal { FileHandle.standardError.write(Data("\n".utf8)) }
                printError(String(
                    format: "calibration: %d chunks of %d tokens, %d weights, %.1f s", collected.chunkCount, calibrationContext,
                    collected.matrix.entries.count, (ContinuousClock.now - start).seconds))
                options.errorCompensation = ErrorCompensation(dampening: dampening) { recorder.secondMoments(of: $0) }
            }
            let progress = ProgressPrinter()
            try WeightConverter.requantize(
                gguf: URL(fileURLWithPath: input), to: URL(fileURLWithPath: output), options: options, progress: progress.report)
            progress.finish(output)
        }
    }
}

/// The file type named `name` (llama-quantize's names, any case), or an error that
/// lists the names.
func fileType(named name: String) throws -> QuantizationFileType {
    guard let type = QuantizationFileType(name: name) else {
        throw ValidationError("unknown type \(name); the types are \(QuantizationFileType.names.joined(separator: ", "))")
    }
    return type
}

/// Prints conversion progress on one terminal line; prints nothing when standard
/// error is not a terminal.
final class ProgressPrinter: @unchecked Sendable {
    private var last: ConversionProgress?

    func report(_ progress: ConversionProgress) {
        last = progress
        guard standardErrorIsTerminal else { return }
        let line = String(
            format: "\r[%d/%d] %@  %.0f/%.0f MB  %.0f MB/s  %.0f s left\u{1B}[K", progress.tensorIndex, progress.tensorCount,
            progress.tensorName, Double(progress.bytesWritten) / 1e6, Double(progress.totalBytes) / 1e6, progress.rate / 1e6,
            progress.estimatedRemaining)
        FileHandle.standardError.write(Data(line.utf8))
    }

    func finish(_ output: String) {
        if standardErrorIsTerminal { FileHandle.standardError.write(Data("\n".utf8)) }
        if let last {
            printError(String(format: "wrote %@: %d tensors, %.1f MB in %.1f s", output, last.tensorCount, Double(last.totalBytes) / 1e6, last.elapsed))
        }
    }
}
