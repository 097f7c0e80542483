import Foundation
import LLM
import ModelFormats
import Tokenizers

/// A value that OpenAI's API allows as a string or a list (`stop`, `prompt`).
enum OneOrMany<Element: Decodable>: Decodable {
    case one(Element)
    case many([Element])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let list = try? container.decode([Element].self) {
            self = .many(list)
        } else {
            self = .one(try container.decode(Element.self))
        }
    }

    var list: [Element] {
        switch self {
        case let .one(element): [element]
        case let .many(elements): elements
        }
    }
}

/// The prompt of `/v1/completions`: text, or token ids (one prompt only: `n` = 1).
enum PromptInput: Decodable {
    case text(String)
    case tokens([Int])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            self = .text(text)
        } else if let tokens = try? container.decode([Int].self) {
            self = .tokens(tokens)
        } else if let texts = try? container.decode([String].self) {
            guard texts.count == 1 else {
                throw DecodingError.dataCorruptedError(
                    in: container, debugDescription: "\(texts.count) prompts; one prompt per request is supported")
            }
            self = .text(texts[0])
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "a prompt is a string or a list of token ids")
        }
    }
}

/// The fields that `/v1/chat/completions` and `/v1/completions` share: how to sample,
/// when to stop, how to answer.
struct SamplingFields: Decodable {
    var model: String?
    var maxTokens: Int?
    var maxCompletionTokens: Int?
    var temperature: Float?
    var topP: Float?
    var topK: Int?
    var minP: Float?
    var seed: Int64?
    var stop: OneOrMany<String>?
    var presencePenalty: Float?
    var frequencyPenalty: Float?
    var repeatPenalty: Float?
    var stream: Bool?
    var streamOptions: StreamOptions?
    var n: Int?
    var responseFormat: ResponseFormat?
    /// llama.cpp's and vLLM's extension: go on past the end-of-sequence token.
    var ignoreEOS: Bool?

    struct StreamOptions: Decodable {
        var includeUsage: Bool?
        enum CodingKeys: String, CodingKey { case includeUsage = "include_usage" }
    }

    struct ResponseFormat: Decodable {
        var type: String
    }

    enum CodingKeys: String, CodingKey {
        case model, temperature, seed, stop, stream, n
        case maxTokens = "max_tokens", maxCompletionTokens = "max_completion_tokens", topP = "top_p", topK = "top_k"
        case minP = "min_p", presencePenalty = "presence_penalty", frequencyPenalty = "frequency_penalty"
        case repeatPenalty = "repeat_penalty", streamOptions = "stream_options", responseFormat = "response_format"
        case ignoreEOS = "ignore_eos"
    }

    /// The generation settings for a prompt of `promptLength` tokens in a slot of
    /// `context` tokens: the library's defaults (llama.cpp's) for what is not given,
    /// `max_tokens` capped by the room the context leaves.
    func parameters(promptLength: Int, context: Int, logprobs: Int?) throws -> GenerateParameters {
        var p = GenerateParameters()
        let room = context - promptLength
        guard room > 0 else {
            throw APIError.invalidRequest(
                "the prompt is \(promptLength) tokens; the context of a slot holds \(context), with room for at least one more",
                param: "messages", code: "context_length_exceeded")
        }
        if let n, n != 1 { throw APIError.invalidRequest("n = \(n); one choice per request is supported (n = 1)", param: "n") }
        let requested = maxCompletionTokens ?? maxTokens
        if let requested, requested < 1 {
            throw APIError.invalidRequest("max_tokens must be at least 1, not \(requested)", param: "max_tokens")
        }
        p.maxTokens = min(requested ?? room, room)
        if let temperature {
            guard temperature >= 0, temperature <= 2 else {
                throw APIError.invalidRequest("temperature must be in [0, 2], not \(temperature)", param: "temperature")
            }
            p.temperature = temperature
        }
        if let topP { p.topP = topP }
        if let topK { p.topK = topK }
        if let minP { p.minP = minP }
        if let seed { p.seed = UInt64(bitPattern: seed) }
        if let stop {
            let strings = stop.list.filter { !$0.isEmpty }
            guard strings.count <= 16 else { throw APIError.invalidRequest("at most 16 stop strings, not \(strings.count)", param: "stop") }
            p.stopStrings = strings
        }
        if let presencePenalty { p.presencePenalty = presencePenalty }
        if let frequencyPenalty { p.frequencyPenalty = frequencyPenalty }
        if let repeatPenalty { p.repetitionPenalty = repeatPenalty }
        if ignoreEOS == true { p.stopAtEndOfSequence = false }
        switch responseFormat?.type {
        case nil, "text": break
        case "json_object": p.outputFormat = .jsonObject
        case let other?:
            throw APIError.invalidRequest(
                "response_format of type '\(other)' is not supported ('text' and 'json_object' are)", param: "response_format")
        }
        p.logprobs = logprobs
        do {
            try p.validate()
        } catch let ModelError.invalidParameter(name, value, reason) {
            throw APIError.invalidRequest("\(Self.apiName(of: name)) \(value) \(reason)", param: Self.apiName(of: name))
        }
        return p
    }

    /// The API's name of a `GenerateParameters` field.
    static func apiName(of field: String) -> String {
        [
            "topP": "top_p", "topK": "top_k", "minP": "min_p", "frequencyPenalty": "frequency_penalty",
            "presencePenalty": "presence_penalty", "repetitionPenalty": "repeat_penalty", "maxTokens": "max_tokens",
        ][field] ?? field
    }

    var streams: Bool { stream ?? false }
    var includesUsageChunk: Bool { streamOptions?.includeUsage ?? false }
}

/// `POST /v1/chat/completions`.
struct ChatCompletionRequest: Decodable {
    var messages: [ChatMessage]
    var logprobs: Bool?
    var topLogprobs: Int?
    var sampling: SamplingFields

    enum CodingKeys: String, CodingKey {
        case messages, logprobs
        case topLogprobs = "top_logprobs"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        messages = try container.decode([ChatMessage].self, forKey: .messages)
        logprobs = try container.decodeIfPresent(Bool.self, forKey: .logprobs)
        topLogprobs = try container.decodeIfPresent(Int.self, forKey: .topLogprobs)
        sampling = try SamplingFields(from: decoder)
    }

    /// How many alternatives to report per token, `nil` for no log-probabilities.
    var logprobCount: Int? { logprobs == true ? (topLogprobs ?? 0) : nil }
}

/// `POST /v1/completions`.
struct CompletionRequest: Decodable {
    var prompt: PromptInput
    /// OpenAI's legacy field: the number of alternatives per token (0 to 5).
    var logprobs: Int?
    var echo: Bool?
    var sampling: SamplingFields

    enum CodingKeys: String, CodingKey { case prompt, logprobs, echo }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        prompt = try container.decode(PromptInput.self, forKey: .prompt)
        logprobs = try container.decodeIfPresent(Int.self, forKey: .logprobs)
        echo = try container.decodeIfPresent(Bool.self, forKey: .echo)
        sampling = try SamplingFields(from: decoder)
    }
}

/// `POST /tokenize` (llama.cpp's server's form).
struct TokenizeRequest: Decodable {
    var content: String
    /// Whether to add the BOS the model adds by default.
    var addSpecial: Bool?
    /// Whether special-token text in `content` becomes special tokens.
    var parseSpecial: Bool?

    enum CodingKeys: String, CodingKey {
        case content
        case addSpecial = "add_special", parseSpecial = "parse_special"
    }
}

/// `POST /detokenize`.
struct DetokenizeRequest: Decodable {
    var tokens: [Int]
}

/// Decodes a request body, turning a decoding failure into a 400 that names the field.
func decodeRequest<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
    do {
        return try JSONDecoder().decode(T.self, from: data)
    } catch let error as DecodingError {
        if case let .dataCorrupted(context) = error, context.codingPath.isEmpty {
            throw APIError.invalidRequest("the body is not valid JSON: \(context.underlyingError.map { "\($0.localizedDescription)" } ?? context.debugDescription)")
        }
        throw APIError.invalidRequest("invalid request: \(error.summary)")
    }
}
