/// The type of the elements of a ``Tensor``: a plain floating-point type, or one
/// of the block-quantized types of GGUF files, stored with exactly GGUF's bytes so
/// that weights can be used where they lie in a memory-mapped file.
///
/// A quantized type groups ``blockLength`` consecutive values of a row into one
/// block of ``blockByteCount`` bytes. A row of a tensor with a quantized type must
/// therefore have a length that is a multiple of ``blockLength``.
public enum ElementType: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// IEEE 754 binary32.
    case f32
    /// IEEE 754 binary16.
    case f16
    /// bfloat16: the top 16 bits of a binary32.
    case bf16
    /// 32 values: an f16 scale `d`, then 32 signed bytes `q`; value = d × q.
    case q8_0
    /// 32 values: an f16 scale `d`, then 16 bytes of 4-bit values `q` (byte j holds
    /// value j in its low nibble and value j + 16 in its high nibble); value = d × (q − 8).
    case q4_0
    /// 32 values: f16 scale `d`, f16 minimum `m`, 16 bytes of 4-bit values as in ``q4_0``;
    /// value = d × q + m.
    case q4_1
    /// 32 values: f16 scale `d`, 4 bytes with the fifth bit of each value (bit j of the
    /// little-endian u32 for value j), 16 bytes of low nibbles as in ``q4_0``;
    /// value = d × (q − 16).
    case q5_0
    /// 32 values: f16 scale `d`, f16 minimum `m`, fifth bits and nibbles as in ``q5_0``;
    /// value = d × q + m.
    case q5_1
    /// 256 values in 16 groups of 16, 2-bit values with 4-bit group scales and minimums.
    case q2_K
    /// 256 values in 16 groups of 16, 3-bit values with 6-bit group scales.
    case q3_K
    /// 256 values in 8 groups of 32, 4-bit values with 6-bit group scales and minimums.
    case q4_K
    /// 256 values in 8 groups of 32, 5-bit values with 6-bit group scales and minimums.
    case q5_K
    /// 256 values in 16 groups of 16, 6-bit values with 8-bit group scales.
    case q6_K
    /// 256 values: an f32 scale, 256 signed bytes, and 16 i16 sums of groups of 16.
    case q8_K

    /// The number of consecutive values stored together (1 for the float types).
    @inlinable
    public var blockLength: Int {
        switch self {
        case .f32, .f16, .bf16: 1
        case .q8_0, .q4_0, .q4_1, .q5_0, .q5_1: 32
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .q8_K: 256
        }
    }

    /// The number of bytes one block occupies.
    @inlinable
    public var blockByteCount: Int {
        switch self {
        case .f32: 4
        case .f16, .bf16: 2
        case .q8_0: 34
        case .q4_0: 18
        case .q4_1: 20
        case .q5_0: 22
        case .q5_1: 24
        case .q2_K: 84
        case .q3_K: 110
        case .q4_K: 144
        case .q5_K: 176
        case .q6_K: 210
        case .q8_K: 292
        }
    }

    /// Whether values are stored in blocks with shared scales.
    @inlinable
    public var isQuantized: Bool { blockLength > 1 }

    /// Whether ``Tensor`` can encode `Float` values into this type
    /// (see ``Tensor/init(converting:to:)``).
    public var canEncode: Bool {
        switch self {
        case .f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K: true
        case .q8_K: false
        }
    }

    /// The number of bytes a row of `length` values occupies, or `nil` when
    /// `length` is not a whole number of blocks or the count overflows.
    @inlinable
    public func rowByteCount(length: Int) -> Int? {
        guard length >= 0, length % blockLength == 0 else { return nil }
        let (bytes, overflow) = (length / blockLength).multipliedReportingOverflow(by: blockByteCount)
        return overflow ? nil : bytes
    }

    /// The upper-case name GGUF and llama.cpp use (`F32`, `Q4_0`, `Q6_K`, …).
    public var description: String {
        switch self {
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .q8_K:
            return rawValue.dropLast(2).uppercased() + "_K"
        default:
            return rawValue.uppercased()
        }
    }

    /// Finds a type by its name, in either case (`q4_0`, `Q4_0`, `Q6_K`).
    public init?(name: String) {
        guard let match = ElementType.allCases.first(where: { $0.rawValue.lowercased() == name.lowercased() }) else {
            return nil
        }
        self = match
    }
}
