import BLASBackend
import Foundation
import LLM
import TensorCore
import Testing
import TestSupport
import Tokenizers

/// Gemma 3 270M (Q4_K_M GGUF) against Hugging Face transformers running the same file
/// dequantized to float32 (`Scripts/generate_gemma3_fixtures.py`). The model (253 MB)
/// is not committed: these tests run when it is in the cache folder
/// (`Scripts/fetch-default-model.sh --model gemma3`, which `make test` and CI run first),
/// or at `$SWIFT_LLAMA_GEMMA_MODEL`, and are skipped, saying so, when it is not.
struct Gemma3Tests {
    struct Reference: Decodable {
        struct Prompt: Decodable {
            struct Last: Decodable { let top: [[Double]] }
            struct Greedy: Decodable { let ids: [Int]; let text: String; let gap_top1_top2: [Double] }
            let key: String
            let text: String
            let ids: [Int]
            let last_position: Last
            let greedy: Greedy
        }
        let prompts: [Prompt]
    }

    struct TokenizerReference: Decodable {
        struct Item: Decodable { let text: String; let hf: [Int]; let llamacpp_style: [Int]?; let llamacpp_style_parse_special: [Int]? }
        let strings: [Item]
    }

    static let reference = try! Fixtures.json(Reference.self, "gemma3/reference.json")

    static let modelURL = Fixtures.cachedModel(
        "gemma-3-270m-q4_k_m.gguf", override: "SWIFT_LLAMA_GEMMA_MODEL", suite: "Gemma3Tests",
        fetch: "Scripts/fetch-default-model.sh --model gemma3")

    /// `blas` as users get it (int16 activations for quantized weights), `blas-float`
    /// and `blas-int8` with its other activation precisions, `naive` the reference.
    static func load(_ backend: String) throws -> LanguageModel {
        var configuration = BackendConfiguration(threadCount: 2)
        let made: any Backend
        switch backend {
        case "naive": made = NaiveBackend()
        case "blas-float", "blas-int8":
            configuration.options["activations"] = String(backend.dropFirst(5))
            made = try BLASBackend(configuration: configuration)
        default: made = try BLASBackend(configuration: configuration)
        }
        return try ModelLoader.load(from: modelURL!, backend: made)
    }

    @Test(.enabled(if: modelURL != nil, "the Gemma 3 model is not in the cache"))
    func tokenizerMatchesTransformers() throws {
        let tokenizer = try Self.load("blas").requireTokenizer()
        let reference = try Fixtures.json(TokenizerReference.self, "gemma3/tokenizer-reference.json")
        for item in reference.strings {
            let ids = tokenizer.encode(item.text, options: .init(addBOS: false, parseSpecialTokens: true))
            // transformers' GGUF conversion renames the space-run pieces of this vocabulary,
            // so runs of more than 31 spaces split differently there; this library
            // tokenizes the GGUF vocabulary as llama.cpp does (see Documentation/Tokenizers.md).
            let expected = item.hf == item.llamacpp_style_parse_special ? item.hf : item.llamacpp_style_parse_special ?? item.hf
            #expect(ids == expected, "\(item.text.debugDescription)")
        }
        for prompt in Self.reference.prompts {
            let ids = tokenizer.encode(prompt.text, options: .init(parseSpecialTokens: true))
            #expect(ids == prompt.ids, "\(prompt.key)")
        }
    }

    /// How far the last-position logits (the reference's top 50) may be from
    /// transformers' float32 run of the same file:
    /// - `naive` and `blas-float` compute in float on the same dequantized weights:
    ///   measured ≤ 2.4e-5 (logits of magnitude ~20); bound 2e-4.
    /// - `blas` rounds activations to int16 per block of 32 for the quantized products:
    ///   measured ≤ 1.8e-3; bound 1e-2.
    /// - `blas-int8` rounds them to int8, as llama.cpp does: measured ≤ 0.5 (llama.cpp's
    ///   own roundings, emulated by the fixture script, move them by up to 1.4); bound 1.
    static let logitTolerance: [String: Float] = ["naive": 2e-4, "blas-float": 2e-4, "blas": 1e-2, "blas-int8": 1]

    @Test(.enabled(if: modelURL != nil, "the Gemma 3 model is not in the cache"), arguments: ["blas", "blas-float", "blas-int8", "naive"])
    func logitsMatchTransformers(backend: String) throws {
        let model = try Self.load(backend)
        // The naive backend runs only the short prompts (its plain loops would take minutes on the long one).
        for prompt in Self.reference.prompts where backend != "naive" || prompt.ids.count < 30 {
            let state = try model.model.makeState(context: 1024, batchCapacity: 256, cacheType: .f32)
            let logits = try model.model.process(prompt.ids, state: state)
            let worst = prompt.last_position.top.map { abs(logits[Int($0[0])] - Float($0[1])) }.max()!
            #expect(worst <= Self.logitTolerance[backend]!, "\(backend) \(prompt.key): max |Δ| over the top 50 = \(worst)")
            #expect(Sampler.argmax(logits) == Int(prompt.last_position.top[0][0]), "\(backend) \(prompt.key): top-1")
        }
    }

    /// The 40-token greedy continuations equal transformers' for every prompt — the
    /// long one past the 512-token sliding window included — with float and int16
    /// activations. With int8 activations only up to the first step whose top-two gap
    /// in the reference is below twice that mode's logit tolerance.
    @Test(.enabled(if: modelURL != nil, "the Gemma 3 model is not in the cache"), arguments: ["blas", "blas-float", "blas-int8"])
    func greedyMatchesTransformers(backend: String) async throws {
        let model = try Self.load(backend)
        for prompt in Self.reference.prompts {
            var parameters = GenerateParameters.greedy
            parameters.maxTokens = 40
            parameters.stopAtEndOfSequence = false
            parameters.context = 1024
            let (text, info) = try await model.generateText(promptTokens: prompt.ids, parameters: parameters)
            let tolerance = 2 * Double(Self.logitTolerance[backend]!)
            let comparable = backend == "blas-int8"
                ? prompt.greedy.gap_top1_top2.firstIndex { $0 < tolerance } ?? prompt.greedy.ids.count : prompt.greedy.ids.count
            #expect(Array(info.generatedTokens.prefix(comparable)) == Array(prompt.greedy.ids.prefix(comparable)),
                    "\(backend) \(prompt.key): first difference at \(String(describing: zip(info.generatedTokens, prompt.greedy.ids).enumerated().first { $0.element.0 != $0.element.1 }?.offset))")
            if comparable == prompt.greedy.ids.count { #expect(text == prompt.greedy.text, "\(backend) \(prompt.key)") }
        }
    }
}
