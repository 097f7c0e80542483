import ArgumentParser
import Foundation
import LLM

struct PerplexityCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perplexity",
        abstract: "Measure a model's perplexity on a text file.",
        discussion: """
            As llama.cpp's perplexity tool: the text is cut into windows of --window tokens, each starting with \
            BOS (when the tokenizer adds one), and the second half of each window is scored. --whole scores every \
            token of the text in one window.

            To compare a quantized model with its base, as llama-perplexity does: run the base with \
            --kl-divergence-base FILE (it saves every scored token's log-probabilities, about 2 bytes per \
            vocabulary entry per token), then the other model with --kl-divergence FILE (the text and window come \
            from the file). It prints the mean KL divergence, how often the most likely token is the same, the \
            perplexity ratio and the RMS difference of the actual token's probability, each with its standard \
            error. The files are llama.cpp's format: either tool reads the other's.

            Examples:
              llama perplexity -m model.gguf --file wiki.test.raw --window 512
              llama perplexity -m model.gguf --file short.txt --whole --json
              llama perplexity -m model-f16.gguf --file eval.txt --kl-divergence-base base.kld
              llama perplexity -m model-q4_k_m.gguf --kl-divergence base.kld
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .shortAndLong, help: "The text file.")
    var file: String?

    @Option(help: "Tokens per window.")
    var window: Int = 512

    @Flag(help: "Score the whole text as one window.")
    var whole = false

    @Option(help: "Save the base model's log-probabilities to this file (llama.cpp's format).")
    var klDivergenceBase: String?

    @Option(help: "Compare with the base model whose log-probabilities this file holds.")
    var klDivergence: String?

    @Flag(help: "Replace the --kl-divergence-base file if it exists.")
    var force = false

    @Flag(help: "Print JSON.")
    var json = false

    func validate() throws {
        if klDivergence != nil {
            guard klDivergenceBase == nil, !whole else { throw ValidationError("--kl-divergence goes without --kl-divergence-base and --whole") }
        } else if file == nil {
            throw ValidationError("--file is needed (except with --kl-divergence, which reads the text from its file)")
        }
        if klDivergenceBase != nil && whole { throw ValidationError("--kl-divergence-base uses windows, not --whole") }
    }

    func run() async throws {
        try await reportingErrors {
            let model = try modelOptions.load()
            let start = ContinuousClock.now
            let progress: (Int, Int) -> Void = { chunk, count in
                guard standardErrorIsTerminal else { return }
                FileHandle.standardError.write(Data("\r[\(chunk)/\(count)] windows\u{1B}[K".utf8))
            }
            defer { if standardErrorIsTerminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) } }
            if let klDivergence {
                let result = try model.klDivergence(base: URL(fileURLWithPath: klDivergence), progress: progress)
                try printDivergence(result, seconds: (ContinuousClock.now - start).seconds)
                return
            }
            let text: String
            do { text = try String(contentsOfFile: file!, encoding: .utf8) } catch {
                throw ValidationError("cannot read \(file!): \(error.localizedDescription)")
            }
            let result: PerplexityResult
            if let klDivergenceBase {
                result = try model.saveLogProbabilities(
                    of: text, window: window, to: URL(fileURLWithPath: klDivergenceBase), overwrite: force, progress: progress)
            } else {
                result = try model.perplexity(of: text, method: whole ? .wholeSequence : .llamaCpp(window: window))
            }
            let seconds = (ContinuousClock.now - start).seconds
            if json {
                try printJSON([
                    "perplexity": result.perplexity, "mean_nll": result.meanNegativeLogLikelihood,
                    "tokens": result.tokenCount, "scored_tokens": result.scoredTokenCount, "windows": result.windowCount,
                    "seconds": seconds,
                ] as [String: Any])
            } else {
                print(String(format: "perplexity %.4f  (%d tokens, %d windows, %d scored, %.1f s)",
                             result.perplexity, result.tokenCount, result.windowCount, result.scoredTokenCount, seconds))
            }
        }
    }

    func printDivergence(_ r: KLDivergenceResult, seconds: Double) throws {
        if json {
            func pair(_ e: KLDivergenceResult.Estimate) -> [String: Double] { ["value": e.value, "uncertainty": e.uncertainty] }
            try printJSON([
                "mean_kld": pair(r.meanKLDivergence), "same_top": pair(r.sameTopToken), "ppl": pair(r.perplexity),
                "ppl_base": pair(r.basePerplexity), "ln_ppl_ratio": pair(r.logPerplexityRatio), "rms_dp": pair(r.rmsProbabilityDifference),
                "kld_median": r.klDivergencePercentiles[0.5]!, "kld_99": r.klDivergencePercentiles[0.99]!,
                "kld_max": r.klDivergencePercentiles[1]!, "tokens": r.tokenCount, "windows": r.chunkCount, "seconds": seconds,
            ] as [String: Any])
            return
        }
        func line(_ label: String, _ e: KLDivergenceResult.Estimate, percent: Bool = false) -> String {
            percent ? String(format: "%@ %9.4f%% ± %.4f%%", label, 100 * e.value, 100 * e.uncertainty)
                : String(format: "%@ %10.6f ± %.6f", label, e.value, e.uncertainty)
        }
        print(line("Mean KL divergence        :", r.meanKLDivergence))
        print(String(format: "KL divergence median, 99%%, max: %.6f, %.6f, %.6f",
                     r.klDivergencePercentiles[0.5]!, r.klDivergencePercentiles[0.99]!, r.klDivergencePercentiles[1]!))
        print(line("Same top token            :", r.sameTopToken, percent: true))
        print(line("PPL(Q)                    :", r.perplexity))
        print(line("PPL(base)                 :", r.basePerplexity))
        print(line("ln(PPL(Q)/PPL(base))      :", r.logPerplexityRatio))
        print(line("RMS Δp                    :", r.rmsProbabilityDifference, percent: true))
        print(String(format: "(%d tokens scored in %d windows, %.1f s)", r.tokenCount, r.chunkCount, seconds))
    }
}
