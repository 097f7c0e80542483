import Foundation
import ModelFormats
import TensorCore
import Testing
import TestSupport

/// safetensors files written by the `safetensors` Python package.
struct SafetensorsTests {
    struct Expected: Decodable {
        struct Entry: Decodable { let shape: [Int]; let values: [Float] }
        let entries: [String: Entry]
        let sharded: [String: [Float]]

        init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: AnyKey.self)
            var entries: [String: Entry] = [:]
            var sharded: [String: [Float]] = [:]
            for key in container.allKeys {
                if key.stringValue == "sharded" {
                    sharded = try container.decode([String: [Float]].self, forKey: key)
                } else {
                    entries[key.stringValue] = try container.decode(Entry.self, forKey: key)
                }
            }
            self.entries = entries
            self.sharded = sharded
        }
    }

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    static let expected = try! Fixtures.json(Expected.self, "formats/safetensors/safetensors.json")

    @Test func singleFileTensorsAndMetadata() throws {
        let file = try SafetensorsFile(contentsOf: Fixtures.url("formats/safetensors/single.safetensors"))
        #expect(file.metadata == ["format": "pt", "note": "fixture"])
        for (name, entry) in Self.expected.entries {
            let tensor = try file.tensor(named: name)
            #expect(Array(tensor.shape) == (entry.shape.isEmpty ? [1] : entry.shape), "\(name)")
            #expect(tensor.floats() == entry.values, "\(name)")
        }
        #expect(try file.tensor(named: "weights.bf16").elementType == .bf16)
        do {
            _ = try file.tensor(named: "positions.i64")
            Issue.record("an I64 tensor must be rejected")
        } catch let error as ModelFormatError {
            #expect(error.kind == .unsupported && error.problem.contains("I64") && error.field.contains("positions.i64"))
        }
        #expect(file.tensorInfo(named: "positions.i64")?.shape == [2, 3])
    }

    @Test func shardedCheckpointThroughTheIndex() throws {
        let checkpoint = try SafetensorsCheckpoint(directory: Fixtures.url("formats/safetensors/sharded"))
        #expect(checkpoint.files.count == 3)
        #expect(checkpoint.tensorNames == Self.expected.sharded.keys.sorted())
        for (name, values) in Self.expected.sharded {
            #expect(try checkpoint.tensor(named: name).floats() == values)
        }
        #expect(throws: ModelFormatError.self) { try checkpoint.tensor(named: "missing") }
    }

    @Test func writerRoundTripAndRefusals() throws {
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var writer = SafetensorsWriter()
        writer.metadata = ["format": "pt"]
        let a = try Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        let b = try Tensor(converting: a, to: .bf16)
        let c = try Tensor(converting: try Tensor(shape: [5], values: [0.5, 1, 2, -4, 8]), to: .f16)
        writer.add(name: "a", a)
        writer.add(name: "b", b)
        writer.add(name: "c", c)
        let url = folder.appendingPathComponent("model.safetensors")
        try writer.write(to: url)
        let file = try SafetensorsFile(contentsOf: url)
        #expect(file.metadata == ["format": "pt"])
        #expect(try file.tensor(named: "a").floats() == a.floats())
        #expect(try file.tensor(named: "b").elementType == .bf16 && file.tensor(named: "b").floats() == b.floats())
        #expect(try file.tensor(named: "c").shape == [5] && file.tensor(named: "c").floats() == c.floats())
        #expect(throws: ModelFormatError.self) { try writer.write(to: url) }
        var quantized = SafetensorsWriter()
        quantized.add(name: "q", try Tensor(converting: try Tensor(shape: [1, 32], values: Array(repeating: 1, count: 32)), to: .q8_0))
        #expect(throws: ModelFormatError.self) { try quantized.write(to: folder.appendingPathComponent("q.safetensors")) }
    }

    @Test func configOfLlamaFamilyCheckpoints() throws {
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("config.json")
        try Data("""
            {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 4096,
             "intermediate_size": 11008, "num_hidden_layers": 32, "num_attention_heads": 32,
             "num_key_value_heads": 4, "vocab_size": 64000, "rms_norm_eps": 1e-5, "rope_theta": 5000000.0,
             "max_position_embeddings": 4096, "bos_token_id": 1, "eos_token_id": [2, 7],
             "rope_scaling": {"type": "linear", "factor": 2.0}, "torch_dtype": "bfloat16", "tie_word_embeddings": false}
            """.utf8).write(to: url)
        let config = try HuggingFaceConfig.load(from: url)
        #expect(config.numKeyValueHeads == 4 && config.ropeTheta == 5_000_000 && config.eosTokenIDs == [2, 7])
        #expect(config.ropeScaling == .init(type: "linear", factor: 2) && config.torchDtype == "bfloat16")
        try Data(#"{"hidden_size": 64}"#.utf8).write(to: url)
        do {
            _ = try HuggingFaceConfig.load(from: url)
            Issue.record("a config without intermediate_size must be rejected")
        } catch let error as ModelFormatError {
            #expect(error.file == url.path && error.problem == "is missing")
        }
    }
}
