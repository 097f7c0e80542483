import ArgumentParser
import BLASBackend
import Foundation
import LLM
import TensorCore

/// Where the default model lives: `$SWIFT_LLAMA_MODEL`, else
/// `$SWIFT_LLAMA_CACHE/models/SmolLM2-135M-Instruct.Q4_1.gguf` (a small chat model), with
/// the cache folder defaulting to `$XDG_CACHE_HOME/swift-llama` or `~/.cache/swift-llama`.
enum DefaultModel {
    static let fileName = "SmolLM2-135M-Instruct.Q4_1.gguf"

    static var path: String {
        let environment = ProcessInfo.processInfo.environment
        if let model = environment["SWIFT_LLAMA_MODEL"], !model.isEmpty { return model }
        let cache = environment["SWIFT_LLAMA_CACHE"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (NSHomeDirectory() + "/.cache")) + "/swift-llama"
        return cache + "/models/" + fileName
    }
}

/// The options that choose a compute backend and its settings.
struct BackendOptions: ParsableArguments {
    @Option(help: "The compute backend: naive or blas.")
    var backend: String = "blas"

    @Option(name: .shortAndLong, help: "Threads per operation, 1 to the processors available (default: all of them; more are capped, with a note).")
    var threads: Int?

    @Option(help: "BLAS backend: how quantized weights meet activations when decoding: int16 (default), int8 (fastest, as llama.cpp; less precise) or float. With int16 and int8, f16 and bf16 weights meet activations rounded to f16 (as llama.cpp for f16) on processors where that is faster (AMD; --backend-option half-activations=on|off decides) and f32 ones elsewhere; float keeps f32 activations for every type (exact, as transformers in float32).")
    var activations: String?

    @Option(name: .customLong("backend-option"), help: ArgumentHelp(
        "A backend setting as KEY=VALUE (repeatable), e.g. panel-bytes=8388608 or panel-min-rows=64 for blas.",
        valueName: "key=value"))
    var backendOptions: [String] = []

    @Flag(help: "Log what is loaded and chosen (model, kernels, chat template) on standard error.")
    var verbose = false

    func makeBackend() throws -> any Backend {
        ToolLogging.setUp(verbose: verbose)
        var registry = BackendRegistry()
        registry.register(BLASBackend.self)
        var configuration = BackendConfiguration(threadCount: try threadCount())
        for option in backendOptions {
            guard let equals = option.firstIndex(of: "="), equals != option.startIndex else {
                throw ValidationError("--backend-option must be KEY=VALUE, not \(option)")
            }
            configuration.options[String(option[..<equals])] = String(option[option.index(after: equals)...])
        }
        if let activations { configuration.options["activations"] = activations }
        return try registry.makeBackend(named: backend, configuration: configuration)
    }

    /// `--threads`, checked: at least 1, and at most the processors this process may
    /// run on. Threads beyond those only wait for each other at every operation's
    /// barrier, so a larger number is lowered, with a note on standard error. Without
    /// `--threads`, all of those processors.
    func threadCount() throws -> Int {
        let available = availableProcessorCount()
        guard let threads else { return available }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1, not \(threads)") }
        if threads > available {
            printError("llama: note: --threads \(threads) is more than the \(available) processor\(available == 1 ? "" : "s") available; using \(available)")
            return available
        }
        return threads
    }
}

/// The options that choose a model and how to run it.
struct ModelOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "A GGUF file, a Hugging Face folder or a llama2.c checkpoint (default: the cached SmolLM2-135M-Instruct).")
    var model: String?

    @Option(help: "A tokenizer (tokenizer.model, tokenizer.json or GGUF) to use instead of the model's, or for a model without one.")
    var tokenizer: String?

    @OptionGroup var backendOptions: BackendOptions

    @Option(name: [.customShort("c"), .long], help: "The context length (KV cache size); default: the model's, at most 4096.")
    var context: Int?

    @Option(help: "The KV cache type: f32, or f16 for half the memory.")
    var cacheType: String = "f32"

    var modelPath: String { model ?? DefaultModel.path }

    /// Loads the model on the backend the options choose, or on `wrap` of it.
    func load(wrappingBackend wrap: ((any Backend) -> any Backend)? = nil) throws -> LanguageModel {
        let path = modelPath
        guard FileManager.default.fileExists(atPath: path) else {
            if model == nil {
                throw ValidationError("the default model is not at \(path); download it with Scripts/fetch-default-model.sh (or `make model`), or pass --model")
            }
            throw ValidationError("\(path) does not exist")
        }
        let backend = try backendOptions.makeBackend()
        return try ModelLoader.load(
            from: URL(fileURLWithPath: path), backend: wrap.map { $0(backend) } ?? backend, tokenizerURL: tokenizer.map { URL(fileURLWithPath: $0) })
    }

    /// Says once, on standard error, when `model` is used for chat but carries no chat
    /// template of its own: it is then most likely a base model, whose replies are
    /// continuations (echoes, lists) rather than answers.
    func noteIfBaseModel(_ model: LanguageModel) {
        guard !model.hasOwnChatTemplate else { return }
        printError(
            "llama: note: \(model.name) carries no chat template, so it is most likely a base model, not tuned for chat; "
                + "expect continuations rather than answers (the default model, SmolLM2-135M-Instruct, is a chat model)")
    }

    func cacheElementType() throws -> ElementType {
        guard let type = ElementType(name: cacheType), type == .f32 || type == .f16 else {
            throw ValidationError("--cache-type must be f32 or f16, not \(cacheType)")
        }
        return type
    }
}

/// Sampling and stopping options, with llama.cpp's names where they exist.
struct SamplingOptions: ParsableArguments {
    @Option(name: [.customShort("n"), .long], help: "The most tokens to generate.")
    var maxTokens: Int = 256

    @Option(help: "Temperature; 0 is greedy.")
    var temperature: Float = 0.8

    @Option(help: "Keep the k most likely tokens (0: all).")
    var topK: Int = 40

    @Option(help: "Keep the most likely tokens up to this cumulative probability (1: all).")
    var topP: Float = 0.95

    @Option(help: "Drop tokens less likely than this fraction of the most likely one (0: none).")
    var minP: Float = 0.05

    @Option(help: "Repetition penalty over the last --repeat-last-n tokens (1: off).")
    var repeatPenalty: Float = 1

    @Option(help: "How many recent tokens the penalties look at.")
    var repeatLastN: Int = 64

    @Option(help: "Frequency penalty (0: off).")
    var frequencyPenalty: Float = 0

    @Option(help: "Presence penalty (0: off).")
    var presencePenalty: Float = 0

    @Option(help: "The sampling seed; the same seed gives the same text.")
    var seed: UInt64?

    @Option(help: "Stop when the text contains this (repeatable).")
    var stop: [String] = []

    @Flag(name: .customLong("ignore-eos"), help: "Keep generating after the end-of-sequence token.")
    var ignoreEOS = false

    func parameters(model: ModelOptions) throws -> GenerateParameters {
        let p = GenerateParameters(
            maxTokens: maxTokens, temperature: temperature, topK: topK, topP: topP, minP: minP,
            repetitionPenalty: repeatPenalty, frequencyPenalty: frequencyPenalty, presencePenalty: presencePenalty,
            penaltyWindow: repeatLastN, seed: seed, stopStrings: stop, stopAtEndOfSequence: !ignoreEOS,
            cacheType: try model.cacheElementType(), context: model.context)
        do {
            try p.validate()
        } catch let ModelError.invalidParameter(name, value, reason) {
            throw ValidationError("\(Self.optionNames[name].map { "--\($0)" } ?? name) \(value): \(reason)")
        }
        return p
    }

    /// The options that set each ``GenerateParameters`` property, for errors.
    static let optionNames = [
        "maxTokens": "max-tokens", "temperature": "temperature", "topK": "top-k", "topP": "top-p", "minP": "min-p",
        "repetitionPenalty": "repeat-penalty", "penaltyWindow": "repeat-last-n", "frequencyPenalty": "frequency-penalty",
        "presencePenalty": "presence-penalty", "context": "context", "cacheType": "cache-type",
    ]
}

/// The processors this process may run on: on Linux, its CPU affinity mask
/// (`Cpus_allowed` in /proc/self/status, as `taskset` and cpusets set it), which
/// `ProcessInfo.activeProcessorCount` does not look at; else the active processors.
func availableProcessorCount() -> Int {
    let active = max(1, ProcessInfo.processInfo.activeProcessorCount)
    #if os(Linux)
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed:") })
    else { return active }
    let count = line.dropFirst("Cpus_allowed:".count).reduce(0) { count, character in
        count + (character.hexDigitValue?.nonzeroBitCount ?? 0)
    }
    return count > 0 ? min(count, active) : active
    #else
    return active
    #endif
}
