/// An error reading or writing a model file. Its description names the file, the
/// field and what was wrong, for example
/// `model.gguf: tensor 'blk.0.attn_q.weight' offset: 9000 lies beyond the end of the file (4096 bytes)`.
public struct ModelFormatError: Error, Equatable, CustomStringConvertible {
    /// The broad class of a problem, for callers that handle some of them.
    public enum Kind: String, Sendable, Equatable {
        /// The file ends before a field it announces.
        case truncated
        /// A field holds a value the format does not allow.
        case invalidValue
        /// A valid value this library does not handle (a newer version, a dtype).
        case unsupported
        /// Fields contradict each other (sizes, overlapping data, array lengths).
        case inconsistent
        /// Reading or writing the file failed (missing file, permissions, disk full).
        case io
        /// The output exists and overwriting was not asked for.
        case alreadyExists
    }

    public let kind: Kind
    /// The path of the file (as given).
    public let file: String
    /// The field, for example `header.magic` or `metadata 'llama.block_count'`.
    public let field: String
    /// What was wrong.
    public let problem: String

    public init(_ kind: Kind, file: String, field: String, problem: String) {
        self.kind = kind
        self.file = file
        self.field = field
        self.problem = problem
    }

    public var description: String { "\(file): \(field): \(problem)" }
}
