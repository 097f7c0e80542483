import BLASBackend
import Foundation
import LLM
import LLMServer
import TensorCore
import Testing
import TestSupport
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif

/// The HTTP server on a real socket with SmolLM2-135M-Instruct: OpenAI's response
/// shapes, streaming, errors with their status codes, the queue limit, API keys, a
/// client that disconnects, and draining. The `openai` Python client's test
/// (`Tests/Integration/test_openai_client.py`) covers the same routes from outside.
/// Skipped, saying so, when the model is not in the cache.
@Suite(.serialized)
struct OpenAIServerTests {
    static let modelURL = Fixtures.smolLM2Model(suite: "OpenAIServerTests")
    static let enabled = modelURL != nil

    /// A client session with long timeouts. Under `swift test` the server's handlers share
    /// the cooperative thread pool with synchronous tests of other suites, which can hold
    /// both threads of a two-core machine for a minute; `URLSession.shared` gives up after
    /// 60 seconds whatever the request's own timeout says.
    static let session: URLSession = {
        let configuration = URLSessionConfiguration.default
        configuration.timeoutIntervalForRequest = 900
        configuration.timeoutIntervalForResource = 1_800
        return URLSession(configuration: configuration)
    }()

    /// A running server and the task that runs it.
    struct Running {
        let server: OpenAIServer
        let port: Int
        let task: Task<Void, Error>

        func url(_ path: String) -> URL { URL(string: "http://127.0.0.1:\(port)\(path)")! }

        func stop() async {
            task.cancel()
            _ = try? await task.value
        }

        /// Sends a request; returns the status, the body and the headers.
        func send(_ path: String, json: Any? = nil, body: Data? = nil, key: String? = nil, method: String? = nil)
            async throws -> (status: Int, body: Data, headers: [String: String])
        {
            var request = URLRequest(url: url(path))
            request.timeoutInterval = 900
            if let json { request.httpBody = try JSONSerialization.data(withJSONObject: json) }
            if let body { request.httpBody = body }
            request.httpMethod = method ?? (request.httpBody == nil ? "GET" : "POST")
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            if let key { request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization") }
            let (data, response) = try await OpenAIServerTests.session.data(for: request)
            let http = response as! HTTPURLResponse
            var headers: [String: String] = [:]
            for (name, value) in http.allHeaderFields { headers["\(name)"] = "\(value)" }
            return (http.statusCode, data, headers)
        }

        func object(_ path: String, json: Any? = nil, key: String? = nil) async throws -> (Int, [String: Any]) {
            let (status, data, _) = try await send(path, json: json, key: key)
            return (status, try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:])
        }
    }

    static func start(_ configuration: OpenAIServer.Configuration) async throws -> Running {
        let model = try ModelLoader.load(from: modelURL!, backend: BLASBackend(configuration: BackendConfiguration(threadCount: 2)))
        var configuration = configuration
        configuration.port = 0
        let server = try OpenAIServer(model: model, configuration: configuration)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let task = Task { try await server.run(gracefulShutdownSignals: []) { continuation.yield($0) } }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())
        return Running(server: server, port: port, task: task)
    }

    static var question: [String: Any] {
        [
            "messages": [["role": "user", "content": "What is the capital of France?"]], "temperature": 0,
        ]
    }

    /// The `data:` payloads of a server-sent event stream.
    static func events(_ data: Data) -> [String] {
        String(decoding: data, as: UTF8.self).components(separatedBy: "\n\n").compactMap { event in
            event.hasPrefix("data: ") ? String(event.dropFirst(6)) : nil
        }
    }

    @Test(.enabled(if: enabled, "SmolLM2-135M-Instruct is not in the cache"))
    func chatAndCompletionsAnswerInOpenAIsForm() async throws {
        let running = try await Self.start(.init(modelID: "smollm2", scheduler: .init(slotCount: 2, context: 1024)))
        defer { Task { await running.stop() } }
        let (status, chat) = try await running.object("/v1/chat/completions", json: Self.question)
        #expect(status == 200)
        #expect(chat["object"] as? String == "chat.completion" && chat["model"] as? String == "smollm2")
        let choice = try #require((chat["choices"] as? [[String: Any]])?.first)
        let message = try #require(choice["message"] as? [String: Any])
        #expect(message["content"] as? String == "The capital of France is Paris.")
        #expect(choice["finish_reason"] as? String == "stop")
        let usage = try #require(chat["usage"] as? [String: Any])
        let prompt = try #require(try running.server.model.chatPromptTokens([.user("What is the capital of France?")]))
        #expect(usage["prompt_tokens"] as? Int == prompt.count && usage["completion_tokens"] as? Int == 7)
        #expect(usage["total_tokens"] as? Int == prompt.count + 7)

        // Streaming: the same text in chunks, a finish chunk with usage, a usage chunk, [DONE].
        var streaming = Self.question
        streaming["stream"] = true
        streaming["stream_options"] = ["include_usage": true]
        let (streamStatus, data, headers) = try await running.send("/v1/chat/completions", json: streaming)
        #expect(streamStatus == 200)
        #expect(headers["Content-Type"]?.hasPrefix("text/event-stream") == true)
        let events = Self.events(data)
        #expect(events.last == "[DONE]")
        let chunks = try events.dropLast().map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        let text = chunks.compactMap { (($0["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any])?["content"] as? String }
            .joined()
        #expect(text == "The capital of France is Paris.")
        #expect(chunks.allSatisfy { $0["object"] as? String == "chat.completion.chunk" })
        #expect((chunks.last?["choices"] as? [Any])?.isEmpty == true && chunks.last?["usage"] != nil)
        let finish = chunks[chunks.count - 2]
        #expect((finish["choices"] as? [[String: Any]])?.first?["finish_reason"] as? String == "stop")
        #expect((chunks.last?["usage"] as? [String: Any])?["completion_tokens"] as? Int == 7)
        #expect(chunks.dropLast().allSatisfy { $0["usage"] == nil }, "with include_usage, only the last chunk has usage")
        // Without include_usage, the finish chunk carries the usage.
        streaming["stream_options"] = nil
        let plain = try Self.events(await running.send("/v1/chat/completions", json: streaming).body).dropLast()
            .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect((plain.last?["usage"] as? [String: Any])?["completion_tokens"] as? Int == 7)

        // Stop strings and max_tokens.
        var stopped = Self.question
        stopped["stop"] = ["Paris"]
        let (_, stopChat) = try await running.object("/v1/chat/completions", json: stopped)
        let stopChoice = try #require((stopChat["choices"] as? [[String: Any]])?.first)
        #expect((stopChoice["message"] as? [String: Any])?["content"] as? String == "The capital of France is ")
        var short = Self.question
        short["max_tokens"] = 3
        let (_, shortChat) = try await running.object("/v1/chat/completions", json: short)
        #expect((shortChat["choices"] as? [[String: Any]])?.first?["finish_reason"] as? String == "length")
        #expect((shortChat["usage"] as? [String: Any])?["completion_tokens"] as? Int == 3)

        // A text completion with token ids as the prompt, and log-probabilities.
        let ids = running.server.model.tokenizer!.encode("Once upon a time")
        let (completionStatus, completion) = try await running.object(
            "/v1/completions", json: ["prompt": ids, "max_tokens": 5, "temperature": 0, "logprobs": 2])
        #expect(completionStatus == 200)
        let completionChoice = try #require((completion["choices"] as? [[String: Any]])?.first)
        let logprobs = try #require(completionChoice["logprobs"] as? [String: Any])
        #expect((logprobs["tokens"] as? [String])?.joined() == completionChoice["text"] as? String)
        #expect((logprobs["top_logprobs"] as? [[String: Double]])?.allSatisfy { $0.count == 2 } == true)

        // JSON output parses.
        let json: [String: Any] = [
            "messages": [["role": "user", "content": "Describe a cat as JSON with the keys name and age."]],
            "response_format": ["type": "json_object"], "max_tokens": 80, "temperature": 0.7, "seed": 7,
        ]
        let (_, jsonChat) = try await running.object("/v1/chat/completions", json: json)
        #expect((jsonChat["choices"] as? [[String: Any]])?.first?["finish_reason"] as? String == "stop")
        let jsonText = try #require(
            ((jsonChat["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String)
        #expect((try? JSONSerialization.jsonObject(with: Data(jsonText.utf8))) is [String: Any], "\(jsonText)")

        // Models, tokenize, detokenize.
        let (_, models) = try await running.object("/v1/models")
        #expect((models["data"] as? [[String: Any]])?.first?["id"] as? String == "smollm2")
        let (_, tokens) = try await running.object("/tokenize", json: ["content": "Hello world"])
        let tokenIDs = try #require(tokens["tokens"] as? [Int])
        #expect(tokenIDs == running.server.model.tokenizer!.encode("Hello world"))
        let (_, text2) = try await running.object("/detokenize", json: ["tokens": tokenIDs])
        #expect(text2["content"] as? String == "Hello world")
        let (_, special) = try await running.object("/tokenize", json: ["content": "<|im_end|>"])
        #expect((special["tokens"] as? [Int])?.count ?? 0 > 1, "user text never becomes a control token")
    }

    @Test(.enabled(if: enabled, "SmolLM2-135M-Instruct is not in the cache"))
    func errorsHaveOpenAIsFormAndStatus() async throws {
        let running = try await Self.start(
            .init(apiKeys: ["secret"], maxBodySize: 10_000, scheduler: .init(slotCount: 1, context: 256, queueLimit: 0)))
        defer { Task { await running.stop() } }
        func error(_ path: String, json: Any? = nil, body: Data? = nil, key: String? = "secret", method: String? = nil)
            async throws -> (Int, [String: Any], [String: String])
        {
            let (status, data, headers) = try await running.send(path, json: json, body: body, key: key, method: method)
            let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
            return (status, try #require(object?["error"] as? [String: Any], "\(String(decoding: data, as: UTF8.self))"), headers)
        }
        let (noKey, noKeyError, _) = try await error("/v1/models", key: nil)
        #expect(noKey == 401 && noKeyError["type"] as? String == "authentication_error")
        #expect(try await error("/v1/models", key: "secreT").0 == 401)
        #expect(try await running.send("/health").status == 200, "health needs no key")
        #expect(try await running.send("/v1/models", key: "secret").status == 200)

        let (badJSON, badJSONError, _) = try await error("/v1/chat/completions", body: Data("{\"messages\": [".utf8))
        #expect(badJSON == 400 && badJSONError["type"] as? String == "invalid_request_error")
        let (missing, missingError, _) = try await error("/v1/chat/completions", json: ["temperature": 0])
        #expect(missing == 400 && (missingError["message"] as? String)?.contains("messages") == true)
        var hot = Self.question
        hot["temperature"] = -1
        let (badTemperature, temperatureError, _) = try await error("/v1/chat/completions", json: hot)
        #expect(badTemperature == 400 && temperatureError["param"] as? String == "temperature")
        var two = Self.question
        two["n"] = 2
        #expect(try await error("/v1/chat/completions", json: two).0 == 400)
        let long = String(repeating: "word ", count: 1_000)
        let (tooLong, tooLongError, _) = try await error("/v1/completions", json: ["prompt": long])
        #expect(tooLong == 400 && tooLongError["code"] as? String == "context_length_exceeded")
        let (huge, _, _) = try await error("/v1/completions", body: Data(repeating: 0x20, count: 20_000))
        #expect(huge == 413)
        #expect(try await error("/v1/nothing").0 == 404)

        // The one slot busy and no queue: 429 with Retry-After.
        var endless = Self.question
        endless["max_tokens"] = 200
        endless["ignore_eos"] = true
        let busy = Task { try await running.send("/v1/chat/completions", json: endless, key: "secret") }
        while running.server.scheduler.status.busySlots == 0 { try await Task.sleep(for: .milliseconds(10)) }
        let (overloaded, overloadedError, headers) = try await error("/v1/chat/completions", json: Self.question)
        #expect(overloaded == 429 && overloadedError["type"] as? String == "rate_limit_error")
        #expect(headers["Retry-After"] == "1")
        #expect(try await busy.value.status == 200)
    }

    @Test(.enabled(if: enabled, "SmolLM2-135M-Instruct is not in the cache"))
    func aClientThatLeavesFreesItsSlotAndDrainingRefuses() async throws {
        let running = try await Self.start(.init(scheduler: .init(slotCount: 1, context: 2048)))
        defer { Task { await running.stop() } }
        var endless = Self.question
        endless["max_tokens"] = 1_900
        endless["ignore_eos"] = true
        endless["stream"] = true
        // A raw connection: read the first events, then close it.
        let body = try JSONSerialization.data(withJSONObject: endless)
        let port = running.port
        let received = try await RawClient.onOwnThread {
            try RawClient.post(port: port, path: "/v1/chat/completions", body: body, readBytes: 1_000)
        }
        #expect(received.contains("data: "))
        // The next write after the close fails and cancels the request. A generous deadline
        // for loaded machines; the step count shows the 1,900 tokens were not generated.
        let deadline = ContinuousClock.now + .seconds(300)
        while running.server.scheduler.status.busySlots > 0, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        let status = running.server.scheduler.status
        #expect(status.busySlots == 0)
        #expect(status.steps < 1_800, "cancelled long before 1,900 tokens: \(status.steps) steps")
        let (_, metrics, _) = try await running.send("/metrics")
        #expect(String(decoding: metrics, as: UTF8.self).contains("llama_slots_busy 0"))

        // Draining: health and new requests answer 503.
        let drained = Task { await running.server.drain() }
        await drained.value
        #expect(try await running.send("/health").status == 503)
        let (refused, _, _) = try await running.send("/v1/chat/completions", json: Self.question)
        #expect(refused == 503)
    }
}

/// A bare HTTP/1.1 client that sends a request, reads some bytes and closes the
/// connection without reading the rest: a client that goes away.
enum RawClient {
    /// Runs blocking socket calls on a thread of their own, so that they do not hold one of
    /// the cooperative pool's threads the server's handlers need.
    static func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }

    static func post(port: Int, path: String, body: Data, readBytes: Int) throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
        let head = "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n"
        let request = Data(head.utf8) + body
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        var received = [UInt8](repeating: 0, count: readBytes), total = 0
        while total < readBytes {
            let n = received.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + total, readBytes - total, 0) }
            if n <= 0 { break }
            total += n
        }
        return String(decoding: received[..<total], as: UTF8.self)
    }
}
