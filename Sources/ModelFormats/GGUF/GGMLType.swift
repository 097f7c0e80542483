import TensorCore

/// A tensor data type as GGUF numbers it (ggml's `ggml_type`), with its block
/// geometry. The table lists every type current GGUF files may contain, so that a
/// reader can check sizes and offsets of tensors even of types this library cannot
/// compute with; ``elementType`` is `nil` for those.
public struct GGMLType: Sendable, Hashable, CustomStringConvertible {
    /// The number stored in the file.
    public let id: UInt32
    /// ggml's name (`F32`, `Q4_K`, `IQ2_XXS`, …).
    public let name: String
    /// Values per block.
    public let blockLength: Int
    /// Bytes per block.
    public let blockByteCount: Int

    /// The library's element type for this GGML type, if it can use it.
    public var elementType: ElementType? {
        switch id {
        case 0: .f32
        case 1: .f16
        case 2: .q4_0
        case 3: .q4_1
        case 6: .q5_0
        case 7: .q5_1
        case 8: .q8_0
        case 10: .q2_K
        case 11: .q3_K
        case 12: .q4_K
        case 13: .q5_K
        case 14: .q6_K
        case 15: .q8_K
        case 30: .bf16
        default: nil
        }
    }

    public var description: String { name }

    /// The type with this number, or `nil` for a number GGUF does not define.
    public init?(id: UInt32) {
        guard let entry = Self.table[id] else { return nil }
        self = entry
    }

    /// The GGML type of an element type.
    public init(_ elementType: ElementType) {
        self = Self.table.values.first { $0.elementType == elementType }!
    }

    private init(_ id: UInt32, _ name: String, _ blockLength: Int, _ blockByteCount: Int) {
        self.id = id
        self.name = name
        self.blockLength = blockLength
        self.blockByteCount = blockByteCount
    }

    /// Every GGML type (`gguf.constants.GGML_QUANT_SIZES`, gguf 0.19).
    static let table: [UInt32: GGMLType] = {
        let entries = [
            GGMLType(0, "F32", 1, 4), GGMLType(1, "F16", 1, 2), GGMLType(2, "Q4_0", 32, 18),
            GGMLType(3, "Q4_1", 32, 20), GGMLType(6, "Q5_0", 32, 22), GGMLType(7, "Q5_1", 32, 24),
            GGMLType(8, "Q8_0", 32, 34), GGMLType(9, "Q8_1", 32, 40), GGMLType(10, "Q2_K", 256, 84),
            GGMLType(11, "Q3_K", 256, 110), GGMLType(12, "Q4_K", 256, 144), GGMLType(13, "Q5_K", 256, 176),
            GGMLType(14, "Q6_K", 256, 210), GGMLType(15, "Q8_K", 256, 292), GGMLType(16, "IQ2_XXS", 256, 66),
            GGMLType(17, "IQ2_XS", 256, 74), GGMLType(18, "IQ3_XXS", 256, 98), GGMLType(19, "IQ1_S", 256, 50),
            GGMLType(20, "IQ4_NL", 32, 18), GGMLType(21, "IQ3_S", 256, 110), GGMLType(22, "IQ2_S", 256, 82),
            GGMLType(23, "IQ4_XS", 256, 136), GGMLType(24, "I8", 1, 1), GGMLType(25, "I16", 1, 2),
            GGMLType(26, "I32", 1, 4), GGMLType(27, "I64", 1, 8), GGMLType(28, "F64", 1, 8),
            GGMLType(29, "IQ1_M", 256, 56), GGMLType(30, "BF16", 1, 2), GGMLType(34, "TQ1_0", 256, 54),
            GGMLType(35, "TQ2_0", 256, 66), GGMLType(39, "MXFP4", 32, 17), GGMLType(40, "NVFP4", 64, 36),
            GGMLType(41, "Q1_0", 128, 18),
        ]
        return Dictionary(uniqueKeysWithValues: entries.map { ($0.id, $0) })
    }()
}
