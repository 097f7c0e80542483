import Foundation
import ModelFormats
import Testing
import TestSupport
import WeightConverter

/// `llama convert` checks `config.json` before converting: each of these used to
/// divide by zero, trap, run away in memory or abort; now each is an error naming the
/// file and the key (or the tensor the key contradicts), and no output appears.
struct ConfigValidationTests {
    /// A copy of `Tests/Fixtures/models/llama-mha` with `config.json` edited.
    static func folder(editing edit: (inout [String: Any]) -> Void) throws -> URL {
        let source = Fixtures.url("models/llama-mha")
        let folder = try Fixtures.temporaryFolder()
        for name in try FileManager.default.contentsOfDirectory(atPath: source.path) where !name.hasSuffix(".gguf") {
            try FileManager.default.copyItem(at: source.appendingPathComponent(name), to: folder.appendingPathComponent(name))
        }
        let url = folder.appendingPathComponent("config.json")
        var config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        edit(&config)
        try JSONSerialization.data(withJSONObject: config).write(to: url)
        return folder
    }

    static let badValues: [(key: String, value: Int)] = [
        ("num_attention_heads", 0), ("num_attention_heads", -1), ("num_key_value_heads", 0), ("num_key_value_heads", -1),
        ("num_key_value_heads", 3), ("hidden_size", -1), ("hidden_size", 0), ("intermediate_size", -1),
        ("num_hidden_layers", 1 << 31), ("num_hidden_layers", -1), ("vocab_size", 1 << 31), ("vocab_size", 0),
        ("max_position_embeddings", -1), ("max_position_embeddings", 1 << 40), ("head_dim", 0), ("head_dim", -1),
        ("num_attention_heads", 1 << 40), ("bos_token_id", -1), ("eos_token_id", -5),
        // Positive and in range, but not what the tensors hold.
        ("num_hidden_layers", 7), ("vocab_size", 511), ("intermediate_size", 100), ("head_dim", 8),
    ]

    @Test(arguments: badValues.indices)
    func aBadConfigurationIsAnErrorNamingTheKey(index: Int) throws {
        let (key, value) = Self.badValues[index]
        let folder = try Self.folder { $0[key] = value }
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appendingPathComponent("out.gguf")
        let error = try #require(throws: (any Error).self) {
            try WeightConverter.convertHuggingFace(folder: folder, to: output, options: ConversionOptions(outputType: .f32))
        }
        let message = "\(error)"
        #expect(message.contains(folder.path), "\(key) = \(value): \(message)")
        #expect(message.contains(key) || message.contains("tensor"), "\(key) = \(value): \(message)")
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }

    @Test func badFloatingPointSettingsAreErrors() throws {
        for (key, value) in [("rms_norm_eps", -1.0), ("rms_norm_eps", 2.0), ("rope_theta", 0.0), ("rope_theta", -5.0)] as [(String, Double)] {
            let folder = try Self.folder { $0[key] = value }
            defer { try? FileManager.default.removeItem(at: folder) }
            let error = try #require(throws: ModelFormatError.self) {
                try WeightConverter.convertHuggingFace(folder: folder, to: folder.appendingPathComponent("out.gguf"), options: ConversionOptions(outputType: .f32))
            }
            #expect(error.field == key, "\(error)")
        }
    }

    @Test func aPaddingIDOfMinusOneMeansNone() throws {
        let folder = try Self.folder { $0["pad_token_id"] = -1 }
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appendingPathComponent("out.gguf")
        try WeightConverter.convertHuggingFace(folder: folder, to: output, options: ConversionOptions(outputType: .f32))
        let file = try GGUFFile(contentsOf: output)
        #expect(file.metadata["tokenizer.ggml.padding_token_id"] == nil)
    }
}
