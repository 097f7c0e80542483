/// An error loading a tokenizer or decoding ids. Descriptions name the file and the
/// field, or the offending id.
public struct TokenizerError: Error, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case invalidFile, unsupported, idOutOfRange, unknownTemplate
    }

    public let kind: Kind
    public let file: String?
    public let message: String

    public init(_ kind: Kind, file: String? = nil, _ message: String) {
        self.kind = kind
        self.file = file
        self.message = message
    }

    public var description: String {
        file.map { "\($0): \(message)" } ?? message
    }

    static func idOutOfRange(_ id: Int, vocabularySize: Int) -> TokenizerError {
        TokenizerError(.idOutOfRange, "id \(id) is outside the vocabulary of \(vocabularySize) tokens")
    }
}
