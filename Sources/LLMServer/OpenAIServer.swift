import Foundation
import Hummingbird
import LLM
import Logging
import ServiceLifecycle
import UnixSignals
import Tokenizers

/// An OpenAI-compatible HTTP server for one model, on Hummingbird, generating with
/// continuous batching (`BatchScheduler`).
///
/// Routes: `POST /v1/chat/completions` (messages rendered with the model's chat
/// template), `POST /v1/completions`, both streaming as server-sent events when asked;
/// `GET /v1/models`, `GET /health`, `GET /metrics` (Prometheus), `POST /tokenize` and
/// `POST /detokenize` (llama.cpp's server's forms). Errors are OpenAI's error JSON.
///
/// ```swift
/// let model = try ModelLoader.load(from: url, backend: BLASBackend())
/// let server = try OpenAIServer(model: model, configuration: .init(port: 8080))
/// try await server.run()  // until SIGTERM or SIGINT, then drains
/// ```
///
/// The server keeps nothing between requests but the slots' caches, which only make a
/// repeated beginning faster: replicas behind a load balancer answer alike.
@available(macOS 14, iOS 17, tvOS 17, *)
public final class OpenAIServer: Sendable {
    /// Where the server listens and what it accepts.
    public struct Configuration: Sendable {
        public var host: String
        /// The port; 0 picks a free one (``run(onReady:)`` reports it).
        public var port: Int
        /// The model's id in `/v1/models` and in responses; the model's name when `nil`.
        public var modelID: String?
        /// When not empty, every route but `/health` needs `Authorization: Bearer KEY`
        /// with one of these keys.
        public var apiKeys: [String]
        /// The largest request body accepted, in bytes (413 beyond it).
        public var maxBodySize: Int
        /// How long a shutdown waits for running requests before cancelling them.
        public var shutdownDeadline: Duration
        /// Slots, batch size, queue limit, cache type.
        public var scheduler: BatchScheduler.Configuration

        public init(
            host: String = "127.0.0.1", port: Int = 8080, modelID: String? = nil, apiKeys: [String] = [],
            maxBodySize: Int = 4 << 20, shutdownDeadline: Duration = .seconds(30),
            scheduler: BatchScheduler.Configuration = BatchScheduler.Configuration()
        ) {
            self.host = host
            self.port = port
            self.modelID = modelID
            self.apiKeys = apiKeys
            self.maxBodySize = maxBodySize
            self.shutdownDeadline = shutdownDeadline
            self.scheduler = scheduler
        }
    }

    public let model: LanguageModel
    public let configuration: Configuration
    /// The scheduler that runs the generations.
    public let scheduler: BatchScheduler
    /// The model's id in `/v1/models` and in responses.
    public let modelID: String
    let logger: Logger
    let metrics = ServerMetrics()
    let tokenizer: any Tokenizer
    let created = Int(Date().timeIntervalSince1970)
    private let draining = DrainFlag()

    /// A server for `model`; its scheduler's slots are allocated now.
    ///
    /// - Throws: `ModelError` when the model has no tokenizer or the scheduler's
    ///   configuration is out of range.
    public init(model: LanguageModel, configuration: Configuration = Configuration(), logger: Logger = Logger(label: "swift-llama.server")) throws {
        tokenizer = try model.requireTokenizer()
        self.model = model
        self.configuration = configuration
        self.logger = logger
        modelID = configuration.modelID ?? model.name
        scheduler = try BatchScheduler(model: model, configuration: configuration.scheduler, logger: logger)
    }

    /// Serves until SIGTERM or SIGINT, then drains: `/health` answers 503, new requests
    /// are refused with 503, running ones may finish within the shutdown deadline and are
    /// cancelled after it. `onReady` is called with the port once the server listens.
    public func run(onReady: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        try await run(gracefulShutdownSignals: [.sigterm, .sigint], onReady: onReady)
    }

    /// ``run(onReady:)`` with the signals that start a graceful shutdown (none: the
    /// server stops when its task is cancelled).
    public func run(gracefulShutdownSignals: [UnixSignal], onReady: @escaping @Sendable (Int) async -> Void) async throws {
        let app = Application(
            router: makeRouter(),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "swift-llama"),
            onServerRunning: { channel in await onReady(channel.localAddress?.port ?? 0) },
            logger: logger)
        let drain = DrainService(server: self)
        // A graceful shutdown reaches the services in reverse order: first the drain, while
        // the server still answers, then the server.
        let group = ServiceGroup(
            configuration: .init(services: [app, drain], gracefulShutdownSignals: gracefulShutdownSignals, logger: logger))
        defer { scheduler.close() }
        try await group.run()
    }

    /// Stops taking requests (`/health` and new requests answer 503) and waits for the
    /// running ones, cancelling those still running at the shutdown deadline. A graceful
    /// shutdown of ``run(onReady:)`` calls it; call it yourself to take a replica out of
    /// a load balancer before stopping it.
    public func drain() async {
        draining.set()
        scheduler.shutDown()
        logger.info("shutting down: waiting for running requests", metadata: ["deadline": "\(configuration.shutdownDeadline)"])
        if await !scheduler.waitUntilIdle(timeout: configuration.shutdownDeadline) {
            logger.warning("cancelling the requests still running at the shutdown deadline")
            scheduler.cancelAll()
            _ = await scheduler.waitUntilIdle(timeout: .seconds(5))
        }
    }

    var isDraining: Bool { draining.isSet }

    // MARK: Routes

    func makeRouter() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: APIMiddleware(server: self))
        for path in ["/health", "/v1/health"] {
            router.get(RouterPath(path)) { _, _ in
                self.isDraining
                    ? jsonResponse(["status": "shutting down"], status: .serviceUnavailable) : jsonResponse(["status": "ok"])
            }
        }
        router.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(bytes: self.metrics.exposition(self.scheduler.status))))
        }
        router.get("/v1/models") { _, _ in
            jsonResponse([
                "object": "list",
                "data": [["id": self.modelID, "object": "model", "created": self.created, "owned_by": "swift-llama"]],
            ])
        }
        router.post("/v1/chat/completions") { request, _ in try await self.chatCompletion(request) }
        router.post("/v1/completions") { request, _ in try await self.completion(request) }
        router.post("/tokenize") { request, _ in try await self.tokenize(request) }
        router.post("/detokenize") { request, _ in try await self.detokenize(request) }
        return router
    }

    /// The request's body, at most ``Configuration/maxBodySize`` bytes.
    func body(_ request: Request) async throws -> Data {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > configuration.maxBodySize {
            throw APIError.tooLarge(limit: configuration.maxBodySize)
        }
        var request = request
        do {
            let buffer = try await request.collectBody(upTo: configuration.maxBodySize)
            return Data(buffer.readableBytesView)
        } catch let error as HTTPResponseError where error.status == .contentTooLarge {
            throw APIError.tooLarge(limit: configuration.maxBodySize)
        }
    }

    func tokenize(_ request: Request) async throws -> Response {
        let input = try decodeRequest(TokenizeRequest.self, from: try await body(request))
        let options = EncodingOptions(addBOS: input.addSpecial ?? false, addEOS: false, parseSpecialTokens: input.parseSpecial ?? false)
        return jsonResponse(["tokens": tokenizer.encode(input.content, options: options)])
    }

    func detokenize(_ request: Request) async throws -> Response {
        let input = try decodeRequest(DetokenizeRequest.self, from: try await body(request))
        if let bad = input.tokens.first(where: { $0 < 0 || $0 >= tokenizer.vocabularySize }) {
            throw APIError.invalidRequest("token \(bad) is outside the vocabulary of \(tokenizer.vocabularySize)", param: "tokens")
        }
        do {
            return jsonResponse(["content": try tokenizer.decode(input.tokens)])
        } catch {
            throw APIError.invalidRequest("the tokens do not decode: \(error)", param: "tokens")
        }
    }

    /// Queues a generation, turning the scheduler's refusals into API errors.
    func submit(_ prompt: [Int], _ parameters: GenerateParameters) throws -> BatchScheduler.Request {
        do {
            return try scheduler.submit(promptTokens: prompt, parameters: parameters)
        } catch let BatchSchedulerError.queueFull(limit) {
            throw APIError.overloaded("all slots are busy and \(limit) requests are waiting; retry later", retryAfter: 1)
        } catch BatchSchedulerError.shuttingDown {
            throw APIError.shuttingDown
        } catch let error as ModelError {
            throw APIError.invalidRequest("\(error)")
        }
    }
}

/// Set once when the server starts draining.
private final class DrainFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}

/// Waits for the graceful shutdown, then drains the server.
@available(macOS 14, iOS 17, tvOS 17, *)
private struct DrainService: Service {
    let server: OpenAIServer

    func run() async throws {
        try? await gracefulShutdown()
        await server.drain()
    }
}

/// Checks the API key, turns errors into OpenAI's error JSON, counts and logs requests.
@available(macOS 14, iOS 17, tvOS 17, *)
struct APIMiddleware: RouterMiddleware {
    let server: OpenAIServer

    func handle(_ request: Request, context: BasicRequestContext, next: (Request, BasicRequestContext) async throws -> Response)
        async throws -> Response
    {
        let start = ContinuousClock.now
        let path = request.uri.path
        let response: Response
        do {
            if !server.configuration.apiKeys.isEmpty, path != "/health", path != "/v1/health",
                !Self.authorized(request.headers[.authorization], keys: server.configuration.apiKeys)
            {
                throw APIError.unauthorized
            }
            response = try await next(request, context)
        } catch let error as APIError {
            response = error.response()
        } catch let error as HTTPError where error.status == .notFound {
            response = APIError.notFound(path).response()
        } catch let error as HTTPError {
            response = APIError(status: error.status, message: error.body ?? "\(error.status)", type: "invalid_request_error")
                .response()
        } catch {
            server.logger.error("request failed", metadata: ["path": "\(path)", "error": "\(error)"])
            response = APIError.server("\(error)").response()
        }
        let route = ["/v1/chat/completions", "/v1/completions", "/v1/models", "/health", "/metrics", "/tokenize", "/detokenize"]
            .contains(path) ? path : "other"
        server.metrics.request(route: route, status: response.status.code)
        if path != "/health" && path != "/metrics" {
            server.logger.info(
                "request", metadata: ["method": "\(request.method)", "path": "\(path)", "status": "\(response.status.code)",
                    "ms": "\((ContinuousClock.now - start).seconds * 1000)"])
        }
        return response
    }

    /// Whether `header` is `Bearer KEY` for one of `keys`, comparing every key in time
    /// that does not depend on where the first difference is.
    static func authorized(_ header: String?, keys: [String]) -> Bool {
        guard let header, header.hasPrefix("Bearer ") else { return false }
        let given = Array(header.dropFirst("Bearer ".count).utf8)
        var matched = false
        for key in keys {
            let expected = Array(key.utf8)
            var difference = UInt8(given.count == expected.count ? 0 : 1)
            for i in 0..<expected.count { difference |= expected[i] ^ (i < given.count ? given[i] : 0) }
            matched = matched || difference == 0
        }
        return matched
    }
}
