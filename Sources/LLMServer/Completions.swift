import Foundation
import Hummingbird
import LLM
import Tokenizers

@available(macOS 14, iOS 17, tvOS 17, *)
extension OpenAIServer {
    /// What differs between the chat and the text completion routes.
    struct Route: Sendable {
        /// `chat.completion` or `text_completion`.
        let object: String
        let idPrefix: String
        let isChat: Bool
        /// The tools of a chat request, whose calls are parsed from the reply.
        let tools: [ToolDefinition]
        let toolCallFormat: ToolCallFormat?
    }

    func chatCompletion(_ request: Request) async throws -> Response {
        let data = try await body(request)
        let chat = try decodeRequest(ChatCompletionRequest.self, from: data)
        guard !chat.messages.isEmpty else { throw APIError.invalidRequest("messages is empty", param: "messages") }
        let tools = try Self.tools(in: data)
        guard let format = try model.chatFormat(tools: !tools.isEmpty) else {
            throw APIError.invalidRequest("the model has no chat template; use /v1/completions", param: "messages")
        }
        let prompt: [Int]
        do {
            prompt = try format.promptTokens(for: chat.messages, tools: tools, tokenizer: tokenizer)
        } catch {
            throw APIError.invalidRequest("the chat template cannot render these messages: \(error)", param: "messages")
        }
        let parameters = try chat.sampling.parameters(
            promptLength: prompt.count, context: scheduler.context, logprobs: chat.logprobCount)
        let route = Route(
            object: "chat.completion", idPrefix: "chatcmpl-", isChat: true, tools: tools,
            toolCallFormat: tools.isEmpty ? nil : format.toolCallFormat)
        return try await generate(prompt: prompt, parameters: parameters, sampling: chat.sampling, route: route)
    }

    func completion(_ request: Request) async throws -> Response {
        let input = try decodeRequest(CompletionRequest.self, from: try await body(request))
        let prompt: [Int]
        switch input.prompt {
        case let .text(text):
            prompt = tokenizer.encode(text, options: EncodingOptions(addBOS: nil, addEOS: false, parseSpecialTokens: false))
        case let .tokens(tokens):
            if let bad = tokens.first(where: { $0 < 0 || $0 >= model.configuration.vocabularySize }) {
                throw APIError.invalidRequest("token \(bad) is outside the vocabulary", param: "prompt")
            }
            prompt = tokens
        }
        guard !prompt.isEmpty else { throw APIError.invalidRequest("the prompt is empty", param: "prompt") }
        if let logprobs = input.logprobs, !(0...5).contains(logprobs) {
            throw APIError.invalidRequest("logprobs must be in 0...5, not \(logprobs)", param: "logprobs")
        }
        if input.echo == true { throw APIError.invalidRequest("echo is not supported", param: "echo") }
        let parameters = try input.sampling.parameters(promptLength: prompt.count, context: scheduler.context, logprobs: input.logprobs)
        let route = Route(object: "text_completion", idPrefix: "cmpl-", isChat: false, tools: [], toolCallFormat: nil)
        return try await generate(prompt: prompt, parameters: parameters, sampling: input.sampling, route: route)
    }

    /// The `tools` of a chat request (OpenAI's function definitions), unless
    /// `tool_choice` is `none`.
    static func tools(in data: Data) throws -> [ToolDefinition] {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let tools = object["tools"] else {
            return []
        }
        if object["tool_choice"] as? String == "none" { return [] }
        do {
            return try ToolDefinition.list(json: JSONSerialization.data(withJSONObject: tools))
        } catch {
            throw APIError.invalidRequest("tools: \(error)", param: "tools")
        }
    }

    // MARK: Answering

    func generate(prompt: [Int], parameters: GenerateParameters, sampling: SamplingFields, route: Route) async throws -> Response {
        let start = ContinuousClock.now
        let request = try submit(prompt, parameters)
        let id = route.idPrefix + Self.randomID()
        if sampling.streams {
            return streamingResponse(request, id: id, route: route, logprobs: parameters.logprobs != nil,
                includeUsageChunk: sampling.includesUsageChunk, start: start)
        }
        var tokens: [GeneratedToken] = [], text = ""
        var completion: BatchScheduler.Completion?
        do {
            for try await event in request {
                switch event {
                case let .token(token):
                    tokens.append(token)
                    text += token.text
                case let .finished(done):
                    text += done.trailingText
                    completion = done
                }
            }
        } catch {
            request.cancel()
            throw APIError.server("generation failed: \(error)")
        }
        guard let completion else { throw APIError.server("the generation ended without a result") }
        metrics.generation(completion, duration: start.duration(to: .now))
        var choice: [String: Any] = ["index": 0, "finish_reason": finishReason(completion.info.stopReason)]
        let writer = LogprobWriter(tokenizer: tokenizer)
        if route.isChat {
            var message: [String: Any] = ["role": "assistant", "content": text]
            if let format = route.toolCallFormat {
                let (content, calls) = format.parse(text, tools: route.tools)
                if !calls.isEmpty {
                    message = ["role": "assistant", "content": content.isEmpty ? NSNull() : content, "tool_calls": Self.json(calls)]
                    choice["finish_reason"] = "tool_calls"
                }
            }
            choice["message"] = message
            choice["logprobs"] = parameters.logprobs == nil ? NSNull() : ["content": tokens.map(writer.chatEntry)]
        } else {
            choice["text"] = text
            choice["logprobs"] = parameters.logprobs == nil ? NSNull() : writer.completionLogprobs(tokens, offset: 0)
        }
        return jsonResponse([
            "id": id, "object": route.object, "created": Int(Date().timeIntervalSince1970), "model": modelID,
            "choices": [choice], "usage": Self.usage(completion),
        ])
    }

    /// Server-sent events: one chunk per piece of text, a last chunk with the finish
    /// reason and the usage, an optional usage-only chunk, then `data: [DONE]`. A client
    /// that goes away makes a write fail, which cancels the generation.
    func streamingResponse(
        _ request: BatchScheduler.Request, id: String, route: Route, logprobs: Bool, includeUsageChunk: Bool,
        start: ContinuousClock.Instant
    ) -> Response {
        let created = Int(Date().timeIntervalSince1970)
        let object = route.isChat ? "chat.completion.chunk" : "text_completion"
        let writer = LogprobWriter(tokenizer: tokenizer)
        let modelID = modelID, metrics = metrics
        // With tools, the reply is held back to be parsed as a whole: its calls are sent as
        // `tool_calls`, not as text.
        let holdsBack = route.toolCallFormat != nil
        @Sendable func chunk(_ choice: [String: Any], usage: [String: Any]? = nil) -> [String: Any] {
            var result: [String: Any] = ["id": id, "object": object, "created": created, "model": modelID, "choices": [choice]]
            if let usage { result["usage"] = usage }
            return result
        }
        @Sendable func textChoice(_ text: String, token: GeneratedToken?, finish: String?) -> [String: Any] {
            var choice: [String: Any] = ["index": 0, "finish_reason": finish as Any? ?? NSNull()]
            if route.isChat {
                choice["delta"] = text.isEmpty && finish != nil ? [:] : ["content": text]
                choice["logprobs"] = logprobs && token != nil ? ["content": [writer.chatEntry(token!)]] : NSNull()
            } else {
                choice["text"] = text
                choice["logprobs"] = logprobs && token != nil ? writer.completionLogprobs([token!], offset: 0) : NSNull()
            }
            return choice
        }
        let body = ResponseBody { output in
            func send(_ object: [String: Any]) async throws {
                var buffer = ByteBuffer(string: "data: ")
                buffer.writeBytes(jsonBytes(object))
                buffer.writeString("\n\n")
                try await output.write(buffer)
            }
            var finished = false
            defer { if !finished { request.cancel() } }
            if route.isChat {
                try await send(chunk(["index": 0, "delta": ["role": "assistant", "content": ""], "logprobs": NSNull(), "finish_reason": NSNull()]))
            }
            var heldText = ""
            do {
                for try await event in request {
                    switch event {
                    case let .token(token):
                        if holdsBack {
                            heldText += token.text
                        } else if !token.text.isEmpty || logprobs {
                            try await send(chunk(textChoice(token.text, token: token, finish: nil)))
                        }
                    case let .finished(completion):
                        finished = true
                        metrics.generation(completion, duration: start.duration(to: .now))
                        var finish = finishReason(completion.info.stopReason)
                        if holdsBack, let format = route.toolCallFormat {
                            let (content, calls) = format.parse(heldText + completion.trailingText, tools: route.tools)
                            if !content.isEmpty { try await send(chunk(textChoice(content, token: nil, finish: nil))) }
                            if !calls.isEmpty {
                                let deltas = Self.json(calls).enumerated().map { index, call in
                                    var call = call
                                    call["index"] = index
                                    return call
                                }
                                try await send(chunk(["index": 0, "delta": ["tool_calls": deltas], "logprobs": NSNull(), "finish_reason": NSNull()]))
                                finish = "tool_calls"
                            }
                        } else if !completion.trailingText.isEmpty {
                            try await send(chunk(textChoice(completion.trailingText, token: nil, finish: nil)))
                        }
                        // With include_usage, OpenAI sends the usage only in a last chunk of its
                        // own; without it, llama.cpp's server adds it to the finish chunk.
                        let usage = Self.usage(completion)
                        try await send(chunk(textChoice("", token: nil, finish: finish), usage: includeUsageChunk ? nil : usage))
                        if includeUsageChunk {
                            try await send(["id": id, "object": object, "created": created, "model": modelID, "choices": [], "usage": usage])
                        }
                    }
                }
            } catch let error as CancellationError {
                throw error
            } catch {
                // The headers are sent: the error goes in the stream, as llama.cpp's server does.
                finished = true
                try await send(APIError.server("generation failed: \(error)").json)
            }
            try await output.write(ByteBuffer(string: "data: [DONE]\n\n"))
            try await output.finish(nil)
        }
        return Response(
            status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }

    static func usage(_ completion: BatchScheduler.Completion) -> [String: Any] {
        LLMServer.usage(
            promptTokens: completion.info.promptTokens.count, completionTokens: completion.info.generatedTokens.count,
            cachedTokens: completion.cachedPromptTokens)
    }

    /// Tool calls in OpenAI's form, each with an id.
    static func json(_ calls: [ToolCall]) -> [[String: Any]] {
        calls.map { call in
            ["id": call.id ?? "call_" + randomID(), "type": "function", "function": ["name": call.name, "arguments": call.arguments]]
        }
    }

    static func randomID() -> String {
        let characters = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        return String((0..<24).map { _ in characters.randomElement()! })
    }
}
