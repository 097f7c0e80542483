import ArgumentParser
import Foundation
import LLM
import ModelFormats
import TensorCore

/// `llama bench-matvec`: the speed of one weight matrix times one (or a few) activation
/// vectors on a backend, the operation decoding spends most of its time in, without a
/// model around it.
struct BenchMatvecCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-matvec",
        abstract: "Measure one matrix-vector product: the kernel a decoded token spends most of its time in.",
        discussion: """
            Makes a random weight matrix of --rows × --columns values in --type (in memory), or takes --tensor \
            from the GGUF file --model (from its memory map, any type the library reads, K-quants included), \
            multiplies it with --inputs random activation vectors once to warm up and then --repetitions times, \
            and prints the median and fastest time with the weight bytes read per second and the time per 32 \
            weights. A matrix larger than the last-level cache measures the memory; a small one (a few hundred \
            kilobytes per thread) the arithmetic.

            Examples:
              llama bench-matvec --type q4_0 --rows 5632 --columns 2048 -t 2
              llama bench-matvec --type q8_0 --rows 512 --columns 2048 -t 1 -r 200 --activations int8
              llama bench-matvec -m model-q4_k_m.gguf --tensor blk.0.ffn_down.weight -t 2
            """)

    @Option(name: .shortAndLong, help: "Take the weight matrix from this GGUF file (with --tensor) instead of a random one.")
    var model: String?

    @Option(help: "The tensor of --model to multiply, e.g. blk.0.ffn_down.weight; its type and shape replace --type, --rows and --columns.")
    var tensor: String?

    @Option(help: "The weight type: f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q2_K, q3_K, q4_K, q5_K, q6_K.")
    var type: String = "q4_0"

    @Option(help: "Output rows (the weight matrix's rows).")
    var rows: Int = 5632

    @Option(help: "Values per row (the activation's length); a multiple of the type's block length.")
    var columns: Int = 2048

    @Option(help: "Activation vectors multiplied at once (1: decoding).")
    var inputs: Int = 1

    @Option(name: [.customShort("r"), .long], help: "Timed repetitions.")
    var repetitions: Int = 20

    @OptionGroup var backendOptions: BackendOptions

    func validate() throws {
        guard (model == nil) == (tensor == nil) else { throw ValidationError("--model and --tensor go together") }
        guard inputs > 0, repetitions > 0 else { throw ValidationError("--inputs and --repetitions must be positive") }
        if model != nil { return }
        guard let elementType = ElementType(name: type), elementType.canEncode else {
            let names = ElementType.allCases.filter(\.canEncode).map(\.rawValue).joined(separator: ", ")
            throw ValidationError("--type must be one of \(names), not \(type)")
        }
        guard rows > 0, columns > 0 else { throw ValidationError("--rows and --columns must be positive") }
        guard columns % elementType.blockLength == 0, let rowBytes = elementType.rowByteCount(length: columns) else {
            throw ValidationError("--columns (\(columns)) must be a multiple of \(elementType)'s block length \(elementType.blockLength)")
        }
        let (bytes, overflow) = rowBytes.multipliedReportingOverflow(by: rows)
        guard !overflow, UInt64(bytes) <= ProcessInfo.processInfo.physicalMemory / 2 else {
            throw ValidationError("--rows × --columns in \(type) would take more than half of this machine's memory")
        }
    }

    /// The weight matrix: --tensor of --model, viewed in its memory map, or a random one.
    func makeWeight() throws -> Tensor {
        guard let model, let tensor else {
            guard let elementType = ElementType(name: type) else { throw ValidationError("--type \(type) is not a type") }
            return try RandomModelCommand.randomTensor(shape: [rows, columns], type: elementType, seed: 1, constant: nil)
        }
        guard FileManager.default.fileExists(atPath: model) else { throw ValidationError("\(model) does not exist") }
        let weight = try GGUFFile(contentsOf: URL(fileURLWithPath: model)).tensor(named: tensor)
        guard weight.shape.count == 2 else {
            throw ValidationError("\(model): tensor \(tensor) has shape \(weight.shape), not a matrix")
        }
        return weight
    }

    func run() async throws {
        let weight = try makeWeight()
        let elementType = weight.elementType, rows = weight.rowCount, columns = weight.rowLength
        guard let rowBytes = elementType.rowByteCount(length: columns) else {
            throw ValidationError("rows of \(columns) \(elementType) values are not whole blocks")
        }
        let backend = try backendOptions.makeBackend()
        let input = try RandomModelCommand.randomTensor(shape: [inputs, columns], type: .f32, seed: 2, constant: nil)
        let output = try Tensor(zeros: [inputs, rows])
        var seconds: [Double] = []
        for repetition in 0...repetitions {
            let start = ContinuousClock.now
            try backend.matmul(input, weight: weight, into: output)
            if repetition > 0 { seconds.append((ContinuousClock.now - start).seconds) }
        }
        let middle = median(seconds), fastest = seconds.min()!
        let bytes = Double(rowBytes * rows), groups = Double(rows) * Double(columns) / 32
        let threads = backend.configuration.threadCount
        print(String(
            format: "%@ %d × %d, %d input%@, %@ backend, %d thread%@: median %.3f ms (%.2f GB/s of weights, %.3f ns per 32 weights), fastest %.3f ms (%.2f GB/s)",
            "\(elementType)", rows, columns, inputs, inputs == 1 ? "" : "s", backend.name, threads, threads == 1 ? "" : "s",
            middle * 1e3, bytes / middle / 1e9, middle * 1e9 / groups, fastest * 1e3, bytes / fastest / 1e9))
    }
}
