import Foundation
import ModelFormats
import TensorCore
import Testing
import TestSupport

/// llama2.c checkpoints: the real legacy `stories260K.bin`, and its version 1 and 2
/// exports written by llama2.c's own `export.py` (`Scripts/generate_format_fixtures.py`).
struct Llama2cCheckpointTests {
    static let legacy = try! Llama2cCheckpoint(contentsOf: Fixtures.url("shared/stories260K.bin"))

    @Test func legacyHeaderAndTensors() throws {
        let header = Self.legacy.header
        #expect(header.version == 0)
        let fields: [Int] = [
            header.dimension, header.hiddenDimension, header.layerCount, header.headCount, header.kvHeadCount,
            header.vocabularySize, header.sequenceLength,
        ]
        #expect(fields == [64, 172, 5, 8, 4, 512, 512])
        #expect(header.sharedClassifier)
        #expect(Self.legacy.tensorNames.count == 1 + 5 * 9 + 1)
        #expect(try Self.legacy.tensor(named: "layers.4.attention.wk.weight").shape == [32, 64])
        #expect(try Self.legacy.tensor(named: "layers.0.feed_forward.w2.weight").shape == [64, 172])
        #expect(throws: ModelFormatError.self) { try Self.legacy.tensor(named: "output.weight") }
        // The embedding is a view of the mapped file, not a copy.
        #expect(!(try Self.legacy.tensor(named: "tok_embeddings.weight")).isWritable)
    }

    @Test func version1HoldsTheSameWeights() throws {
        let v1 = try Llama2cCheckpoint(contentsOf: Fixtures.url("formats/stories260K-v1.bin"))
        #expect(v1.header.version == 1 && v1.header.sharedClassifier)
        #expect(Set(v1.tensorNames) == Set(Self.legacy.tensorNames))
        for name in Self.legacy.tensorNames {
            #expect(try v1.tensor(named: name).floats() == Self.legacy.tensor(named: name).floats(), "\(name)")
        }
    }

    @Test func version2DequantizesWithinHalfAScalePerGroup() throws {
        let v2 = try Llama2cCheckpoint(contentsOf: Fixtures.url("formats/stories260K-v2.bin"))
        #expect(v2.header.version == 2 && v2.header.groupSize == 64)
        for name in Self.legacy.tensorNames {
            let original = try Self.legacy.tensor(named: name).floats()
            let restored = try v2.tensor(named: name).floats()
            #expect(original.count == restored.count)
            if name.hasSuffix("norm.weight") {
                #expect(original == restored, "\(name) is stored in f32")
                continue
            }
            for group in stride(from: 0, to: original.count, by: 64) {
                let slice = original[group..<group + 64]
                let scale = slice.map(abs).max()! / 127
                for i in group..<group + 64 {
                    #expect(abs(original[i] - restored[i]) <= scale * 0.5 + 1e-7, "\(name)[\(i)]")
                }
            }
        }
    }

    @Test func aTruncatedCheckpointNamesTheTensor() throws {
        let data = try Fixtures.data("shared/stories260K.bin")
        do {
            _ = try Llama2cCheckpoint(bytes: FileBytes(copying: data.prefix(500_000), name: "short.bin"))
            Issue.record("a truncated checkpoint must be rejected")
        } catch let error as ModelFormatError {
            #expect(error.kind == .truncated && error.file == "short.bin" && error.field.contains("tensor '"))
        }
    }
}
