/// A metadata value of a GGUF file.
public enum GGUFValue: Sendable, Equatable, CustomStringConvertible {
    case uint8(UInt8)
    case int8(Int8)
    case uint16(UInt16)
    case int16(Int16)
    case uint32(UInt32)
    case int32(Int32)
    case uint64(UInt64)
    case int64(Int64)
    case float32(Float)
    case float64(Double)
    case bool(Bool)
    case string(String)
    case array(GGUFArray)

    /// The type number GGUF stores before the value.
    public var typeID: GGUFValueType {
        switch self {
        case .uint8: .uint8
        case .int8: .int8
        case .uint16: .uint16
        case .int16: .int16
        case .uint32: .uint32
        case .int32: .int32
        case .uint64: .uint64
        case .int64: .int64
        case .float32: .float32
        case .float64: .float64
        case .bool: .bool
        case .string: .string
        case .array: .array
        }
    }

    /// The value as an `Int`, for any integer type whose value fits.
    public var integer: Int? {
        switch self {
        case let .uint8(v): Int(v)
        case let .int8(v): Int(v)
        case let .uint16(v): Int(v)
        case let .int16(v): Int(v)
        case let .uint32(v): Int(v)
        case let .int32(v): Int(v)
        case let .uint64(v): Int(exactly: v)
        case let .int64(v): Int(v)
        default: nil
        }
    }

    /// The value as a `Double`, for the float and integer types.
    public var number: Double? {
        switch self {
        case let .float32(v): Double(v)
        case let .float64(v): v
        default: integer.map(Double.init)
        }
    }

    public var bool: Bool? {
        if case let .bool(v) = self { return v }
        return nil
    }

    public var string: String? {
        if case let .string(v) = self { return v }
        return nil
    }

    public var array: GGUFArray? {
        if case let .array(v) = self { return v }
        return nil
    }

    public var description: String {
        switch self {
        case let .string(v): return "\"\(v)\""
        case let .array(v): return v.description
        case let .bool(v): return "\(v)"
        case let .float32(v): return "\(v)"
        case let .float64(v): return "\(v)"
        // Exact for every integer type: a uint64 of 2^63 or more has no `Int`.
        case let .uint64(v): return "\(v)"
        default: return "\(integer ?? 0)"
        }
    }
}

/// The type numbers of GGUF metadata values.
public enum GGUFValueType: UInt32, Sendable, CaseIterable {
    case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6, bool = 7, string = 8
    case array = 9, uint64 = 10, int64 = 11, float64 = 12

    /// The size of one value of a fixed-size type (`nil` for strings and arrays).
    var fixedSize: Int? {
        switch self {
        case .uint8, .int8, .bool: 1
        case .uint16, .int16: 2
        case .uint32, .int32, .float32: 4
        case .uint64, .int64, .float64: 8
        case .string, .array: nil
        }
    }

    /// The fewest bytes one value of this type occupies in a file (a string or an
    /// array needs at least its length field). Used to reject element counts that
    /// cannot fit in the rest of the file before allocating for them.
    var minimumSize: Int {
        switch self {
        case .string: 8
        case .array: 12
        default: fixedSize!
        }
    }
}

/// An array metadata value: all elements of one type. Numeric and string arrays are
/// stored unboxed, so a 262,144-entry vocabulary is three compact arrays.
public enum GGUFArray: Sendable, Equatable, CustomStringConvertible {
    case uint8([UInt8])
    case int8([Int8])
    case uint16([UInt16])
    case int16([Int16])
    case uint32([UInt32])
    case int32([Int32])
    case uint64([UInt64])
    case int64([Int64])
    case float32([Float])
    case float64([Double])
    case bool([Bool])
    case string([String])
    /// An array of arrays, whose elements may differ in element type.
    case array([GGUFArray])

    /// The element type.
    public var elementType: GGUFValueType {
        switch self {
        case .uint8: .uint8
        case .int8: .int8
        case .uint16: .uint16
        case .int16: .int16
        case .uint32: .uint32
        case .int32: .int32
        case .uint64: .uint64
        case .int64: .int64
        case .float32: .float32
        case .float64: .float64
        case .bool: .bool
        case .string: .string
        case .array: .array
        }
    }

    public var count: Int {
        switch self {
        case let .uint8(v): v.count
        case let .int8(v): v.count
        case let .uint16(v): v.count
        case let .int16(v): v.count
        case let .uint32(v): v.count
        case let .int32(v): v.count
        case let .uint64(v): v.count
        case let .int64(v): v.count
        case let .float32(v): v.count
        case let .float64(v): v.count
        case let .bool(v): v.count
        case let .string(v): v.count
        case let .array(v): v.count
        }
    }

    /// The elements as `Int`s, for integer arrays whose values all fit.
    public var integers: [Int]? {
        switch self {
        case let .uint8(v): v.map(Int.init)
        case let .int8(v): v.map(Int.init)
        case let .uint16(v): v.map(Int.init)
        case let .int16(v): v.map(Int.init)
        case let .uint32(v): v.map(Int.init)
        case let .int32(v): v.map(Int.init)
        case let .uint64(v): v.allSatisfy({ $0 <= UInt64(Int.max) }) ? v.map { Int($0) } : nil
        case let .int64(v): v.map(Int.init)
        default: nil
        }
    }

    /// The elements as `Float`s, for float arrays.
    public var floats: [Float]? {
        switch self {
        case let .float32(v): v
        case let .float64(v): v.map(Float.init)
        default: nil
        }
    }

    public var strings: [String]? {
        if case let .string(v) = self { return v }
        return nil
    }

    public var description: String {
        let preview: String
        switch self {
        case let .string(v): preview = v.prefix(3).map { "\"\($0)\"" }.joined(separator: ", ")
        case let .float32(v): preview = v.prefix(3).map { "\($0)" }.joined(separator: ", ")
        case let .float64(v): preview = v.prefix(3).map { "\($0)" }.joined(separator: ", ")
        case let .bool(v): preview = v.prefix(3).map { "\($0)" }.joined(separator: ", ")
        case let .array(v): preview = v.prefix(3).map(\.description).joined(separator: ", ")
        case let .uint64(v): preview = v.prefix(3).map { "\($0)" }.joined(separator: ", ")
        default: preview = (integers ?? []).prefix(3).map { "\($0)" }.joined(separator: ", ")
        }
        return "[\(elementType) × \(count): \(preview)\(count > 3 ? ", …" : "")]"
    }
}
