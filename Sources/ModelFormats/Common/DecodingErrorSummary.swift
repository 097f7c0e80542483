import Foundation

extension DecodingError {
    /// What was wrong and where, for a message to the person who wrote the JSON:
    /// `at .messages[0].role: Cannot initialize Role from invalid String value robot`,
    /// `no "messages"`.
    public var summary: String {
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return keys.isEmpty ? "" : "at \(keys): "
        }
        switch self {
        case let .keyNotFound(key, context): return "\(path(context))no \"\(key.stringValue)\""
        case let .typeMismatch(_, context), let .valueNotFound(_, context), let .dataCorrupted(context):
            return path(context) + context.debugDescription
        @unknown default: return "\(self)"
        }
    }
}
