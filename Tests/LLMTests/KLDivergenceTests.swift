import Foundation
import LLM
import ModelFormats
import TensorCore
import Testing
import TestSupport
import WeightConverter

/// `klDivergence(base:)` and `saveLogProbabilities` against llama-perplexity (llama.cpp
/// 0c1e570) on the llama-mha fixture: its base file (windows of 32 tokens) and its
/// statistics for the model itself and for the model's Q4_0 file
/// (`Scripts/generate_kl_divergence_fixtures.py`).
struct KLDivergenceTests {
    struct Reference: Decodable {
        let ppl_base: [Double?]
        let mean_kld: [Double?]
        let same_top_percent: [Double?]
    }

    static let references: [String: Reference] = {
        let data = try! Data(contentsOf: Fixtures.url("kl-divergence/llama-perplexity.json"))
        let object = try! JSONSerialization.jsonObject(with: data) as! [String: Any]
        var result: [String: Reference] = [:]
        for key in ["f32", "q4_0"] {
            result[key] = try! JSONDecoder().decode(Reference.self, from: JSONSerialization.data(withJSONObject: object[key]!))
        }
        return result
    }()

    static let base = Fixtures.url("kl-divergence/llama-mha-base.kld")
    static let modelURL = Fixtures.url("models/llama-mha/model-f32.gguf")

    @Test func aModelAgainstLlamaCppsBaseOfItself() throws {
        let model = try ModelLoader.load(from: Self.modelURL, backend: NaiveBackend())
        let result = try model.klDivergence(base: Self.base)
        let reference = Self.references["f32"]!
        #expect(result.tokenCount == 105 && result.chunkCount == 7)
        #expect(abs(result.basePerplexity.value / reference.ppl_base[0]! - 1) < 1e-6, "\(result.basePerplexity)")
        #expect(abs(result.meanKLDivergence.value) < 1e-4, "\(result.meanKLDivergence)")
        #expect(result.sameTopToken.value >= 0.95)
    }

    @Test func aQuantizedModelDivergesAsLlamaCppMeasures() throws {
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let q4 = folder.appendingPathComponent("q4_0.gguf")
        try WeightConverter.requantize(gguf: Self.modelURL, to: q4, options: ConversionOptions(fileType: .q4_0))
        let model = try ModelLoader.load(from: q4, backend: NaiveBackend())
        let result = try model.klDivergence(base: Self.base)
        let reference = Self.references["q4_0"]!
        let expected = reference.mean_kld[0]!, uncertainty = reference.mean_kld[1]!
        // llama.cpp multiplies Q4_0 against 8-bit activations; the difference is far below
        // the statistic's own uncertainty.
        #expect(abs(result.meanKLDivergence.value - expected) < 0.03 * expected, "\(result.meanKLDivergence) against \(expected)")
        #expect(abs(result.meanKLDivergence.uncertainty - uncertainty) < 0.1 * uncertainty)
        #expect(abs(100 * result.sameTopToken.value - reference.same_top_percent[0]!) <= 5)
        #expect(abs(result.basePerplexity.value / reference.ppl_base[0]! - 1) < 1e-6)
        #expect(result.perplexity.value > result.basePerplexity.value)
    }

    @Test func aSavedBaseHasLlamaCppsLayoutAndReadsBack() throws {
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = try ModelLoader.load(from: Self.modelURL, backend: NaiveBackend())
        let text = try String(contentsOf: Fixtures.url("formats/imatrix-calibration.txt"), encoding: .utf8)
        let url = folder.appendingPathComponent("base.kld")
        let perplexity = try model.saveLogProbabilities(of: text, window: 32, to: url)
        let ours = try Data(contentsOf: url), theirs = try Data(contentsOf: Self.base)
        #expect(ours.count == theirs.count)
        #expect(ours.prefix(20 + 4 * 7 * 32) == theirs.prefix(20 + 4 * 7 * 32), "the header and the tokens")
        let result = try model.klDivergence(base: url)
        #expect(abs(result.meanKLDivergence.value) < 1e-6 && result.sameTopToken.value == 1)
        #expect(abs(result.basePerplexity.value / perplexity.perplexity - 1) < 1e-4)
        // An existing file is kept unless asked.
        #expect(throws: ModelFormatError.self) { _ = try model.saveLogProbabilities(of: text, window: 32, to: url) }
    }

    @Test func badBaseFilesAreClearErrors() throws {
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        func message(_ model: LanguageModel, _ url: URL) -> String {
            do { _ = try model.klDivergence(base: url) } catch { return "\(error)" }
            return "no error"
        }
        let model = try ModelLoader.load(from: Self.modelURL, backend: NaiveBackend())
        #expect(message(model, Self.modelURL).contains("is not a log-probability file"))
        let truncated = folder.appendingPathComponent("cut.kld")
        try Data(contentsOf: Self.base).prefix(5_000).write(to: truncated)
        #expect(message(model, truncated).contains("cut.kld: log-probabilities: the file has 5000 bytes, 109276 are needed"))
        let other = try ModelLoader.load(from: Fixtures.url("models/llama3-rope"), backend: NaiveBackend())
        #expect(message(other, Self.base).contains("vocabulary size: is 512, but the model's is 2263"))
    }
}
