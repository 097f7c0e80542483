/// The key/value metadata of a GGUF file, in file order, with typed accessors whose
/// errors name the file and the key.
public struct GGUFMetadata: Sendable, Equatable {
    /// The entries in the order they appear in the file.
    public let entries: [(key: String, value: GGUFValue)]
    /// The file the metadata came from, for error messages.
    public let file: String
    private let index: [String: Int]

    public init(entries: [(key: String, value: GGUFValue)], file: String) {
        self.entries = entries
        self.file = file
        var index: [String: Int] = [:]
        for (position, entry) in entries.enumerated() { index[entry.key] = position }
        self.index = index
    }

    public static func == (lhs: GGUFMetadata, rhs: GGUFMetadata) -> Bool {
        lhs.entries.count == rhs.entries.count
            && zip(lhs.entries, rhs.entries).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

    /// The keys in file order.
    public var keys: [String] { entries.map(\.key) }

    /// The value of `key`, if present.
    public subscript(key: String) -> GGUFValue? {
        index[key].map { entries[$0].value }
    }

    private func mismatch(_ key: String, _ value: GGUFValue, _ expected: String) -> ModelFormatError {
        ModelFormatError(.invalidValue, file: file, field: "metadata '\(key)'", problem: "is \(value), expected \(expected)")
    }

    /// An integer value; `nil` when absent, an error when of another type.
    public func integer(_ key: String) throws -> Int? {
        guard let value = self[key] else { return nil }
        guard let integer = value.integer else { throw mismatch(key, value, "an integer") }
        return integer
    }

    /// A number (float or integer) value; `nil` when absent.
    public func number(_ key: String) throws -> Double? {
        guard let value = self[key] else { return nil }
        guard let number = value.number else { throw mismatch(key, value, "a number") }
        return number
    }

    /// A string value; `nil` when absent.
    public func string(_ key: String) throws -> String? {
        guard let value = self[key] else { return nil }
        guard let string = value.string else { throw mismatch(key, value, "a string") }
        return string
    }

    /// A boolean value; `nil` when absent.
    public func bool(_ key: String) throws -> Bool? {
        guard let value = self[key] else { return nil }
        guard let bool = value.bool else { throw mismatch(key, value, "a boolean") }
        return bool
    }

    /// A string array; `nil` when absent.
    public func strings(_ key: String) throws -> [String]? {
        guard let value = self[key] else { return nil }
        guard let strings = value.array?.strings else { throw mismatch(key, value, "an array of strings") }
        return strings
    }

    /// A float array; `nil` when absent.
    public func floats(_ key: String) throws -> [Float]? {
        guard let value = self[key] else { return nil }
        guard let floats = value.array?.floats else { throw mismatch(key, value, "an array of floats") }
        return floats
    }

    /// An integer array; `nil` when absent.
    public func integers(_ key: String) throws -> [Int]? {
        guard let value = self[key] else { return nil }
        guard let integers = value.array?.integers else { throw mismatch(key, value, "an array of integers") }
        return integers
    }

    /// A required value: throws naming the key when it is absent.
    public func require<T>(_ key: String, _ accessor: (GGUFMetadata) -> (String) throws -> T?) throws -> T {
        guard let value = try accessor(self)(key) else {
            throw ModelFormatError(.invalidValue, file: file, field: "metadata '\(key)'", problem: "is missing")
        }
        return value
    }
}
