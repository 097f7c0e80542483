import Foundation
import ModelFormats
import TensorCore
import Testing
import TestSupport
import WeightConverter

/// `llama quantize`'s file types against llama-quantize's (llama.cpp 0c1e570) on the same
/// two models (`Scripts/generate_quantize_recipe_fixtures.py`): the type of every tensor
/// and the CRC-32 of its bytes. One model has K-quant rows everywhere and grouped-query
/// attention; the other is tied, with rows of 320 and 640 values that K-quant blocks do
/// not fit (fallbacks).
struct QuantizeRecipeTests {
    struct Fixture: Decodable {
        struct Model: Decodable {
            struct Shape: Decodable {
                let layers, width, heads, kv_heads, feed_forward, vocabulary: Int
                let tied: Bool
            }
            let shape: Shape
            let quantized: [String: [[String]]]
        }
        let models: [String: Model]
    }

    static let fixture: Fixture = {
        let data = try! Data(contentsOf: Fixtures.url("formats/quantize-recipes.json"))
        return try! JSONDecoder().decode(Fixture.self, from: data)
    }()

    static let cases: [(String, String)] = fixture.models.keys.sorted().flatMap { model in
        fixture.models[model]!.quantized.keys.sorted().map { (model, $0) }
    }

    /// The generator's tensors: names and shapes in its order.
    static func tensors(_ m: Fixture.Model.Shape) -> [(String, [Int])] {
        let d = m.width, ff = m.feed_forward, kv = m.kv_heads * (m.width / m.heads)
        var out: [(String, [Int])] = [("token_embd.weight", [m.vocabulary, d])]
        for i in 0..<m.layers {
            let b = "blk.\(i)."
            out += [
                (b + "attn_norm.weight", [d]), (b + "attn_q.weight", [d, d]), (b + "attn_k.weight", [kv, d]),
                (b + "attn_v.weight", [kv, d]), (b + "attn_output.weight", [d, d]), (b + "ffn_norm.weight", [d]),
                (b + "ffn_gate.weight", [ff, d]), (b + "ffn_up.weight", [ff, d]), (b + "ffn_down.weight", [d, ff]),
            ]
        }
        out.append(("output_norm.weight", [d]))
        if !m.tied { out.append(("output.weight", [m.vocabulary, d])) }
        return out
    }

    /// The generator's values for tensor `index`: an integer hash scaled to ±0.125.
    static func values(index: Int, count: Int) -> [Float] {
        (0..<count).map { i in
            let h = (UInt64(i) &* 2_654_435_761 &+ UInt64(index * 40503)) % (1 << 32)
            return (Float(h >> 8) / Float(1 << 24) - 0.5) * 0.25
        }
    }

    static func writeModel(_ m: Fixture.Model.Shape, to url: URL) throws {
        var writer = GGUFWriter()
        writer.set("general.architecture", .string("llama"))
        writer.set("llama.block_count", .uint32(UInt32(m.layers)))
        writer.set("llama.embedding_length", .uint32(UInt32(m.width)))
        writer.set("llama.attention.head_count", .uint32(UInt32(m.heads)))
        writer.set("llama.attention.head_count_kv", .uint32(UInt32(m.kv_heads)))
        for (index, (name, shape)) in tensors(m).enumerated() {
            writer.addTensor(name: name, try Tensor(shape: shape, values: values(index: index, count: shape.reduce(1, *))))
        }
        try writer.write(to: url)
    }

    /// zlib's CRC-32.
    static func crc32(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    @Test func everyFileTypeIsCovered() {
        for model in Self.fixture.models.values {
            #expect(Set(model.quantized.keys) == Set(QuantizationFileType.names))
        }
    }

    @Test(arguments: cases)
    func typesAndBytesAreLlamaQuantizes(model: String, fileType: String) throws {
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let shape = Self.fixture.models[model]!.shape
        let source = folder.appendingPathComponent("source.gguf"), output = folder.appendingPathComponent("out.gguf")
        try Self.writeModel(shape, to: source)
        let type = try #require(QuantizationFileType(name: fileType))
        try WeightConverter.requantize(gguf: source, to: output, options: ConversionOptions(fileType: type))
        let file = try GGUFFile(contentsOf: output)
        #expect(try file.metadata.integer("general.file_type") == Int(type.rawValue))
        let expected = Self.fixture.models[model]!.quantized[fileType]!
        #expect(Set(file.tensorInfos.map(\.name)) == Set(expected.map { $0[0] }))
        var wrongTypes: [String] = [], wrongBytes: [String] = []
        for entry in expected {
            let (name, expectedType, expectedCRC) = (entry[0], entry[1], entry[2])
            guard let info = file.tensorInfo(named: name) else { continue }
            let produced = info.type.elementType?.rawValue ?? "\(info.type)"
            if produced != expectedType {
                wrongTypes.append("\(name): \(produced), llama-quantize \(expectedType)")
                continue
            }
            let tensor = try file.tensor(info)
            let crc = Self.crc32(UnsafeRawBufferPointer(start: tensor.rawPointer, count: tensor.byteCount))
            if String(format: "%08x", crc) != expectedCRC { wrongBytes.append(name) }
        }
        #expect(wrongTypes.isEmpty, "\(model) \(fileType): \(wrongTypes.count) types differ: \(wrongTypes.prefix(6))")
        #expect(wrongBytes.isEmpty, "\(model) \(fileType): \(wrongBytes.count) tensors' bytes differ: \(wrongBytes.prefix(6))")
    }
}
