import Foundation
import Testing
@testable import TensorCore

/// Quantization and dequantization against blocks made by the `gguf` Python package
/// (`Scripts/generate_quantization_fixtures.py`).
struct QuantizationFixtureTests {
    struct Fixture: Decodable {
        struct QuantizeCase: Decodable {
            let type: String
            let values: [Float]
            let bytes: String
        }
        struct DequantizeCase: Decodable {
            let type: String
            let bytes: String
            let float_bits: [UInt32]
        }
        let quantize: [QuantizeCase]
        let dequantize: [DequantizeCase]
    }

    static let fixture: Fixture = {
        let url = Bundle.module.url(forResource: "quantization", withExtension: "json", subdirectory: "Fixtures")!
        return try! JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }()

    static func bytes(fromHex hex: String) -> [UInt8] {
        var result: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            result.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return result
    }

    @Test func fixtureCoversEveryEncodableAndDecodableType() {
        let quantized = Set(Self.fixture.quantize.map(\.type))
        let dequantized = Set(Self.fixture.dequantize.map(\.type))
        #expect(quantized == ["f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1"])
        #expect(dequantized == ["f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q2_K", "q3_K", "q4_K", "q5_K", "q6_K"])
    }

    @Test(arguments: fixture.quantize.indices)
    func quantizationIsBitExactWithGGUF(index: Int) throws {
        let testCase = Self.fixture.quantize[index]
        let type = try #require(ElementType(name: testCase.type))
        let source = try Tensor(shape: [1, testCase.values.count], values: testCase.values)
        let quantized = try Tensor(converting: source, to: type)
        let produced = Array(UnsafeRawBufferPointer(start: quantized.rawPointer, count: quantized.byteCount))
        let expected = Self.bytes(fromHex: testCase.bytes)
        #expect(produced.count == expected.count)
        let firstDifference = zip(produced, expected).enumerated().first { $0.element.0 != $0.element.1 }
        #expect(firstDifference == nil, "\(type) case \(index): first differing byte \(String(describing: firstDifference))")
    }

    @Test(arguments: fixture.dequantize.indices)
    func dequantizationIsBitExactWithGGUF(index: Int) throws {
        let testCase = Self.fixture.dequantize[index]
        let type = try #require(ElementType(name: testCase.type))
        let bytes = Self.bytes(fromHex: testCase.bytes)
        let count = testCase.float_bits.count
        let values = try bytes.withUnsafeBytes { raw in
            try Tensor(shape: [1, count], elementType: type, viewing: raw.baseAddress!, byteCount: raw.count, owner: nil)
                .floats()
        }
        let produced = values.map(\.bitPattern)
        let mismatches = zip(produced, testCase.float_bits).enumerated().filter { $0.element.0 != $0.element.1 }
        #expect(mismatches.isEmpty, "\(type) case \(index): \(mismatches.count) values differ, first \(String(describing: mismatches.first))")
    }
}
