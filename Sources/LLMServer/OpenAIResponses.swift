import Foundation
import HTTPTypes
import Hummingbird
import LLM
import Tokenizers

/// An error answered in OpenAI's form, `{"error": {"message", "type", "param", "code"}}`,
/// with its HTTP status.
public struct APIError: Error, Equatable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var message: String
    public var type: String
    public var param: String?
    public var code: String?
    /// Extra response headers (`Retry-After`, `WWW-Authenticate`).
    public var headers: [String: String] = [:]

    public var description: String { "\(status.code) \(type): \(message)" }

    static func invalidRequest(_ message: String, param: String? = nil, code: String? = nil) -> APIError {
        APIError(status: .badRequest, message: message, type: "invalid_request_error", param: param, code: code)
    }

    static let unauthorized = APIError(
        status: .unauthorized, message: "a valid API key is needed: send it as 'Authorization: Bearer KEY'",
        type: "authentication_error", code: "invalid_api_key", headers: ["WWW-Authenticate": "Bearer"])

    static func tooLarge(limit: Int) -> APIError {
        APIError(
            status: .contentTooLarge, message: "the request body exceeds the limit of \(limit) bytes",
            type: "invalid_request_error", code: "request_too_large")
    }

    static func overloaded(_ message: String, retryAfter: Int) -> APIError {
        APIError(
            status: .tooManyRequests, message: message, type: "rate_limit_error", code: "server_busy",
            headers: ["Retry-After": "\(retryAfter)"])
    }

    static let shuttingDown = APIError(
        status: .serviceUnavailable, message: "the server is shutting down", type: "server_error", code: "shutting_down",
        headers: ["Retry-After": "1"])

    static func notFound(_ path: String) -> APIError {
        APIError(status: .notFound, message: "no route \(path)", type: "invalid_request_error", code: "not_found")
    }

    static func server(_ message: String) -> APIError {
        APIError(status: .internalServerError, message: message, type: "server_error")
    }

    var json: [String: Any] {
        ["error": ["message": message, "type": type, "param": param as Any? ?? NSNull(), "code": code as Any? ?? NSNull()]]
    }

    func response() -> Response {
        var fields = HTTPFields()
        fields[.contentType] = "application/json"
        for (name, value) in headers { if let field = HTTPField.Name(name) { fields[field] = value } }
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: jsonBytes(json))))
    }
}

/// JSON bytes of a tree of dictionaries, arrays, strings, numbers and `NSNull`.
func jsonBytes(_ object: Any) -> [UInt8] {
    (try? JSONSerialization.data(withJSONObject: object, options: [.withoutEscapingSlashes])).map { [UInt8]($0) } ?? Array("{}".utf8)
}

/// A JSON response.
func jsonResponse(_ object: Any, status: HTTPResponse.Status = .ok) -> Response {
    Response(
        status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: jsonBytes(object))))
}

/// OpenAI's finish reason for a stop reason.
func finishReason(_ reason: StopReason) -> String {
    switch reason {
    case .endOfSequence, .stopString, .cancelled: "stop"
    case .maxTokens, .contextFull: "length"
    }
}

/// OpenAI's `usage` object.
func usage(promptTokens: Int, completionTokens: Int, cachedTokens: Int) -> [String: Any] {
    [
        "prompt_tokens": promptTokens, "completion_tokens": completionTokens, "total_tokens": promptTokens + completionTokens,
        "prompt_tokens_details": ["cached_tokens": cachedTokens],
    ]
}

/// The log-probability entries of tokens, in the chat form (`{"content": [...]}`'s
/// elements) or the legacy completion form.
struct LogprobWriter: Sendable {
    let tokenizer: any Tokenizer

    func text(_ id: Int) -> String { (try? tokenizer.decode([id])) ?? "" }

    /// One element of a chat choice's `logprobs.content`.
    func chatEntry(_ token: GeneratedToken) -> [String: Any] {
        func entry(_ id: Int, _ logprob: Float) -> [String: Any] {
            let text = text(id)
            return ["token": text, "logprob": Double(logprob), "bytes": Array(text.utf8).map(Int.init)]
        }
        var result = entry(token.id, token.logprob ?? 0)
        result["top_logprobs"] = token.topLogprobs.map { entry($0.id, $0.logprob) }
        return result
    }

    /// A completion choice's `logprobs` for `tokens`, whose text starts at `offset`.
    func completionLogprobs(_ tokens: [GeneratedToken], offset: Int) -> [String: Any] {
        var offsets: [Int] = [], position = offset
        for token in tokens {
            offsets.append(position)
            position += text(token.id).count
        }
        return [
            "tokens": tokens.map { text($0.id) },
            "token_logprobs": tokens.map { Double($0.logprob ?? 0) },
            "top_logprobs": tokens.map { token in
                Dictionary(token.topLogprobs.map { (text($0.id), Double($0.logprob)) }, uniquingKeysWith: max)
            },
            "text_offset": offsets,
        ]
    }
}
