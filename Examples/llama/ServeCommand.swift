import ArgumentParser
import Foundation
import LLM
import LLMServer
import Logging

/// `llama serve`: an OpenAI-compatible HTTP server with continuous batching.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the model over HTTP with OpenAI's API (chat and text completions, streaming).",
        discussion: """
            Routes: POST /v1/chat/completions, POST /v1/completions, GET /v1/models, GET /health, \
            GET /metrics (Prometheus), POST /tokenize, POST /detokenize. Requests generate together \
            in --parallel slots (continuous batching); more wait in a queue of --queue-limit, and \
            beyond it get 429. SIGTERM or Ctrl-C drains: /health answers 503, running requests may \
            finish for --shutdown-timeout seconds.

            Example:
              llama serve -m model.gguf --port 8080 --parallel 4
              curl http://127.0.0.1:8080/v1/chat/completions -H 'Content-Type: application/json' \\
                -d '{"messages": [{"role": "user", "content": "Hello"}]}'
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "The address to listen on.")
    var host: String = "127.0.0.1"

    @Option(help: "The port to listen on (0: any free port, printed when ready).")
    var port: Int = 8080

    @Option(name: .long, help: "How many requests generate at once (slots, each with its own KV cache of --context tokens).")
    var parallel: Int = 4

    @Option(help: "The most rows of one forward pass: one per generating slot, the rest for prompts.")
    var batchSize: Int = 256

    @Option(help: "The most requests waiting for a slot; more get 429 with Retry-After.")
    var queueLimit: Int = 64

    @Option(help: "An API key clients must send as 'Authorization: Bearer KEY' (repeatable). Default: none needed; also read from LLAMA_API_KEY.")
    var apiKey: [String] = []

    @Option(help: "The model id in /v1/models and in responses (default: the model file's name without its extension).")
    var alias: String?

    @Option(help: "The largest request body accepted, in bytes.")
    var maxBodySize: Int = 4 << 20

    @Option(help: "Seconds a shutdown waits for running requests before cancelling them.")
    var shutdownTimeout: Double = 30

    @Flag(help: "Do not reuse the beginning of a prompt that a free slot still holds.")
    var noPrefixReuse = false

    func run() async throws {
        try await reportingErrors {
            guard (1...256).contains(parallel) else { throw ValidationError("--parallel must be in 1...256, not \(parallel)") }
            guard (0...65535).contains(port) else { throw ValidationError("--port must be in 0...65535, not \(port)") }
            guard shutdownTimeout >= 0, shutdownTimeout.isFinite else { throw ValidationError("--shutdown-timeout must not be negative") }
            let model = try modelOptions.load()
            ToolLogging.setUp(level: modelOptions.backendOptions.verbose ? .debug : .info)
            var keys = apiKey
            if let key = ProcessInfo.processInfo.environment["LLAMA_API_KEY"], !key.isEmpty { keys.append(key) }
            let configuration = OpenAIServer.Configuration(
                host: host, port: port,
                modelID: alias ?? URL(fileURLWithPath: modelOptions.modelPath).deletingPathExtension().lastPathComponent, apiKeys: keys, maxBodySize: maxBodySize,
                shutdownDeadline: .milliseconds(Int(shutdownTimeout * 1000)),
                scheduler: BatchScheduler.Configuration(
                    slotCount: parallel, context: modelOptions.context, batchSize: max(batchSize, parallel), queueLimit: queueLimit,
                    cacheType: try modelOptions.cacheElementType(), reusesPrefixes: !noPrefixReuse))
            let server = try OpenAIServer(model: model, configuration: configuration, logger: Logger(label: "llama.serve"))
            let host = host
            try await server.run { port in
                printError(
                    "llama: serving \(server.modelID) on http://\(host):\(port) (\(configuration.scheduler.slotCount) slots of \(server.scheduler.context) tokens)")
            }
        }
    }
}
