import ArgumentParser
import BLASBackend
import Foundation
import LLM
import ModelFormats
import TensorCore

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure prompt processing (pp) and generation (tg) speed, like llama.cpp's llama-bench.",
        discussion: """
            Each test runs once to warm up, then --repetitions times; the table shows mean ± standard deviation \
            of tokens per second. Generation is compared with the memory-bandwidth limit (a probe of this machine's \
            read bandwidth divided by the weight bytes read per token); prompt processing shows the GFLOP/s of \
            the weight matrix products.

            Examples:
              llama bench -m tinyllama-q4_0.gguf -p 512 -n 128 -r 3
              llama bench -m model.gguf --backend naive -p 16 -n 8 -r 1 --json
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: [.customShort("p"), .long], help: "Prompt tokens for the pp test (0: skip).")
    var promptTokens: Int = 512

    @Option(name: [.customShort("n"), .long], help: "Generated tokens for the tg test (0: skip).")
    var generatedTokens: Int = 128

    @Option(name: [.customShort("r"), .long], help: "Repetitions of each test.")
    var repetitions: Int = 3

    @Option(help: "Prompt tokens per forward pass.")
    var batch: Int = 512

    @Flag(help: "Skip the memory-bandwidth probe.")
    var noProbe = false

    @Flag(help: "Print JSON (llama-bench's field names where they apply).")
    var json = false

    struct Result {
        var test: String
        var tokens: Int
        var samples: [Double]
        var mean: Double { samples.reduce(0, +) / Double(samples.count) }
        var standardDeviation: Double {
            guard samples.count > 1 else { return 0 }
            let m = mean
            return (samples.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(samples.count - 1)).squareRoot()
        }
    }

    func run() async throws {
        try await reportingErrors {
            guard repetitions > 0, promptTokens >= 0, generatedTokens >= 0, batch > 0 else {
                throw ValidationError("repetitions and batch must be positive, token counts not negative")
            }
            let model = try modelOptions.load()
            let (weightBytes, parameters) = try weightSize(model)
            let threads = model.backend.configuration.threadCount
            var random = SystemRandomNumberGenerator()
            let vocabulary = model.configuration.vocabularySize
            var results: [Result] = []
            if promptTokens > 0 {
                let tokens = (0..<promptTokens).map { _ in Int.random(in: 0..<vocabulary, using: &random) }
                var samples: [Double] = []
                for repetition in 0...repetitions {
                    let state = try model.model.makeState(context: promptTokens, batchCapacity: min(batch, promptTokens), cacheType: modelOptions.cacheElementType())
                    let start = ContinuousClock.now
                    _ = try model.model.process(tokens, state: state)
                    let seconds = (ContinuousClock.now - start).seconds
                    if repetition > 0 { samples.append(Double(promptTokens) / seconds) }
                }
                results.append(Result(test: "pp\(promptTokens)", tokens: promptTokens, samples: samples))
            }
            if generatedTokens > 0 {
                var samples: [Double] = []
                let state = try model.model.makeState(context: generatedTokens, batchCapacity: 1, cacheType: modelOptions.cacheElementType())
                for repetition in 0...repetitions {
                    state.cache.reset()
                    let start = ContinuousClock.now
                    var token = Int.random(in: 0..<vocabulary, using: &random)
                    for _ in 0..<generatedTokens {
                        try model.model.forward([token], state: state, allLogits: nil)
                        token = (token + 1) % vocabulary
                    }
                    let seconds = (ContinuousClock.now - start).seconds
                    if repetition > 0 { samples.append(Double(generatedTokens) / seconds) }
                }
                results.append(Result(test: "tg\(generatedTokens)", tokens: generatedTokens, samples: samples))
            }
            let bandwidth = noProbe ? nil : MemoryBandwidthProbe.measure(threadCount: threads)
            report(results, model: model, weightBytes: weightBytes, parameters: parameters, threads: threads, bandwidth: bandwidth)
        }
    }

    /// The bytes and element count of the weights: the tensor data of a GGUF file, or
    /// the size of the checkpoint files otherwise.
    func weightSize(_ model: LanguageModel) throws -> (Int, Int) {
        let url = URL(fileURLWithPath: modelOptions.modelPath)
        if try ModelLoader.format(of: url) == .gguf {
            let file = try GGUFFile(contentsOf: url)
            return (file.tensorInfos.reduce(0) { $0 + $1.byteCount }, file.tensorInfos.reduce(0) { $0 + $1.elementCount })
        }
        let files = (try? FileManager.default.subpathsOfDirectory(atPath: url.path)).map { $0.map { url.appendingPathComponent($0).path } } ?? [url.path]
        let bytes = files.reduce(0) { $0 + ((try? FileManager.default.attributesOfItem(atPath: $1)[.size] as? Int) ?? 0) }
        return (bytes, model.configuration.parameterCount)
    }

    func report(_ results: [Result], model: LanguageModel, weightBytes: Int, parameters: Int, threads: Int, bandwidth: Double?) {
        let backend = model.backend.name
        // Which kernels OpenBLAS runs decides the speed of f32 and f16 prompts.
        let openBLASCore = model.backend is BLASBackend ? BLASBackend.openBLASCore : nil
        if let openBLASCore, BLASBackend.openBLASCoreIsBelowProcessor,
            let setting = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"]
        {
            printError(
                "note: OPENBLAS_CORETYPE=\(setting) makes OpenBLAS run its \(openBLASCore) kernels, below this processor's "
                    + "\(BLASBackend.InstructionSet.detected.rawValue); f32 and f16 prompts may be faster without that setting")
        }
        if json {
            let rows: [[String: Any]] = results.map { result in
                var row: [String: Any] = [
                    "model_filename": modelOptions.modelPath, "model_type": model.name, "model_size": weightBytes,
                    "model_n_params": parameters, "backend": backend, "n_threads": threads,
                    "n_prompt": result.test.hasPrefix("pp") ? result.tokens : 0,
                    "n_gen": result.test.hasPrefix("tg") ? result.tokens : 0, "test": result.test,
                    "avg_ts": result.mean, "stddev_ts": result.standardDeviation, "samples_ts": result.samples,
                ]
                if let bandwidth, result.test.hasPrefix("tg") {
                    row["bandwidth_bytes_per_second"] = bandwidth
                    row["bandwidth_limit_ts"] = bandwidth / Double(weightBytes)
                    row["fraction_of_bandwidth_limit"] = result.mean / (bandwidth / Double(weightBytes))
                }
                if result.test.hasPrefix("pp") { row["gflops"] = 2 * Double(parameters) * result.mean / 1e9 }
                if let openBLASCore { row["openblas_core"] = openBLASCore }
                return row
            }
            try? printJSON(rows)
            return
        }
        print("| model | size | params | backend | threads | test | t/s | roofline |")
        print("| --- | ---: | ---: | --- | ---: | --- | ---: | --- |")
        for result in results {
            var roofline = ""
            if result.test.hasPrefix("tg"), let bandwidth {
                let limit = bandwidth / Double(weightBytes)
                roofline = String(format: "limit %.1f t/s at %.1f GB/s: %.0f%%", limit, bandwidth / 1e9, 100 * result.mean / limit)
            } else if result.test.hasPrefix("pp") {
                roofline = String(format: "%.1f GFLOP/s", 2 * Double(parameters) * result.mean / 1e9)
            }
            print(String(
                format: "| %@ | %.2f GiB | %.2f B | %@ | %d | %@ | %.2f ± %.2f | %@ |", model.name,
                Double(weightBytes) / 1_073_741_824, Double(parameters) / 1e9,
                openBLASCore.map { "\(backend) (OpenBLAS \($0))" } ?? backend, threads, result.test, result.mean,
                result.standardDeviation, roofline))
        }
    }
}
