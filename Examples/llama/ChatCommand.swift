import ArgumentParser
import CLineEditing
import Foundation
import LLM
import ModelFormats
import Tokenizers

struct ChatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Talk with a chat model; the conversation stays in the KV cache between turns.",
        discussion: """
            Type a message and press return. The conversation is written with the model file's own chat template \
            (for a file without one, the built-in format of its architecture).

            At a terminal: the arrow keys edit the line and bring back earlier ones; Ctrl-C stops the answer being \
            written, clears a line being typed, and on an empty line ends the chat (as does Ctrl-D). When the \
            conversation outgrows the context, its oldest turns are dropped (the system prompt is kept), and you are \
            told. Standard input may be piped instead: each line is a message.

            \(ChatInput.commandList)

            Examples:
              llama chat
              llama chat -m yi-6b-chat.Q4_0.gguf --system "You are a concise assistant."
              llama chat -m Qwen2.5-0.5B-Instruct-Q4_K_M.gguf --tools tools.json
              printf 'Hi!\\nWhat did I just say?\\n' | llama chat --temperature 0
            """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var sampling: SamplingOptions

    @Option(help: "A system prompt.")
    var system: String?

    @Option(help: """
        The chat template instead of the model's: a built-in format (llama2, chatml, mistral, gemma), or a file \
        holding a Jinja template (a .jinja file, a GGUF file's tokenizer.chat_template, a tokenizer_config.json's \
        chat_template).
        """)
    var template: String?

    @Option(help: "A JSON file with tools the model may call (OpenAI's form: a list, or an object with \"tools\"); calls in replies are shown.")
    var tools: String?

    func run() async throws {
        try await reportingErrors {
            let model = try modelOptions.load()
            var parameters = try sampling.parameters(model: modelOptions)
            parameters.maxTokens = sampling.maxTokens
            let session = try ChatSession(
                model: model, format: try template.map(Self.format), systemPrompt: system,
                tools: try tools.map(Self.tools) ?? [], parameters: parameters)
            modelOptions.noteIfBaseModel(model)
            let input = LineInput()
            if input.interactive {
                printError("Chatting with \(model.name) (\(session.format)). /help for commands; Ctrl-C stops an answer, Ctrl-C on an empty line or Ctrl-D ends.")
            }
            while true {
                let line: String
                switch input.read() {
                case let .line(text): line = text
                case .end: return
                case .interrupted: continue
                }
                let command: ChatInput
                do { command = try ChatInput(line) } catch {
                    // A script's mistake ends it; at the terminal, the user types again.
                    guard input.interactive else { throw error }
                    printError("llama: \(error)")
                    continue
                }
                switch command {
                case .empty: continue
                case .exit: return
                case .help: printError(ChatInput.commandList)
                case .reset:
                    await session.reset(systemPrompt: system)
                    printError("(conversation reset)")
                case let .system(text):
                    await session.reset(systemPrompt: text)
                    printError("(new system prompt; conversation reset)")
                case let .save(path):
                    let url = URL(fileURLWithPath: NSString(string: path).expandingTildeInPath)
                    try await recovering(input) {
                        try Self.save(await session.messages, to: url)
                        printError("(\(await session.messages.count) messages saved to \(url.path))")
                    }
                case let .load(path):
                    let url = URL(fileURLWithPath: NSString(string: path).expandingTildeInPath)
                    try await recovering(input) {
                        let messages = try Self.load(url)
                        await session.replaceMessages(with: messages)
                        printError("(\(messages.count) messages loaded from \(url.path))")
                    }
                case let .message(text):
                    try await recovering(input) { try await turn(session, text, input: input) }
                }
            }
        }
    }

    /// Runs `body`; at the terminal an error is reported and the chat goes on (a message
    /// too long for the context, a file that cannot be read), in a script it ends the chat.
    func recovering(_ input: LineInput, _ body: () async throws -> Void) async throws {
        do { try await body() } catch {
            guard input.interactive else { throw error }
            printError("llama: error: \(error)")
        }
    }

    /// Sends a message and writes the reply as it comes; Ctrl-C stops it.
    func turn(_ session: ChatSession, _ text: String, input: LineInput) async throws {
        let reply = Task {
            var info: GenerationInfo? = nil
            for try await event in await session.streamResponse(to: text) {
                if let text = event.chunk { writeOutput(text) }
                if let summary = event.info { info = summary }
            }
            return info
        }
        let watcher = input.interactive ? Task {
            while !Task.isCancelled {
                if le_take_interrupt() != 0 { reply.cancel(); return }
                try? await Task.sleep(for: .milliseconds(20))
            }
        } : nil
        defer { watcher?.cancel() }
        let info = try await reply.value
        writeOutput("\n")
        let dropped = await session.droppedMessageCount
        if dropped > 0 {
            printError("(the conversation outgrew the context: its \(dropped) oldest messages were dropped, the system prompt kept)")
        }
        if let info, info.stopReason == .cancelled {
            printError(info.generatedTokens.isEmpty ? "(stopped before the reply began; the message is not part of the conversation)" : "(stopped)")
        }
        if let info, info.stopReason == .contextFull { printError("(the reply filled the context; the next message drops the oldest turns)") }
        if let calls = await session.messages.last?.toolCalls, !calls.isEmpty {
            for call in calls { printError("(tool call \(call.id ?? ""): \(call.name)(\(call.arguments)))") }
        }
        if let info, input.interactive {
            printError(String(
                format: "(%d new prompt tokens, %.1f tokens/s; %d generated, %.1f tokens/s)",
                info.processedPromptTokenCount, info.promptTokensPerSecond, info.generatedTokens.count,
                info.generationTokensPerSecond))
        }
    }

    /// `--template`: a built-in format's name, or a file with a template.
    static func format(_ argument: String) throws -> ChatFormat {
        if let builtIn = ChatTemplate(rawValue: argument.lowercased()) { return ChatFormat(builtIn: builtIn) }
        guard FileManager.default.fileExists(atPath: argument) else {
            throw ValidationError(
                "--template: '\(argument)' is neither a built-in format (\(ChatTemplate.allCases.map(\.rawValue).joined(separator: ", "))) nor a file")
        }
        let (source, _, _) = try TemplateCommand.load(argument)
        do { return try ChatFormat(templateSource: source) } catch { throw ValidationError("\(argument): \(error)") }
    }

    static func tools(_ path: String) throws -> [ToolDefinition] {
        do { return try ToolDefinition.list(json: FileBytes.readRegularFile(URL(fileURLWithPath: path))) } catch {
            throw ValidationError("--tools \(path): \(error)")
        }
    }

    /// Writes the conversation as OpenAI's `messages` list, whole or not at all.
    static func save(_ messages: [ChatMessage], to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .withoutEscapingSlashes]
        let writer = try AtomicFileWriter(destination: url, overwrite: true)
        try writer.write(Array(encoder.encode(messages)) + [0x0A])
        try writer.commit()
    }

    /// A conversation saved by `/save` (or any list of OpenAI chat messages, or an object
    /// with `"messages"`).
    static func load(_ url: URL) throws -> [ChatMessage] {
        let data = try FileBytes.readRegularFile(url)
        struct Wrapped: Decodable { let messages: [ChatMessage] }
        do {
            if data.first(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }) == UInt8(ascii: "[") {
                return try JSONDecoder().decode([ChatMessage].self, from: data)
            }
            return try JSONDecoder().decode(Wrapped.self, from: data).messages
        } catch let error as DecodingError {
            throw ValidationError("\(url.path): not a list of chat messages: \(error.summary)")
        }
    }
}

/// A line typed into the chat: a message, or one of the commands.
enum ChatInput: Equatable {
    case empty
    case message(String)
    case help, reset, exit
    case system(String)
    case save(String)
    case load(String)

    static let commandList = """
        Commands:
          /help          this list
          /reset         forget the conversation (the system prompt stays)
          /system TEXT   start over with a new system prompt
          /save FILE     save the conversation (a JSON list of messages)
          /load FILE     continue a saved conversation
          /exit          end the chat (also /quit, /bye)
        A message that starts with / is sent by doubling it: //etc/hosts sends /etc/hosts.
        """

    /// Reads a line; an unknown command, or one without its argument, is an error.
    init(_ line: String) throws {
        let text = line.trimmingCharacters(in: .whitespaces)
        if text.isEmpty {
            self = .empty
            return
        }
        guard text.hasPrefix("/") else {
            self = .message(text)
            return
        }
        if text.hasPrefix("//") {
            self = .message(String(text.dropFirst()))
            return
        }
        let name = text.prefix { !$0.isWhitespace }
        let argument = text.dropFirst(name.count).trimmingCharacters(in: .whitespaces)
        func needing(_ what: String, _ make: (String) -> ChatInput) throws -> ChatInput {
            guard !argument.isEmpty else { throw ValidationError("\(name) needs \(what)") }
            return make(argument)
        }
        func alone(_ input: ChatInput) throws -> ChatInput {
            guard argument.isEmpty else { throw ValidationError("\(name) takes no argument") }
            return input
        }
        switch name {
        case "/help", "/?": self = try alone(.help)
        case "/reset", "/clear": self = try alone(.reset)
        case "/exit", "/quit", "/bye": self = try alone(.exit)
        case "/system": self = try needing("a system prompt", ChatInput.system)
        case "/save": self = try needing("a file name", ChatInput.save)
        case "/load": self = try needing("a file name", ChatInput.load)
        default: throw ValidationError("unknown command \(name); /help lists the commands (start a message with // to send a /)")
        }
    }
}

/// Lines from the terminal, edited with libedit, or from piped standard input.
final class LineInput {
    enum Read { case line(String), end, interrupted }

    let interactive = isatty(0) != 0 && isatty(1) != 0
    private let editor: OpaquePointer?

    init() {
        editor = interactive ? le_open("llama") : nil
        if interactive { le_catch_interrupts() }
    }

    deinit { le_close(editor) }

    func read() -> Read {
        guard let editor else { return readLine(strippingNewline: true).map(Read.line) ?? .end }
        _ = le_take_interrupt()
        var pointer: UnsafeMutablePointer<CChar>? = nil
        switch le_read(editor, "> ", &pointer) {
        case LE_LINE:
            defer { free(pointer) }
            guard let pointer else { return .end }
            le_remember(editor, pointer)
            return .line(String(cString: pointer))
        case LE_INTERRUPTED:
            writeOutput("^C\n")
            return .interrupted
        case LE_INTERRUPTED_EMPTY:
            writeOutput("\n")
            return .end
        default:
            writeOutput("\n")
            return .end
        }
    }
}
