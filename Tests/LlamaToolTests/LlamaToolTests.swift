import Foundation
import ModelFormats
import Testing
import TestSupport

/// Each subcommand of the `llama` tool, run as a user runs it, on fixture files and
/// on a tiny random model the tool writes itself.
@Suite(.serialized)
struct LlamaToolTests {
    static let folder: URL = try! Fixtures.temporaryFolder()

    /// A tiny random model (2 layers, width 64, 300-token placeholder vocabulary), f16.
    static let tinyModel = ToolRunner.randomModel(
        at: folder.appendingPathComponent("tiny-f16.gguf").path, width: 64, layers: 2, heads: 4, kvHeads: 2, feedForward: 128,
        vocabulary: 300)

    @Test(arguments: ["", "generate", "chat", "convert", "quantize", "imatrix", "tokenize", "perplexity", "bench", "bench-matvec", "info", "random-model", "template"])
    func helpDescribesEverySubcommand(subcommand: String) throws {
        let result = try ToolRunner.run(subcommand.isEmpty ? ["--help"] : [subcommand, "--help"])
        #expect(result.status == 0)
        #expect(result.standardOutput.contains("USAGE"))
        if !subcommand.isEmpty && subcommand != "generate" { #expect(result.standardOutput.contains("Examples")) }
    }

    @Test func generateFromPromptIDsAsJSON() throws {
        let (result, object) = try ToolRunner.json([
            "generate", "-m", Fixtures.url("shared/stories260K.bin").path, "--prompt-ids", "1", "--temperature", "0", "-n", "12",
            "--json", "--backend", "naive",
        ])
        #expect(result.status == 0, "\(result.standardError)")
        let document = try #require(object as? [String: Any])
        #expect(document["prompt_ids"] as? [Int] == [1])
        // The first greedy tokens from BOS (checked against an independent forward pass).
        #expect(document["generated_ids"] as? [Int] == [461, 461, 401, 401, 401, 461, 378, 455, 473, 456, 435, 299])
        #expect((document["timings"] as? [String: Any])?["generation_tokens_per_second"] != nil)
    }

    @Test func generateStreamsTextAndTimings() throws {
        let result = try ToolRunner.run(["generate", "-m", Self.tinyModel, "--temperature", "0", "-n", "5", "hello"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardError.contains("tokens/s"))
        let piped = try ToolRunner.run(["generate", "-m", Self.tinyModel, "--temperature", "0", "-n", "5"], input: "hello")
        #expect(piped.status == 0 && piped.standardOutput == result.standardOutput)
    }

    @Test func tokenizeShowsIdsAndPieces() throws {
        let (result, object) = try ToolRunner.json([
            "tokenize", "--tokenizer", Fixtures.url("shared/llama2-tokenizer.model").path, "--json", "Hello world",
        ])
        #expect(result.status == 0)
        let document = try #require(object as? [String: Any])
        #expect(document["ids"] as? [Int] == [1, 15043, 3186])
        #expect(document["pieces"] as? [String] == ["<s>", "▁Hello", "▁world"])
    }

    @Test func infoListsMetadataAndTensors() throws {
        let (result, object) = try ToolRunner.json(["info", Fixtures.url("formats/reference.gguf").path, "--json"])
        #expect(result.status == 0)
        let document = try #require(object as? [String: Any])
        #expect((document["metadata"] as? [String: Any])?["general.architecture"] as? String == "llama")
        #expect((document["tensors"] as? [Any])?.count == 13)
        let text = try ToolRunner.run(["info", Fixtures.url("formats/reference.gguf").path])
        #expect(text.standardOutput.contains("tensor.q4_k.3d") && text.standardOutput.contains("Q4_K"))
    }

    /// `llama imatrix` writes a matrix `llama quantize --imatrix` uses; an unknown type
    /// lists the names.
    @Test func importanceMatrixThenQuantize() throws {
        let text = Self.folder.appendingPathComponent("calibration.txt")
        try String(repeating: "the quick brown fox jumps over the lazy dog. ", count: 30).write(to: text, atomically: true, encoding: .utf8)
        let matrix = Self.folder.appendingPathComponent("imatrix.gguf").path
        let collected = try ToolRunner.run(["imatrix", "-m", Self.tinyModel, "-f", text.path, "-o", matrix, "-c", "64", "--chunks", "3"])
        #expect(collected.status == 0, "\(collected.standardError)")
        #expect(collected.standardError.contains("14 weights, 3 chunks of 64 tokens"), "\(collected.standardError)")
        let read = try ImportanceMatrix(contentsOf: URL(fileURLWithPath: matrix))
        #expect(read.entries["blk.1.ffn_down.weight"]?.counts == [192] && read.entries["blk.1.ffn_down.weight"]?.sums.count == 128)

        let output = Self.folder.appendingPathComponent("tiny-q4_k_m-imatrix.gguf").path
        let quantized = try ToolRunner.run(["quantize", "--imatrix", matrix, Self.tinyModel, output, "q4_k_m", "--force"])
        #expect(quantized.status == 0, "\(quantized.standardError)")
        let file = try GGUFFile(contentsOf: URL(fileURLWithPath: output))
        #expect(try file.metadata.integer("quantize.imatrix.entries_count") == 14)
        #expect(try file.metadata.integer("general.file_type") == 15)

        // GPTQ with a calibration text: every layer weight is written, in the file type's types.
        let gptq = Self.folder.appendingPathComponent("tiny-q4_k_m-gptq.gguf").path
        let compensated = try ToolRunner.run([
            "quantize", Self.tinyModel, gptq, "Q4_K_M", "--method", "gptq", "--calibration", text.path, "--calibration-context", "64",
            "--force",
        ])
        #expect(compensated.status == 0, "\(compensated.standardError)")
        #expect(compensated.standardError.contains("calibration: 29 chunks of 64 tokens, 14 weights"), "\(compensated.standardError)")
        let gptqFile = try GGUFFile(contentsOf: URL(fileURLWithPath: gptq))
        #expect(gptqFile.tensorInfos.map(\.type) == file.tensorInfos.map(\.type))
        let noText = try ToolRunner.run(["quantize", Self.tinyModel, gptq, "Q4_K_M", "--method", "gptq", "--force"])
        #expect(noText.status != 0 && noText.standardError.contains("--method gptq needs --calibration TEXT"))

        let short = Self.folder.appendingPathComponent("short.txt")
        try "Too short.".write(to: short, atomically: true, encoding: .utf8)
        let refused = try ToolRunner.run(["imatrix", "-m", Self.tinyModel, "-f", short.path, "-o", matrix, "--force"])
        #expect(refused.status != 0 && refused.standardError.contains("needs at least two chunks"), "\(refused.standardError)")
        let unknown = try ToolRunner.run(["quantize", Self.tinyModel, output, "Q4_K_X"])
        #expect(unknown.status != 0 && unknown.standardError.contains("unknown type Q4_K_X; the types are F32, F16, Q4_0"), "\(unknown.standardError)")
    }

    /// `perplexity --kl-divergence-base` then `--kl-divergence`: a model against its own
    /// base diverges by nothing; a Q4_0 copy by more; JSON for scripts.
    @Test func klDivergenceOfAQuantizedCopy() throws {
        let text = Self.folder.appendingPathComponent("evaluation.txt")
        try String(repeating: "a small dog ran over the green hill and the cat sat. ", count: 12).write(to: text, atomically: true, encoding: .utf8)
        let base = Self.folder.appendingPathComponent("base.kld").path
        let saved = try ToolRunner.run(["perplexity", "-m", Self.tinyModel, "--file", text.path, "--window", "32", "--kl-divergence-base", base, "--force"])
        #expect(saved.status == 0 && saved.standardOutput.hasPrefix("perplexity "), "\(saved.standardError)")
        let (same, sameObject) = try ToolRunner.json(["perplexity", "-m", Self.tinyModel, "--kl-divergence", base, "--json"])
        #expect(same.status == 0, "\(same.standardError)")
        let sameKLD = try #require(((sameObject as? [String: Any])?["mean_kld"] as? [String: Double])?["value"])
        #expect(abs(sameKLD) < 1e-6)

        let quantized = Self.folder.appendingPathComponent("tiny-q4_0-kld.gguf").path
        #expect(try ToolRunner.run(["quantize", Self.tinyModel, quantized, "Q4_0", "--force"]).status == 0)
        let compared = try ToolRunner.run(["perplexity", "-m", quantized, "--kl-divergence", base])
        #expect(compared.status == 0 && compared.standardOutput.contains("Mean KL divergence"), "\(compared.standardError)")
        let (_, object) = try ToolRunner.json(["perplexity", "-m", quantized, "--kl-divergence", base, "--json"])
        let kld = try #require(((object as? [String: Any])?["mean_kld"] as? [String: Double])?["value"])
        #expect(kld > 1e-4)

        let missing = try ToolRunner.run(["perplexity", "-m", Self.tinyModel])
        #expect(missing.status != 0 && missing.standardError.contains("--file is needed"))
    }

    @Test func quantizeThenBenchAndPerplexity() throws {
        let quantized = Self.folder.appendingPathComponent("tiny-q8_0.gguf").path
        let result = try ToolRunner.run(["quantize", Self.tinyModel, quantized, "q8_0"])
        #expect(result.status == 0, "\(result.standardError)")
        let file = try GGUFFile(contentsOf: URL(fileURLWithPath: quantized))
        #expect(file.tensorInfo(named: "blk.0.attn_q.weight")?.type.name == "Q8_0")
        #expect(file.tensorInfo(named: "blk.0.attn_norm.weight")?.type.name == "F32")
        #expect(try file.metadata.integer("general.file_type") == 7)
        // An existing output is not replaced without --force.
        let again = try ToolRunner.run(["quantize", Self.tinyModel, quantized, "q8_0"])
        #expect(again.status != 0 && again.standardError.contains("already exists"))
        #expect(try ToolRunner.run(["quantize", Self.tinyModel, quantized, "q4_0", "--force"]).status == 0)

        let (bench, object) = try ToolRunner.json(["bench", "-m", quantized, "-p", "8", "-n", "4", "-r", "2", "--json", "--no-probe"])
        #expect(bench.status == 0, "\(bench.standardError)")
        let rows = try #require(object as? [[String: Any]])
        #expect(rows.map { $0["test"] as? String } == ["pp8", "tg4"])
        #expect(rows.allSatisfy { ($0["samples_ts"] as? [Double])?.count == 2 && ($0["avg_ts"] as? Double ?? 0) > 0 })
        // The kernels OpenBLAS runs, never its SSE3 fallback on a processor with AVX2.
        let cores = rows.compactMap { $0["openblas_core"] as? String }
        #expect(cores.count == 2)
        let hasAVX2 = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?.contains(" avx2 ") ?? false
        if hasAVX2 && ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil {
            #expect(!cores.contains("Prescott"), "\(cores)")
        }
        // A user's OPENBLAS_CORETYPE is kept, and bench says when it holds OpenBLAS below the
        // processor (Prescott, SSE3, is below any processor with AVX2).
        let forced = try ToolRunner.run(
            ["bench", "-m", quantized, "-p", "8", "-n", "0", "-r", "1", "--no-probe"], environment: ["OPENBLAS_CORETYPE": "Prescott"])
        #expect(forced.status == 0, "\(forced.standardError)")
        if hasAVX2 {
            #expect(forced.standardOutput.contains("OpenBLAS Prescott"), "\(forced.standardOutput)")
            #expect(forced.standardError.contains("OPENBLAS_CORETYPE=Prescott"), "\(forced.standardError)")
        }

        let text = Self.folder.appendingPathComponent("text.txt")
        try String(repeating: "the quick brown fox jumps over the lazy dog. ", count: 20).write(to: text, atomically: true, encoding: .utf8)
        let (perplexity, result2) = try ToolRunner.json(["perplexity", "-m", quantized, "--file", text.path, "--window", "64", "--json"])
        #expect(perplexity.status == 0, "\(perplexity.standardError)")
        let document = try #require(result2 as? [String: Any])
        #expect((document["perplexity"] as? Double ?? 0) > 1 && document["scored_tokens"] as? Int == (document["windows"] as? Int ?? 0) * 31)
    }

    @Test(arguments: ["blas", "naive"])
    func benchMatvecTimesOneProduct(backend: String) throws {
        let result = try ToolRunner.run(["bench-matvec", "--type", "q8_0", "--rows", "64", "--columns", "256", "-r", "3", "-t", "2", "--backend", backend])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.hasPrefix("Q8_0 64 × 256, 1 input, \(backend) backend, 2 threads: median "))
        #expect(result.standardOutput.contains("GB/s of weights") && result.standardOutput.contains("ns per 32 weights"))
        let misaligned = try ToolRunner.run(["bench-matvec", "--type", "q4_0", "--columns", "100"])
        #expect(misaligned.status != 0 && misaligned.standardError.contains("--columns (100) must be a multiple of Q4_0's block length 32"))
        let kQuant = try ToolRunner.run(["bench-matvec", "--type", "q4_k", "--rows", "16", "--columns", "256", "-r", "2"])
        #expect(kQuant.status == 0 && kQuant.standardOutput.hasPrefix("Q4_K 16 × 256"), "\(kQuant.standardError)")
        let unsupported = try ToolRunner.run(["bench-matvec", "--type", "q8_k"])
        #expect(unsupported.status != 0 && unsupported.standardError.contains("--type must be one of"))
    }

    @Test func benchMatvecTakesATensorOfAFile() throws {
        let result = try ToolRunner.run(["bench-matvec", "-m", Self.tinyModel, "--tensor", "blk.1.ffn_down.weight", "-r", "2", "-t", "1"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.hasPrefix("F16 64 × 128, 1 input, blas backend, 1 thread: median "))
        let missing = try ToolRunner.run(["bench-matvec", "-m", Self.tinyModel, "--tensor", "blk.9.ffn_down.weight"])
        #expect(missing.status != 0 && missing.standardError.contains("blk.9.ffn_down.weight"))
        let alone = try ToolRunner.run(["bench-matvec", "-m", Self.tinyModel])
        #expect(alone.status != 0 && alone.standardError.contains("--model and --tensor go together"))
    }

    @Test func chatReadsPipedMessages() throws {
        let result = try ToolRunner.run(
            ["chat", "-m", Self.tinyModel, "--template", "chatml", "--temperature", "0", "-n", "4"], input: "hi\n/reset\nbye\n/exit\n")
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.split(separator: "\n", omittingEmptySubsequences: false).count >= 2)
        #expect(result.standardError.contains("conversation reset"))
    }

    /// The chat's commands: `/help` lists them, `//` sends a `/`, `/save` writes the
    /// conversation as OpenAI's messages and `/load` continues it; an unknown command or a
    /// file that is not a conversation ends a piped chat with an error, sending nothing.
    @Test func chatCommandsSaveAndLoadTheConversation() throws {
        let saved = Self.folder.appendingPathComponent("conversation.json"), again = Self.folder.appendingPathComponent("again.json")
        let chat = ["chat", "-m", Self.tinyModel, "--template", "chatml", "--temperature", "0", "-n", "3"]
        let first = try ToolRunner.run(chat + ["--system", "Be brief."], input: "/help\nhi\n//etc/hosts\n/save \(saved.path)\n")
        #expect(first.status == 0, "\(first.standardError)")
        #expect(first.standardError.contains("/save FILE") && first.standardError.contains("5 messages saved"), "\(first.standardError)")
        func messages(_ url: URL) throws -> [[String: Any]] {
            try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [[String: Any]])
        }
        let written = try messages(saved)
        #expect(written.map { $0["role"] as? String } == ["system", "user", "assistant", "user", "assistant"])
        #expect(written[3]["content"] as? String == "/etc/hosts")
        // The tiny model's 256-token context holds two turns: the third drops the oldest, and says so.
        let continued = try ToolRunner.run(chat, input: "/load \(saved.path)\nagain\n/save \(again.path)\n")
        #expect(continued.status == 0, "\(continued.standardError)")
        #expect(continued.standardError.contains("its 2 oldest messages were dropped, the system prompt kept"), "\(continued.standardError)")
        let both = try messages(again).map { $0["content"] as? String }
        let reply = written[2]["content"] as? String
        #expect(both == ["Be brief.", "/etc/hosts", reply, "again", reply])

        let unknown = try ToolRunner.run(chat, input: "hi\n/frobnicate\nbye\n")
        #expect(unknown.status == 1 && unknown.standardError.contains("unknown command /frobnicate"), "\(unknown.standardError)")
        #expect(unknown.standardOutput.split(separator: "\n", omittingEmptySubsequences: false).count <= 2, "'bye' was not sent")
        let missingArgument = try ToolRunner.run(chat, input: "/save\n")
        #expect(missingArgument.status == 1 && missingArgument.standardError.contains("/save needs a file name"))
        let bad = Self.folder.appendingPathComponent("not-a-conversation.json")
        try Data(#"[{"role": "wizard", "content": "hi"}]"#.utf8).write(to: bad)
        let wrong = try ToolRunner.run(chat, input: "/load \(bad.path)\n")
        #expect(wrong.status == 1 && wrong.standardError.contains(bad.path) && wrong.standardError.contains("role"), "\(wrong.standardError)")
    }

    /// `--template` takes a template file as well as a built-in name; `--tools` a JSON
    /// file of tools (with SmolLM2-135M-Instruct, whose context holds Qwen's tool prompt,
    /// when it is in the cache); mistakes in either are errors naming the option and the file.
    @Test func chatTakesATemplateFileAndTools() throws {
        let tools = Self.folder.appendingPathComponent("tools.json")
        try Data(#"[{"type": "function", "function": {"name": "get_weather", "description": "Current weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]"#.utf8).write(to: tools)
        let qwen = Fixtures.shared("chat-templates/Qwen-Qwen2.5-7B-Instruct.jinja").path
        let chat = ["chat", "-m", Self.tinyModel, "--temperature", "0", "-n", "2"]
        let withFile = try ToolRunner.run(chat + ["--template", qwen], input: "hi\n")
        #expect(withFile.status == 0 && !withFile.standardOutput.isEmpty, "\(withFile.standardError)")
        if let smollm2 = Fixtures.smolLM2Model(suite: "LlamaToolTests.chatTakesATemplateFileAndTools") {
            let result = try ToolRunner.run(
                ["chat", "-m", smollm2.path, "--temperature", "0", "-n", "4", "--template", qwen, "--tools", tools.path], input: "What's the weather in Paris?\n")
            #expect(result.status == 0 && !result.standardOutput.isEmpty, "\(result.standardError)")
        }
        let generate = try ToolRunner.run(["generate", "-m", Self.tinyModel, "--chat", "--template", qwen, "-n", "2", "hi"])
        #expect(generate.status == 0, "\(generate.standardError)")
        try Data(#"[{"type": "function", "function": {"description": "no name"}}]"#.utf8).write(to: tools)
        let badTools = try ToolRunner.run(chat + ["--tools", tools.path], input: "hi\n")
        #expect(badTools.status != 0 && badTools.standardError.contains("--tools \(tools.path)") && badTools.standardError.contains("name"), "\(badTools.standardError)")
        let badName = try ToolRunner.run(chat + ["--template", "alpaca"], input: "hi\n")
        #expect(badName.status != 0 && badName.standardError.contains("alpaca"), "\(badName.standardError)")
    }

    /// `llama template` prints jinja2's rendering exactly (no newline added) from a
    /// template file, and the same from a GGUF file and the tokenizer_config.json that carry
    /// one template; a template's error is one line on standard error and a failure.
    @Test func templateRendersAsJinja2() throws {
        let messages = Self.folder.appendingPathComponent("messages.json")
        try Data(#"[{"role": "system", "content": "You are a concise assistant."}, {"role": "user", "content": "Name three rivers in France."}]"#.utf8)
            .write(to: messages)
        struct Expected: Decodable {
            struct Cases: Decodable { let system_user: String }
            let qwen: Cases
            enum CodingKeys: String, CodingKey { case qwen = "Qwen-Qwen2.5-7B-Instruct.jinja" }
        }
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: Fixtures.shared("chat-templates/expected.json")))
        let file = try ToolRunner.run([
            "template", Fixtures.shared("chat-templates/Qwen-Qwen2.5-7B-Instruct.jinja").path, "--messages", messages.path,
            "--bos-token", "<s>", "--eos-token", "</s>",
        ])
        #expect(file.status == 0, "\(file.standardError)")
        #expect(file.standardOutput == expected.qwen.system_user)
        let gguf = try ToolRunner.run(["template", Fixtures.url("models/qwen2-bias/model-f32.gguf").path, "--messages", messages.path])
        let config = try ToolRunner.run(["template", Fixtures.url("models/qwen2-bias/tokenizer_config.json").path, "--messages", messages.path])
        #expect(gguf.status == 0 && config.status == 0 && !gguf.standardOutput.isEmpty, "\(gguf.standardError) \(config.standardError)")
        #expect(gguf.standardOutput == config.standardOutput)
        #expect(gguf.standardOutput.hasSuffix("<|im_start|>assistant\n"))
        // Named templates: "default", and "tool_use" when tools are given (as transformers chooses).
        let named = Self.folder.appendingPathComponent("named/tokenizer_config.json")
        try FileManager.default.createDirectory(at: named.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(#"{"chat_template": [{"name": "default", "template": "D{{ messages | length }}"}, {"name": "tool_use", "template": "T{{ tools | length }}"}]}"#.utf8).write(to: named)
        let tools = Self.folder.appendingPathComponent("template-tools.json")
        try Data(#"[{"type": "function", "function": {"name": "f"}}]"#.utf8).write(to: tools)
        let withoutTools = try ToolRunner.run(["template", named.path, "--messages", messages.path])
        let withTools = try ToolRunner.run(["template", named.path, "--messages", messages.path, "--tools", tools.path])
        #expect(withoutTools.standardOutput == "D2" && withTools.standardOutput == "T1", "\(withoutTools.standardError) \(withTools.standardError)")
        let bad = Self.folder.appendingPathComponent("bad.jinja")
        try Data("line one\n{{ raise_exception('no such role') }}".utf8).write(to: bad)
        let failing = try ToolRunner.run(["template", bad.path, "--messages", messages.path])
        #expect(failing.status != 0 && failing.standardOutput.isEmpty)
        #expect(failing.standardError.contains("line 2") && failing.standardError.contains("no such role"), "\(failing.standardError)")
    }

    /// A model that carries no chat template (a base model, as the tiny test model) gets
    /// one note on standard error when used for chat; a chat model gets none.
    @Test func chatWithABaseModelSaysSoOnce() throws {
        let note = "carries no chat template, so it is most likely a base model"
        let chat = try ToolRunner.run(
            ["chat", "-m", Self.tinyModel, "--template", "chatml", "--temperature", "0", "-n", "2"], input: "hi\nagain\n")
        #expect(chat.status == 0, "\(chat.standardError)")
        #expect(chat.standardError.components(separatedBy: note).count == 2, "\(chat.standardError)")
        let generate = try ToolRunner.run(["generate", "-m", Self.tinyModel, "--chat", "--template", "chatml", "-n", "2", "hi"])
        #expect(generate.status == 0 && generate.standardError.contains(note), "\(generate.standardError)")
        let plain = try ToolRunner.run(["generate", "-m", Self.tinyModel, "-n", "2", "hi"])
        #expect(plain.status == 0 && !plain.standardError.contains(note))
    }

    @Test func userMistakesAreOneLineErrors() throws {
        let missing = try ToolRunner.run(["generate", "-m", "/nonexistent/model.gguf", "hello"])
        #expect(missing.status != 0)
        #expect(missing.standardError.contains("/nonexistent/model.gguf"))
        #expect(!missing.standardError.contains("Fatal error") && missing.standardError.split(separator: "\n").count <= 3)
        let defaultModel = try ToolRunner.run(["generate", "hello"])
        #expect(defaultModel.status != 0 && defaultModel.standardError.contains("fetch-default-model"))
        let badIDs = try ToolRunner.run(["generate", "-m", Self.tinyModel, "--prompt-ids", "1,x"])
        #expect(badIDs.status != 0 && badIDs.standardError.contains("--prompt-ids"))
        let corrupt = Self.folder.appendingPathComponent("corrupt.gguf")
        try Data("GGUF\u{3}\0\0\0garbage".utf8).write(to: corrupt)
        let corrupted = try ToolRunner.run(["info", corrupt.path])
        #expect(corrupted.status == 1 && corrupted.standardError.hasPrefix("llama: error: \(corrupt.path)"))
    }
}
