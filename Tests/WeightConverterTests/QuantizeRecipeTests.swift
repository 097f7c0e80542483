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
            let quantized_with_imatrix: [String: [[String]]]
        }
        let models: [String: Model]
        let llama_mha_with_llama_imatrix: [String: [[String]]]
    }

    static let fixture: Fixture = {
        let data = try! Data(contentsOf: Fixtures.url("formats/quantize-recipes.json"))
        return try! JSONDecoder().decode(Fixture.self, from: data)
    }()

    static let cases: [(String, String, Bool)] = fixture.models.keys.sorted().flatMap { model in
        fixture.models[model]!.quantized.keys.sorted().flatMap { [(model, $0, false), (model, $0, true)] }
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

    /// The generator's importance matrix: for every layer weight, sums (v² + 0.01)·4096 of
    /// the values of index 1000 + its place in name order, counts 4096.
    static func importanceMatrix(_ m: Fixture.Model.Shape) -> ImportanceMatrix {
        let shapes = Dictionary(uniqueKeysWithValues: tensors(m))
        let names = shapes.keys.filter { $0.hasPrefix("blk.") && shapes[$0]!.count == 2 }.sorted()
        var entries: [String: ImportanceMatrix.Entry] = [:]
        for (index, name) in names.enumerated() {
            let sums = values(index: index + 1000, count: shapes[name]![1]).map { ($0 * $0 + 0.01) * 4096 }
            entries[name] = .init(sums: sums, counts: [4096])
        }
        return ImportanceMatrix(entries: entries, datasets: ["synthetic"], chunkCount: 8, chunkSize: 512)
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

    /// Compares `file`'s tensors with llama-quantize's table; returns the differences.
    static func differences(_ file: GGUFFile, _ expected: [[String]]) throws -> (types: [String], bytes: [String]) {
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
            let crc = crc32(UnsafeRawBufferPointer(start: tensor.rawPointer, count: tensor.byteCount))
            if String(format: "%08x", crc) != expectedCRC { wrongBytes.append(name) }
        }
        return (wrongTypes, wrongBytes)
    }

    /// llama-imatrix's own file (for the llama-mha fixture) is read, and quantizing with it
    /// gives llama-quantize's bytes.
    @Test(arguments: fixture.llama_mha_with_llama_imatrix.keys.sorted())
    func aLlamaImatrixFileQuantizesAsLlamaQuantize(fileType: String) throws {
        let matrix = try ImportanceMatrix(contentsOf: Fixtures.url("formats/llama-mha-imatrix.gguf"))
        let model = try GGUFFile(contentsOf: Fixtures.url("models/llama-mha/model-f32.gguf"))
        let weights = model.tensorInfos.filter { $0.name.hasPrefix("blk.") && $0.shape.count == 2 }
        #expect(Set(matrix.entries.keys) == Set(weights.map(\.name)))
        for info in weights { #expect(matrix.entries[info.name]?.sums.count == info.shape.last) }
        #expect(matrix.chunkCount > 0 && matrix.datasets.first?.hasSuffix("imatrix-calibration.txt") == true)

        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appendingPathComponent("out.gguf")
        var options = ConversionOptions(fileType: try #require(QuantizationFileType(name: fileType)))
        options.importanceMatrix = matrix
        try WeightConverter.requantize(gguf: Fixtures.url("models/llama-mha/model-f32.gguf"), to: output, options: options)
        let (types, bytes) = try Self.differences(GGUFFile(contentsOf: output), Self.fixture.llama_mha_with_llama_imatrix[fileType]!)
        #expect(types.isEmpty && bytes.isEmpty, "\(fileType): types \(types), bytes \(bytes)")
    }

    /// A damaged or foreign importance matrix is an error that names the file and the field,
    /// and one whose entry does not fit a tensor stops the quantization before any file is
    /// written.
    @Test func badImportanceMatricesAreClearErrors() throws {
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        func message(_ body: () throws -> Void) -> String {
            do { try body() } catch { return "\(error)" }
            return "no error"
        }
        // A model file is not an importance matrix.
        let model = Fixtures.url("models/llama-mha/model-f32.gguf")
        #expect(message { _ = try ImportanceMatrix(contentsOf: model) }.contains("general.type"))
        // Sums without counts, a negative sum, sizes that disagree.
        func write(_ build: (inout GGUFWriter) throws -> Void) throws -> URL {
            var writer = GGUFWriter()
            writer.set("general.type", .string("imatrix"))
            try build(&writer)
            let url = folder.appendingPathComponent("bad-\(UUID().uuidString).gguf")
            try writer.write(to: url)
            return url
        }
        let noCounts = try write { $0.addTensor(name: "blk.0.attn_q.weight.in_sum2", try Tensor(shape: [1, 4], values: [1, 2, 3, 4])) }
        #expect(message { _ = try ImportanceMatrix(contentsOf: noCounts) }.contains("has no 'blk.0.attn_q.weight.counts'"))
        let negative = try write {
            $0.addTensor(name: "w.in_sum2", try Tensor(shape: [1, 4], values: [1, -2, 3, 4]))
            $0.addTensor(name: "w.counts", try Tensor(shape: [1, 1], values: [1]))
        }
        #expect(message { _ = try ImportanceMatrix(contentsOf: negative) }.contains("tensor 'w.in_sum2': holds -2.0"))
        let uneven = try write {
            $0.addTensor(name: "w.in_sum2", try Tensor(shape: [1, 5], values: [1, 2, 3, 4, 5]))
            $0.addTensor(name: "w.counts", try Tensor(shape: [2, 1], values: [1, 1]))
        }
        #expect(message { _ = try ImportanceMatrix(contentsOf: uneven) }.contains("has 5 values for 2 matrices"))
        // An entry with the wrong width for its tensor.
        var options = ConversionOptions(fileType: .q4_0)
        options.importanceMatrix = ImportanceMatrix(
            entries: ["blk.0.attn_q.weight": .init(sums: [1, 2, 3], counts: [1])], datasets: [], chunkCount: 1, chunkSize: 32)
        let output = folder.appendingPathComponent("out.gguf")
        let error = message { try WeightConverter.requantize(gguf: model, to: output, options: options) }
        #expect(error.contains("entry 'blk.0.attn_q.weight' has 3 values in 1 matrices, but the tensor has 64 columns"), "\(error)")
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }

    @Test func everyFileTypeIsCovered() {
        for model in Self.fixture.models.values {
            #expect(Set(model.quantized.keys) == Set(QuantizationFileType.names))
        }
    }

    /// With `imatrix`, the matrix goes through `ImportanceMatrix.write` and is read back
    /// before it is used.
    @Test(arguments: cases)
    func typesAndBytesAreLlamaQuantizes(model: String, fileType: String, imatrix: Bool) throws {
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let shape = Self.fixture.models[model]!.shape
        let source = folder.appendingPathComponent("source.gguf"), output = folder.appendingPathComponent("out.gguf")
        try Self.writeModel(shape, to: source)
        let type = try #require(QuantizationFileType(name: fileType))
        var options = ConversionOptions(fileType: type)
        if imatrix {
            let url = folder.appendingPathComponent("imatrix.gguf")
            try Self.importanceMatrix(shape).write(to: url)
            options.importanceMatrix = try ImportanceMatrix(contentsOf: url)
            #expect(options.importanceMatrix?.entries == Self.importanceMatrix(shape).entries)
        }
        try WeightConverter.requantize(gguf: source, to: output, options: options)
        let file = try GGUFFile(contentsOf: output)
        #expect(try file.metadata.integer("general.file_type") == Int(type.rawValue))
        if imatrix {
            #expect(try file.metadata.integer("quantize.imatrix.entries_count") == Self.importanceMatrix(shape).entries.count)
            #expect(try file.metadata.string("quantize.imatrix.dataset") == "synthetic")
        }
        let fixture = Self.fixture.models[model]!
        let expected = (imatrix ? fixture.quantized_with_imatrix : fixture.quantized)[fileType]!
        let (wrongTypes, wrongBytes) = try Self.differences(file, expected)
        let label = "\(model) \(fileType)\(imatrix ? " with the importance matrix" : "")"
        #expect(wrongTypes.isEmpty, "\(label): \(wrongTypes.count) types differ: \(wrongTypes.prefix(6))")
        #expect(wrongBytes.isEmpty, "\(label): \(wrongBytes.count) tensors' bytes differ: \(wrongBytes.prefix(6))")
    }
}
