import Foundation
import ModelFormats
import TensorCore
import Testing
import TestSupport

/// Truncated and mutated copies of valid files, thousands per format: each must either
/// load (and then every tensor must be readable) or throw a `ModelFormatError`. A crash,
/// a hang or an allocation sized by a corrupted count would stop the test run.
struct CorruptFileTests {
    static let casesPerFile = 1500

    /// Values that break naive readers when written over a size or count field.
    static let extremeValues: [UInt64] = [0, 1, 0xFFFF_FFFF_FFFF_FFFF, 1 << 60, 1 << 31, 0x7FFF_FFFF, 0xFFFF_FFFF, 1 << 40]

    /// A corrupted copy of `bytes`: truncated, bytes flipped, or an extreme value
    /// written over 4 or 8 bytes, all within the first `region` bytes where the headers live.
    static func mutate(_ bytes: [UInt8], region: Int, random: inout SeededRandom) -> [UInt8] {
        var copy = bytes
        let limit = min(region, bytes.count)
        switch Int.random(in: 0..<4, using: &random) {
        case 0:
            return Array(copy.prefix(Int.random(in: 0..<bytes.count, using: &random)))
        case 1:
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                copy[Int.random(in: 0..<limit, using: &random)] ^= UInt8.random(in: 1...255, using: &random)
            }
        case 2:
            let value = extremeValues.randomElement(using: &random)!
            let width = Bool.random(using: &random) ? 8 : 4
            let offset = Int.random(in: 0..<max(1, limit - width), using: &random)
            for i in 0..<width where offset + i < copy.count { copy[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
        default:
            let value = UInt8.random(in: 0...255, using: &random)
            copy[Int.random(in: 0..<limit, using: &random)] = value
            copy = Array(copy.prefix(Int.random(in: limit / 2..<bytes.count, using: &random)))
        }
        return copy
    }

    /// Runs `open` on many corruptions of `bytes`; returns (loaded, rejected) counts.
    static func corrupt(
        _ bytes: [UInt8], region: Int, seed: Int, open: (FileBytes) throws -> Void
    ) -> (loaded: Int, rejected: Int) {
        var random = SeededRandom(seed: seed)
        var loaded = 0, rejected = 0
        for index in 0..<casesPerFile {
            let corrupted = mutate(bytes, region: region, random: &random)
            do {
                try open(FileBytes(copying: corrupted, name: "case-\(index)"))
                loaded += 1
            } catch let error as ModelFormatError {
                #expect(error.file == "case-\(index)" && !error.field.isEmpty && !error.problem.isEmpty)
                rejected += 1
            } catch {
                Issue.record("case \(index) (seed \(seed)) threw a non-format error: \(error)")
            }
        }
        return (loaded, rejected)
    }

    @Test func corruptGGUFFiles() throws {
        let reference = [UInt8](try Fixtures.data("formats/reference.gguf"))
        let vocabulary = [UInt8](try Fixtures.data("shared/ggml-vocab-llama-spm.gguf").prefix(40_000))
        let open: (FileBytes) throws -> Void = { bytes in
            let file = try GGUFFile(bytes: bytes)
            for info in file.tensorInfos where info.type.elementType != nil {
                _ = try file.tensor(info).floats()
            }
            _ = try? GGUFModelMetadata(file.metadata)
            _ = try? GGUFTokenizerMetadata(file.metadata)
        }
        let first = Self.corrupt(reference, region: 2048, seed: 1, open: open)
        // The vocabulary file is cut after 40,000 bytes, so every case is a truncated array.
        let second = Self.corrupt(vocabulary, region: 4096, seed: 2, open: open)
        #expect(first.rejected > Self.casesPerFile / 2 && second.rejected > Self.casesPerFile / 2)
    }

    @Test func corruptSafetensorsFiles() throws {
        let single = [UInt8](try Fixtures.data("formats/safetensors/single.safetensors"))
        let open: (FileBytes) throws -> Void = { bytes in
            let file = try SafetensorsFile(bytes: bytes)
            for info in file.tensorInfos where info.elementType != nil {
                _ = try file.tensor(named: info.name).floats()
            }
        }
        let result = Self.corrupt(single, region: single.count, seed: 3, open: open)
        #expect(result.rejected > Self.casesPerFile / 2)

        // Headers that are not JSON, lie about sizes, or hold absurd numbers.
        let headers = [
            "not json", "[1, 2]", #"{"a": 5}"#, #"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}"#,
            #"{"a": {"dtype": "F32", "shape": [1152921504606846976, 16], "data_offsets": [0, 4]}}"#,
            #"{"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}"#,
            #"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}"#,
            #"{"a": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}}"#,
            #"{"__metadata__": {"k": 1}}"#,
        ]
        for header in headers {
            var bytes = [UInt8]()
            let json = Array(header.utf8)
            withUnsafeBytes(of: UInt64(json.count).littleEndian) { bytes += $0 }
            bytes += json + [0, 0, 0, 0]
            #expect(throws: ModelFormatError.self, "\(header)") { try SafetensorsFile(bytes: FileBytes(copying: bytes, name: "h")) }
        }
        var hugeHeader = [UInt8]()
        withUnsafeBytes(of: UInt64(1 << 60).littleEndian) { hugeHeader += $0 }
        #expect(throws: ModelFormatError.self) { try SafetensorsFile(bytes: FileBytes(copying: hugeHeader, name: "huge")) }
    }

    @Test func corruptLlama2cCheckpoints() throws {
        let v2 = [UInt8](try Fixtures.data("formats/stories260K-v2.bin"))
        let open: (FileBytes) throws -> Void = { bytes in
            let checkpoint = try Llama2cCheckpoint(bytes: bytes)
            for name in checkpoint.tensorNames { _ = try checkpoint.tensor(named: name).floats().count }
        }
        let versioned = Self.corrupt(v2, region: 300, seed: 4, open: open)
        // A tiny legacy checkpoint: dim 8, hidden 16, 1 layer, 2 heads, 1 KV head, vocab 4 (shared), seq 4.
        let header: [Int32] = [8, 16, 1, 2, 1, 4, 4]
        var legacy = [UInt8]()
        for field in header { withUnsafeBytes(of: field.littleEndian) { legacy += $0 } }
        let floats = 4 * 8 + 8 + 8 * 8 + 4 * 8 * 2 + 8 * 8 + 8 + 16 * 8 * 3 + 8 + 4 * 2 * 2
        legacy += [UInt8](repeating: 0, count: floats * 4)
        #expect(throws: Never.self) { try Llama2cCheckpoint(bytes: FileBytes(copying: legacy, name: "tiny")) }
        let tiny = Self.corrupt(legacy, region: 28, seed: 5, open: open)
        #expect(versioned.rejected > Self.casesPerFile / 2 && tiny.rejected > Self.casesPerFile / 2)
    }
}
