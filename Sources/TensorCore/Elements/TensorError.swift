/// An error thrown when tensors given to an operation do not fit together.
/// Each message names the operation and the shapes or types involved.
public enum TensorError: Error, Equatable, CustomStringConvertible {
    /// A shape that no tensor can have (negative or overflowing sizes, a row that is
    /// not a whole number of blocks, an element count that does not match the data).
    case invalidShape([Int], ElementType, reason: String)
    /// The shapes given to an operation do not fit together.
    case shapeMismatch(operation: String, details: String)
    /// An operation was given an element type it does not take.
    case unsupportedElementType(operation: String, argument: String, ElementType, expected: String)
    /// An operation was asked to write into a read-only tensor (a view of a model file).
    case readOnlyOutput(operation: String)
    /// A value that selects something (a token id, a position, a setting) is out of range.
    case invalidArgument(operation: String, details: String)

    public var description: String {
        switch self {
        case let .invalidShape(shape, type, reason):
            return "invalid tensor shape \(shape) of \(type): \(reason)"
        case let .shapeMismatch(operation, details):
            return "\(operation): shape mismatch: \(details)"
        case let .unsupportedElementType(operation, argument, type, expected):
            return "\(operation): \(argument) has element type \(type), expected \(expected)"
        case let .readOnlyOutput(operation):
            return "\(operation): the output tensor is read-only (a view of memory the tensor does not own)"
        case let .invalidArgument(operation, details):
            return "\(operation): \(details)"
        }
    }
}
