import Foundation
import Testing
@testable import TensorCore

/// Every encodable block type against the bytes ggml's own quantizers (the ones
/// llama-quantize calls) make of the same rows: Gaussian, outliers, one-signed, zero and
/// constant groups, tiny and huge magnitudes (`Scripts/generate_kquant_fixtures.py`).
struct KQuantFixtureTests {
    struct Fixture: Decodable {
        struct Encoding: Decodable {
            let type: String
            let importance: Bool
            let bytes: String
        }
        let row_length: Int
        let shapes: [String]
        let values: String
        let importance: String
        let encodings: [Encoding]
    }

    static let fixture: Fixture = {
        let url = Bundle.module.url(forResource: "kquant", withExtension: "json", subdirectory: "Fixtures")!
        return try! JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }()

    static func floats(_ base64: String) -> [Float] {
        let data = Data(base64Encoded: base64)!
        return data.withUnsafeBytes { raw in
            (0..<data.count / 4).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        }
    }

    @Test func fixtureCoversEveryEncodableBlockType() {
        let types = Set(Self.fixture.encodings.map(\.type))
        let encodable = Set(ElementType.allCases.filter { $0.canEncode && $0.isQuantized }.map(\.rawValue))
        #expect(types == encodable)
    }

    /// Each row encoded alone (with the importance vector in the cases that have it),
    /// compared block by block; a differing block is reported with its row's shape.
    @Test(arguments: fixture.encodings.indices)
    func blocksAreLlamaQuantizes(index: Int) throws {
        let encoding = Self.fixture.encodings[index]
        let type = try #require(ElementType(name: encoding.type))
        let values = Self.floats(Self.fixture.values)
        let importance = Self.floats(Self.fixture.importance)
        #expect(importance.count == Self.fixture.row_length)
        let expected = [UInt8](Data(base64Encoded: encoding.bytes)!)
        let length = Self.fixture.row_length
        let rowBytes = try #require(type.rowByteCount(length: length))
        #expect(expected.count == rowBytes * Self.fixture.shapes.count)
        var produced = [UInt8](repeating: 0, count: rowBytes)
        var differing: [String] = []
        for (row, shape) in Self.fixture.shapes.enumerated() {
            values.withUnsafeBufferPointer { source in
                importance.withUnsafeBufferPointer { weights in
                    produced.withUnsafeMutableBytes { destination in
                        let row = source.baseAddress! + row * length
                        if encoding.importance {
                            RowCodec.encode(row, count: length, as: type, importance: weights.baseAddress!, into: destination.baseAddress!)
                        } else {
                            RowCodec.encode(row, count: length, as: type, into: destination.baseAddress!)
                        }
                    }
                }
            }
            for block in 0..<length / type.blockLength {
                let range = block * type.blockByteCount..<(block + 1) * type.blockByteCount
                if produced[range] != expected[row * rowBytes + range.lowerBound..<row * rowBytes + range.upperBound] {
                    differing.append("row \(row) (\(shape)) block \(block)")
                }
            }
        }
        #expect(differing.isEmpty, "\(type)\(encoding.importance ? " with importance" : ""): \(differing.count) blocks differ: \(differing.prefix(8).joined(separator: ", "))")
    }
}
