#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import ModelFormats
import TensorCore
import Testing
import TestSupport

/// The tool on hostile or mistaken input and when it is interrupted: files it writes
/// appear whole or not at all, no temporary file outlives it, and every mistake is one
/// line naming what was wrong.
@Suite(.serialized)
struct HardeningToolTests {
    static let folder: URL = try! Fixtures.temporaryFolder()

    /// A model large enough that writing it as f32 takes a while (about 140 MB).
    static let largeModel = ToolRunner.randomModel(
        at: folder.appendingPathComponent("large-f16.gguf").path, width: 384, layers: 6, heads: 6, kvHeads: 2, feedForward: 1024,
        vocabulary: 32000)

    /// A legacy llama2.c checkpoint of zeros (167 MB, sparse): dim 512, 8 layers,
    /// 8 heads, the 32,000-token vocabulary of the Llama 2 tokenizer.
    static let zeroCheckpoint: String = {
        let (dim, hidden, layers, heads, kvHeads, vocabulary, sequence) = (512, 1376, 8, 8, 8, 32000, 256)
        let floats = vocabulary * dim + layers * (2 * dim + 4 * dim * dim + 3 * dim * hidden) + dim + sequence * (dim / heads)
        let url = folder.appendingPathComponent("zero.bin")
        var header = Data()
        for field in [dim, hidden, layers, heads, kvHeads, vocabulary, sequence] {
            withUnsafeBytes(of: Int32(field).littleEndian) { header.append(contentsOf: $0) }
        }
        try! header.write(to: url)
        let handle = try! FileHandle(forWritingTo: url)
        try! handle.truncate(atOffset: UInt64(28 + 4 * floats))
        try! handle.close()
        return url.path
    }()

    /// The hidden temporary files beside `output`.
    static func partialFiles(of output: URL) -> [String] {
        let prefix = ".\(output.lastPathComponent).partial-"
        return ((try? FileManager.default.contentsOfDirectory(atPath: output.deletingLastPathComponent().path)) ?? [])
            .filter { $0.hasPrefix(prefix) }
    }

    /// Starts the tool, waits until its temporary file for `output` holds some bytes,
    /// sends `signal`, and checks that the process died of it leaving neither the
    /// temporary file nor `output`.
    /// A crash signal goes on to Swift's backtracer where it is on, which reports the
    /// crash and exits with status 1, so then only a failure is expected.
    func interrupt(_ arguments: [String], output: URL, signal: Int32, crash: Bool = false) throws {
        try? FileManager.default.removeItem(at: output)
        let process = Process()
        process.executableURL = ToolRunner.executable
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        var written = 0
        while process.isRunning, Date() < deadline {
            if let name = Self.partialFiles(of: output).first,
               let size = try? FileManager.default.attributesOfItem(atPath: output.deletingLastPathComponent().appendingPathComponent(name).path)[.size] as? Int,
               size > 0 {
                written = size
                break
            }
            usleep(200)
        }
        #expect(written > 0, "\(arguments[0]) ended or took over 60 s before its temporary file held any bytes")
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
        if crash {
            #expect(process.terminationReason == .uncaughtSignal || process.terminationStatus != 0)
        } else {
            #expect(process.terminationReason == .uncaughtSignal && process.terminationStatus == signal,
                    "\(arguments[0]), signal \(signal): ended with \(process.terminationReason) \(process.terminationStatus)")
        }
        #expect(Self.partialFiles(of: output).isEmpty, "signal \(signal) after \(written) bytes")
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }

    @Test(arguments: [SIGINT, SIGTERM, SIGHUP])
    func interruptedQuantizeLeavesNoFile(signal: Int32) throws {
        let output = Self.folder.appendingPathComponent("interrupted-f32.gguf")
        try interrupt(["quantize", Self.largeModel, output.path, "f32"], output: output, signal: signal)
    }

    @Test(arguments: [SIGSEGV, SIGABRT])
    func crashDuringQuantizeLeavesNoFile(signal: Int32) throws {
        let output = Self.folder.appendingPathComponent("crashed-f32.gguf")
        try interrupt(["quantize", Self.largeModel, output.path, "f32"], output: output, signal: signal, crash: true)
    }

    @Test(arguments: [SIGINT, SIGTERM, SIGHUP])
    func interruptedConvertLeavesNoFile(signal: Int32) throws {
        let output = Self.folder.appendingPathComponent("interrupted-convert.gguf")
        try interrupt(
            ["convert", Self.zeroCheckpoint, output.path, "--type", "f16", "--tokenizer", Fixtures.url("shared/llama2-tokenizer.model").path],
            output: output, signal: signal)
    }

    /// A temporary file left by a process that no longer exists (killed with SIGKILL,
    /// which nothing can catch) is removed by the next run writing the same file.
    @Test func staleTemporaryFileIsRemovedByTheNextRun() throws {
        let output = Self.folder.appendingPathComponent("stale-q8_0.gguf")
        let process = Process()
        process.executableURL = ToolRunner.executable
        process.arguments = ["quantize", Self.largeModel, output.path, "f32"]
        process.standardError = FileHandle.nullDevice
        try process.run()
        while process.isRunning, Self.partialFiles(of: output).isEmpty { usleep(200) }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let stale = Self.partialFiles(of: output)
        #expect(stale.count == 1 && stale[0].contains("-\(process.processIdentifier)-"), "\(stale)")
        // Another name's file is not this run's business.
        let other = Self.folder.appendingPathComponent(".other.gguf.partial-\(process.processIdentifier)-1")
        try Data().write(to: other)
        defer { try? FileManager.default.removeItem(at: other) }

        let result = try ToolRunner.run(["quantize", LlamaToolTests.tinyModel, output.path, "q8_0"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(Self.partialFiles(of: output).isEmpty)
        #expect(FileManager.default.fileExists(atPath: other.path))
    }

    /// `-t 0` and negative counts are errors; more threads than processors are capped,
    /// with a note.
    @Test func threadsAreBounded() throws {
        let zero = try ToolRunner.run(["generate", "-m", LlamaToolTests.tinyModel, "-n", "2", "-t", "0", "hello"])
        #expect(zero.status != 0 && zero.standardError.contains("--threads must be at least 1, not 0"), "\(zero.standardError)")
        let negative = try ToolRunner.run(["generate", "-m", LlamaToolTests.tinyModel, "-n", "2", "--threads=-4", "hello"])
        #expect(negative.status != 0 && negative.standardError.contains("--threads must be at least 1, not -4"), "\(negative.standardError)")
        let nproc = Process()
        nproc.executableURL = URL(fileURLWithPath: "/usr/bin/nproc")  // the affinity mask's processors
        let nprocOutput = Pipe()
        nproc.standardOutput = nprocOutput
        try nproc.run()
        let processors = Int(String(decoding: nprocOutput.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)) ?? ProcessInfo.processInfo.activeProcessorCount
        nproc.waitUntilExit()
        let start = Date()
        let many = try ToolRunner.run(["generate", "-m", LlamaToolTests.tinyModel, "-n", "2", "-t", "1000", "--temperature", "0", "hello"])
        #expect(many.status == 0, "\(many.standardError)")
        #expect(many.standardError.contains("--threads 1000 is more than the \(processors) processor"), "\(many.standardError)")
        #expect(Date().timeIntervalSince(start) < 30)
        let (bench, object) = try ToolRunner.json(["bench", "-m", LlamaToolTests.tinyModel, "-p", "4", "-n", "0", "-r", "1", "-t", "1000", "--json", "--no-probe"])
        #expect(bench.status == 0, "\(bench.standardError)")
        #expect((object as? [[String: Any]])?.first?["n_threads"] as? Int == processors)
        // Processors outside the affinity mask do not count (taskset, cpusets).
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/taskset") {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
            process.arguments = ["-c", "0", ToolRunner.executable.path, "generate", "-m", LlamaToolTests.tinyModel, "-n", "1", "-t", "2", "hello"]
            let error = Pipe()
            process.standardError = error
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            let message = String(decoding: error.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 0 && message.contains("--threads 2 is more than the 1 processor available; using 1"), "\(message)")
        }
    }

    /// Sampling values out of range name the option; an empty prompt says so.
    @Test func badSamplingValuesNameTheOption() throws {
        for (option, value, message) in [
            ("--frequency-penalty", "nan", "--frequency-penalty nan: must be a finite number"),
            ("--presence-penalty", "inf", "--presence-penalty inf: must be a finite number"),
            ("--repeat-penalty", "0", "--repeat-penalty 0.0: must be a finite number above 0"),
            ("--top-p", "nan", "--top-p nan: must be in (0, 1]"),
            ("--context", "0", "--context 0: must be positive"),
        ] {
            let result = try ToolRunner.run(["generate", "-m", LlamaToolTests.tinyModel, "-n", "2", option, value, "hello"])
            #expect(result.status == 1 && result.standardError == "llama: error: \(message)\n", "\(option) \(value): \(result.standardError)")
            #expect(!result.standardError.contains("invalid model configuration"))
        }
        let empty = try ToolRunner.run(["generate", "-m", LlamaToolTests.tinyModel, "-n", "2", "--no-bos", ""])
        #expect(empty.status == 1 && empty.standardError == "llama: error: the prompt is empty: give at least one token (text, or ids)\n",
                "\(empty.standardError)")
    }

    /// A model whose weights hold NaN stops with an error naming the position, instead
    /// of printing `⁇` tokens.
    @Test func nonFiniteLogitsStopGeneration() throws {
        let source = try GGUFFile(contentsOf: URL(fileURLWithPath: LlamaToolTests.tinyModel))
        var writer = GGUFWriter()
        for (key, value) in source.metadata.entries { writer.set(key, value) }
        for info in source.tensorInfos {
            var tensor = try source.tensor(info)
            if info.name == "output_norm.weight" {
                tensor = try Tensor(shape: tensor.shape, values: [Float](repeating: .nan, count: tensor.elementCount))
            }
            writer.addTensor(name: info.name, tensor)
        }
        let broken = Self.folder.appendingPathComponent("nan.gguf")
        try writer.write(to: broken, overwrite: true)
        let result = try ToolRunner.run(["generate", "-m", broken.path, "-n", "4", "--temperature", "0", "--prompt-ids", "1,2"])
        #expect(result.status == 1, "\(result.standardOutput)")
        #expect(result.standardError.contains("non-finite logits (NaN or infinity) at position 1 (the prompt's last token)"), "\(result.standardError)")
        #expect(!result.standardOutput.contains("⁇"))
    }

    /// `info` escapes control characters of keys, strings and tensor names (a file
    /// cannot add lines or send terminal escapes), and prints every UInt64 exactly.
    @Test func infoEscapesTextAndShowsLargeIntegers() throws {
        var writer = GGUFWriter()
        writer.set("general.architecture", .string("llama"))
        writer.set("general.name", .string("evil\nfake.key = 1\u{1B}[2J\u{9B}31m\u{202E}\\\"end"))
        writer.set("key\u{7}with\rbell", .uint32(1))
        writer.set("test.big", .uint64(9_223_372_036_854_775_813))
        writer.set("test.bigs", .array(.uint64([1, UInt64.max])))
        writer.set("test.names", .array(.string(["a\tb", "c"])))
        writer.addTensor(name: "t\u{1B}[31m", try Tensor(shape: [4], values: [1, 2, 3, 4]))
        let file = Self.folder.appendingPathComponent("escapes.gguf")
        try writer.write(to: file, overwrite: true)

        let text = try ToolRunner.run(["info", file.path])
        #expect(text.status == 0, "\(text.standardError)")
        let output = text.standardOutput
        #expect(output.contains(#"general.name = "evil\nfake.key = 1\u{1B}[2J\u{9B}31m\u{202E}\\\"end""#), "\(output)")
        #expect(output.contains(#"key\u{7}with\rbell = 1"#))
        #expect(output.contains("test.big = 9223372036854775813"))
        #expect(output.contains("test.bigs = [uint64 × 2: 1, 18446744073709551615]"))
        #expect(output.contains(#"test.names = [string × 2: "a\tb", "c"]"#))
        #expect(output.contains(#"t\u{1B}[31m"#))
        #expect(!output.unicodeScalars.contains { $0.properties.generalCategory == .control && $0 != "\n" })
        #expect(output.split(separator: "\n").count == 1 + 6 + 1 + 1)

        let (json, object) = try ToolRunner.json(["info", file.path, "--json"])
        #expect(json.status == 0)
        let metadata = try #require((object as? [String: Any])?["metadata"] as? [String: Any])
        #expect((metadata["test.big"] as? NSNumber)?.uint64Value == 9_223_372_036_854_775_813)
        #expect((metadata["test.bigs"] as? [NSNumber])?.map(\.uint64Value) == [1, UInt64.max])
        #expect(metadata["general.name"] as? String == "evil\nfake.key = 1\u{1B}[2J\u{9B}31m\u{202E}\\\"end")
    }

    /// Files that are not regular files are refused before they are opened (a FIFO
    /// would block `info` and `generate` forever), naming what they are.
    @Test func specialFilesAreRefused() throws {
        let fifo = Self.folder.appendingPathComponent("pipe.gguf")
        #expect(mkfifo(fifo.path, 0o600) == 0)
        defer { try? FileManager.default.removeItem(at: fifo) }
        for arguments in [["info", fifo.path], ["generate", "-m", fifo.path, "hi"], ["info", "/dev/null"], ["info", Self.folder.path]] {
            let result = try runWithTimeout(arguments, seconds: 20, unblock: fifo)
            #expect(result.status == 1, "\(arguments)")
            let what = arguments.contains("/dev/null") ? "is a character device" : arguments.contains(Self.folder.path) ? "is a folder" : "is a FIFO (named pipe)"
            #expect(result.standardError.hasPrefix("llama: error: \(arguments.last == "hi" ? fifo.path : arguments.last!): ")
                    && result.standardError.contains(what), "\(arguments): \(result.standardError)")
        }
    }

    /// A file of no supported kind says what each kind expected, instead of reading it as
    /// a llama2.c checkpoint (`header.dim: is 543516756`).
    @Test func notAModelSaysWhichFormatsWereTried() throws {
        let notes = Self.folder.appendingPathComponent("notes.txt")
        try "The quick brown fox jumps over the lazy dog, and then some more text follows".write(to: notes, atomically: true, encoding: .utf8)
        let result = try ToolRunner.run(["generate", "-m", notes.path, "hello"])
        #expect(result.status == 1)
        let message = result.standardError
        #expect(message.hasPrefix("llama: error: \(notes.path): is not a model file this library reads (GGUF, a Hugging Face folder, llama2.c): "), "\(message)")
        #expect(message.contains(#"not GGUF: it starts with 54 68 65 20 ("The "), not "GGUF""#), "\(message)")
        #expect(message.contains("not a Hugging Face model: that is a folder with config.json"))
        #expect(message.contains("not a llama2.c checkpoint: header.dim: is 543516756, expected 1 to 65536"), "\(message)")
        // A single safetensors file gets a hint.
        let safetensors = Self.folder.appendingPathComponent("model.safetensors")
        var bytes = Data()
        withUnsafeBytes(of: UInt64(2).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: Array("{}".utf8))
        try bytes.write(to: safetensors)
        let single = try ToolRunner.run(["generate", "-m", safetensors.path, "hello"])
        #expect(single.status == 1 && single.standardError.contains("it looks like a safetensors file: pass the folder that holds it with config.json"),
                "\(single.standardError)")
        // The stories260K checkpoint is still a llama2.c checkpoint.
        let stories = try ToolRunner.run(["generate", "-m", Fixtures.url("shared/stories260K.bin").path, "--prompt-ids", "1", "-n", "2"])
        #expect(stories.status == 0, "\(stories.standardError)")
    }

    /// Runs the tool; after `seconds`, opens `unblock` for writing (ending a blocked
    /// open of a FIFO for reading) and kills the tool, so a regression fails, not hangs.
    func runWithTimeout(_ arguments: [String], seconds: Double, unblock: URL) throws -> ToolRunner.Result {
        let process = Process()
        process.executableURL = ToolRunner.executable
        process.arguments = arguments
        let output = Pipe(), error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning, Date() < deadline { usleep(1000) }
        if process.isRunning {
            let descriptor = open(unblock.path, O_WRONLY | O_NONBLOCK)
            if descriptor >= 0 { close(descriptor) }
            process.terminate()
        }
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return ToolRunner.Result(
            status: process.terminationStatus, standardOutput: String(decoding: outputData, as: UTF8.self),
            standardError: String(decoding: errorData, as: UTF8.self))
    }
}
