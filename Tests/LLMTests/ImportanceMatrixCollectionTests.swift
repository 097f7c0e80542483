import BLASBackend
import Foundation
import LLM
import ModelFormats
import TensorCore
import Testing
import TestSupport

/// `collectImportanceMatrix` against llama-imatrix (llama.cpp 0c1e570) on the llama-mha
/// fixture model and the same calibration text with chunks of 32 tokens
/// (`Tests/Fixtures/formats/llama-mha-imatrix.gguf`, from
/// `Scripts/generate_quantize_recipe_fixtures.py`).
struct ImportanceMatrixCollectionTests {
    @Test(arguments: ["naive", "blas"])
    func statisticsAreLlamaImatrixs(backend name: String) throws {
        let reference = try ImportanceMatrix(contentsOf: Fixtures.url("formats/llama-mha-imatrix.gguf"))
        let base: any Backend = name == "naive" ? NaiveBackend() : try BLASBackend()
        let recorder = ActivationRecorder(wrapping: base)
        let model = try ModelLoader.load(from: Fixtures.url("models/llama-mha/model-f32.gguf"), backend: recorder)
        let text = try String(contentsOf: Fixtures.url("formats/imatrix-calibration.txt"), encoding: .utf8)
        var reported: [Int] = []
        let collection = try model.collectImportanceMatrix(
            text: text, context: 32, recorder: recorder, dataset: "imatrix-calibration.txt") { chunk, _ in reported.append(chunk) }
        let matrix = collection.matrix
        #expect(reported == Array(1...reference.chunkCount))
        #expect(matrix.chunkCount == reference.chunkCount && matrix.chunkSize == 32)
        #expect(Set(matrix.entries.keys) == Set(reference.entries.keys))
        for (name, expected) in reference.entries {
            let entry = try #require(matrix.entries[name])
            #expect(entry.counts == expected.counts, "\(name): rows counted")
            #expect(entry.sums.count == expected.sums.count)
            // The first layer's Q/K/V inputs are the normalized embeddings, computed alike;
            // later activations differ by llama.cpp's attention and matrix-product rounding.
            let tolerance: Float = name.hasPrefix("blk.0.attn_") && !name.contains("output") ? 1e-5 : 1e-2
            let worst = zip(entry.sums, expected.sums).map { abs($0 - $1) / max(abs($1), 1e-30) }.max() ?? 0
            #expect(worst < tolerance, "\(name): largest relative difference \(worst)")
        }
        // Written and read back, the file is the same matrix.
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("imatrix.gguf")
        try matrix.write(to: url)
        var reread = try ImportanceMatrix(contentsOf: url)
        reread.path = nil
        #expect(reread == matrix)
    }

    @Test func aTextShorterThanTwoChunksOrAnotherBackendIsAnError() throws {
        let recorder = ActivationRecorder(wrapping: NaiveBackend())
        let model = try ModelLoader.load(from: Fixtures.url("models/llama-mha/model-f32.gguf"), backend: recorder)
        #expect(throws: ModelError.self) { try model.collectImportanceMatrix(text: "Too short.", context: 32, recorder: recorder, dataset: "x") }
        let other = ActivationRecorder(wrapping: NaiveBackend())
        #expect(throws: ModelError.self) {
            try model.collectImportanceMatrix(text: String(repeating: "word ", count: 200), context: 32, recorder: other, dataset: "x")
        }
    }
}
