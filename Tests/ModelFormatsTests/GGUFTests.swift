import Foundation
import ModelFormats
import TensorCore
import Testing
import TestSupport

/// GGUF reading and writing against a file written by the `gguf` Python package
/// (`Scripts/generate_format_fixtures.py`) and what its GGUFReader sees in it.
struct GGUFTests {
    struct Reference: Decodable {
        struct Entry: Decodable {
            let key: String
            let types: [String]
            let value: JSONValue
        }
        struct TensorEntry: Decodable {
            let name: String
            let shape: [Int]
            let type: String
            let offset: Int
            let n_bytes: Int
            let float_bits: [UInt32]
        }
        let metadata: [Entry]
        let tensors: [TensorEntry]
    }

    static let reference = try! Fixtures.json(Reference.self, "formats/reference.gguf.json")
    static let fileURL = Fixtures.url("formats/reference.gguf")

    @Test func metadataMatchesThePythonReader() throws {
        let file = try GGUFFile(contentsOf: Self.fileURL)
        #expect(file.version == 3)
        let expected = Self.reference.metadata.filter { !$0.key.hasPrefix("GGUF.") }
        #expect(file.metadata.keys == expected.map(\.key))
        for entry in expected {
            let value = try #require(file.metadata[entry.key], "\(entry.key)")
            #expect(Self.typeName(value) == entry.types, "\(entry.key)")
            if entry.value != .string("nested") || entry.types.first != "ARRAY" {
                #expect(JSONValue(value) == entry.value, "\(entry.key): \(value) vs \(entry.value)")
            }
        }
        #expect(file.metadata["test.array.nested"] == .array(.array([.int32([1, 2]), .int32([3])])))
        #expect(try file.metadata.string("test.string") == "héllo, 世界 🦙")
        #expect(throws: ModelFormatError.self) { try file.metadata.integer("test.string") }
        let model = try GGUFModelMetadata(file.metadata)
        #expect(model.architecture == "llama" && model.blockCount == 2 && model.contextLength == 128)
        #expect(model.ropeFrequencyBase == 10_000)
    }

    @Test func tensorsMatchThePythonReader() throws {
        let file = try GGUFFile(contentsOf: Self.fileURL)
        #expect(file.tensorInfos.map(\.name) == Self.reference.tensors.map(\.name))
        for expected in Self.reference.tensors {
            let info = try #require(file.tensorInfo(named: expected.name))
            #expect(info.dimensions == expected.shape, "\(expected.name)")
            #expect(info.type.name == expected.type)
            #expect(info.offset == expected.offset)
            #expect(info.byteCount == expected.n_bytes)
            let tensor = try file.tensor(info)
            #expect(Array(tensor.shape) == expected.shape.reversed())
            #expect(!tensor.isWritable)
            #expect(tensor.floats().map(\.bitPattern) == expected.float_bits, "\(expected.name) values differ")
        }
    }

    @Test func writerReproducesThePythonWriterByteForByte() throws {
        let file = try GGUFFile(contentsOf: Self.fileURL)
        var writer = GGUFWriter()
        for (key, value) in file.metadata.entries { writer.set(key, value) }
        for info in file.tensorInfos {
            let tensor = try file.tensor(info)
            writer.addTensor(name: info.name, tensor)
        }
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appendingPathComponent("rewritten.gguf")
        try writer.write(to: output)
        let written = try Data(contentsOf: output)
        let original = try Data(contentsOf: Self.fileURL)
        #expect(written.count == original.count)
        #expect(written == original, "first difference at byte \(zip(written, original).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? -1)")
        if let path = ProcessInfo.processInfo.environment["GGUF_WRITER_CHECK_PATH"] {
            // Scripts/check_gguf_with_python.py reads this copy with the gguf package.
            try? FileManager.default.removeItem(atPath: path)
            try FileManager.default.copyItem(at: output, to: URL(fileURLWithPath: path))
        }
    }

    @Test func roundTripOfEveryEncodableTypeAndAlignment() throws {
        var writer = GGUFWriter()
        writer.alignment = 64
        writer.set("general.architecture", .string("test"))
        writer.set("test.values", .array(.float32([1, 2.5])))
        writer.set("test.values", .array(.float32([3])))  // replaced in place
        var random = SeededRandom(seed: 5)
        var written: [String: Tensor] = [:]
        for type in ElementType.allCases where type.canEncode {
            let length = max(32, type.blockLength)
            let values = (0..<3 * length).map { _ in Float.random(in: -2...2, using: &random) }
            let tensor = try Tensor(converting: try Tensor(shape: [3, length], values: values), to: type)
            written["t.\(type)"] = tensor
            writer.addTensor(name: "t.\(type)", tensor)
        }
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("round.gguf")
        var progress: [Int] = []
        try writer.write(to: url) { progress.append($0.tensorsWritten) }
        #expect(progress == Array(1...written.count))
        let file = try GGUFFile(contentsOf: url)
        #expect(file.alignment == 64)
        #expect(file.metadata["test.values"] == .array(.float32([3])))
        #expect(file.metadata["general.alignment"] == .uint32(64))
        for (name, tensor) in written {
            let read = try file.tensor(named: name)
            #expect(read.shape == tensor.shape && read.elementType == tensor.elementType)
            #expect(read.floats() == tensor.floats())
            #expect(file.tensorInfo(named: name)!.offset % 64 == 0)
        }
    }

    @Test func writingIsAtomicAndNeverOverwritesUnasked() throws {
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("model.gguf")
        try Data("precious".utf8).write(to: url)
        var writer = GGUFWriter()
        writer.set("general.architecture", .string("test"))
        writer.addTensor(name: "a", try Tensor(shape: [2], values: [1, 2]))
        #expect(throws: ModelFormatError.self) { try writer.write(to: url) }
        #expect(try Data(contentsOf: url) == Data("precious".utf8))

        struct Interrupted: Error {}
        var failing = writer
        failing.addTensor(name: "b", shape: [4], type: .f32) { throw Interrupted() }
        #expect(throws: Interrupted.self) { try failing.write(to: url, overwrite: true) }
        #expect(try Data(contentsOf: url) == Data("precious".utf8), "a failed write must leave the old file")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["model.gguf"], "no temporary file may remain")

        var mismatched = writer
        mismatched.addTensor(name: "c", shape: [4], type: .f32) { try Tensor(shape: [2], values: [1, 2]) }
        #expect(throws: ModelFormatError.self) { try mismatched.write(to: url, overwrite: true) }

        try writer.write(to: url, overwrite: true)
        #expect(try GGUFFile(contentsOf: url).tensorInfos.map(\.name) == ["a"])
    }

    @Test func llamaVocabularyFromGGUF() throws {
        let file = try GGUFFile(contentsOf: Fixtures.url("shared/ggml-vocab-llama-spm.gguf"))
        let tokenizer = try GGUFTokenizerMetadata(file.metadata)
        #expect(tokenizer.model == "llama")
        #expect(tokenizer.tokens.count == 32000)
        #expect(tokenizer.scores?.count == 32000 && tokenizer.tokenTypes?.count == 32000)
        #expect(tokenizer.tokens[1] == "<s>" && tokenizer.tokens[2] == "</s>" && tokenizer.tokens[13] == "<0x0A>")
        #expect(tokenizer.bosTokenID == 1 && tokenizer.eosTokenID == 2 && tokenizer.unknownTokenID == 0)
        #expect(file.tensorInfos.isEmpty)
    }

    @Test func vocabularyArraysThatDisagreeAreRejected() throws {
        var writer = GGUFWriter()
        writer.set("general.architecture", .string("llama"))
        writer.set("tokenizer.ggml.model", .string("llama"))
        writer.set("tokenizer.ggml.tokens", .array(.string(["<unk>", "<s>", "</s>"])))
        writer.set("tokenizer.ggml.scores", .array(.float32([0, 0])))
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("vocab.gguf")
        try writer.write(to: url)
        let file = try GGUFFile(contentsOf: url)
        do {
            _ = try GGUFTokenizerMetadata(file.metadata)
            Issue.record("3 tokens with 2 scores must be rejected")
        } catch let error as ModelFormatError {
            #expect(error.field == "metadata 'tokenizer.ggml.scores'" && error.file == url.path)
            #expect(error.problem.contains("2 entries") && error.problem.contains("has 3"))
        }
    }

    static func typeName(_ value: GGUFValue) -> [String] {
        func name(_ type: GGUFValueType) -> String {
            switch type {
            case .uint8: "UINT8"
            case .int8: "INT8"
            case .uint16: "UINT16"
            case .int16: "INT16"
            case .uint32: "UINT32"
            case .int32: "INT32"
            case .uint64: "UINT64"
            case .int64: "INT64"
            case .float32: "FLOAT32"
            case .float64: "FLOAT64"
            case .bool: "BOOL"
            case .string: "STRING"
            case .array: "ARRAY"
            }
        }
        guard case let .array(array) = value else { return [name(value.typeID)] }
        if case let .array(inner) = array, let first = inner.first { return ["ARRAY", "ARRAY", name(first.elementType)] }
        return ["ARRAY", name(array.elementType)]
    }
}

/// The JSON values of the reference files, comparable with GGUF values.
enum JSONValue: Decodable, Equatable {
    case number(Double)
    case bool(Bool)
    case string(String)
    case array([JSONValue])

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let bool = try? container.decode(Bool.self) {
            self = .bool(bool)
        } else if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else if let string = try? container.decode(String.self) {
            self = .string(string)
        } else {
            self = .array(try container.decode([JSONValue].self))
        }
    }

    init(_ value: GGUFValue) {
        switch value {
        case let .bool(v): self = .bool(v)
        case let .string(v): self = .string(v)
        case let .uint64(v): self = .number(Double(v))
        case let .array(array):
            switch array {
            case let .string(v): self = .array(v.map(JSONValue.string))
            case let .bool(v): self = .array(v.map(JSONValue.bool))
            case let .uint64(v): self = .array(v.map { .number(Double($0)) })
            case let .float32(v): self = .array(v.map { .number(Double($0)) })
            case let .float64(v): self = .array(v.map { .number($0) })
            default: self = .array((array.integers ?? []).map { .number(Double($0)) })
            }
        default: self = .number(value.number ?? .nan)
        }
    }
}
