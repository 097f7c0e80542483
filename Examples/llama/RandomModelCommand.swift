import ArgumentParser
import Dispatch
import Foundation
import ModelFormats
import TensorCore

struct RandomModelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "random-model",
        abstract: "Write a GGUF file with random weights and the exact shapes of a real model, for benchmarks and tests.",
        discussion: """
            Presets: tinyllama-1.1b, llama2-7b, yi-6b, yi-34b; or --preset custom with --width, --layers, --heads, \
            --kv-heads, --feed-forward, --vocabulary. The file carries a placeholder SentencePiece vocabulary so \
            that llama.cpp loads it too.

            Examples:
              llama random-model tinyllama-q4_0.gguf --preset tinyllama-1.1b --type q4_0
              llama random-model tiny.gguf --preset custom --width 256 --layers 2 --heads 4 --kv-heads 2 --feed-forward 688 --vocabulary 1000 --type f16
            """)

    @Argument(help: "The GGUF file to write.") var output: String

    @Option(help: "tinyllama-1.1b, llama2-7b, yi-6b, yi-34b or custom.")
    var preset: String = "tinyllama-1.1b"

    @Option(help: "The weight type: f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1.")
    var type: String = "f16"

    @Option(help: "The random seed.") var seed: UInt64 = 42
    @Option(help: "custom: the embedding width.") var width: Int?
    @Option(help: "custom: the number of layers.") var layers: Int?
    @Option(help: "custom: attention heads.") var heads: Int?
    @Option(help: "custom: key/value heads.") var kvHeads: Int?
    @Option(help: "custom: the feed-forward width.") var feedForward: Int?
    @Option(help: "custom: the vocabulary size.") var vocabulary: Int?
    @Option(help: "custom: the context length.") var contextLength: Int = 4096
    @Option(help: "custom: the RoPE base.") var ropeBase: Float = 10_000

    @Flag(help: "Replace the output file if it exists.") var force = false

    struct Shape {
        var vocabulary, width, layers, heads, kvHeads, feedForward, context: Int
        var ropeBase: Float
    }

    static let presets: [String: Shape] = [
        "tinyllama-1.1b": Shape(vocabulary: 32000, width: 2048, layers: 22, heads: 32, kvHeads: 4, feedForward: 5632, context: 2048, ropeBase: 10_000),
        "llama2-7b": Shape(vocabulary: 32000, width: 4096, layers: 32, heads: 32, kvHeads: 32, feedForward: 11008, context: 4096, ropeBase: 10_000),
        "yi-6b": Shape(vocabulary: 64000, width: 4096, layers: 32, heads: 32, kvHeads: 4, feedForward: 11008, context: 4096, ropeBase: 5_000_000),
        "yi-34b": Shape(vocabulary: 64000, width: 7168, layers: 60, heads: 56, kvHeads: 8, feedForward: 20480, context: 4096, ropeBase: 5_000_000),
    ]

    func shape() throws -> Shape {
        if preset == "custom" {
            guard let width, let layers, let heads, let feedForward, let vocabulary else {
                throw ValidationError("--preset custom needs --width, --layers, --heads, --feed-forward and --vocabulary")
            }
            return Shape(vocabulary: vocabulary, width: width, layers: layers, heads: heads, kvHeads: kvHeads ?? heads,
                         feedForward: feedForward, context: contextLength, ropeBase: ropeBase)
        }
        guard let shape = Self.presets[preset] else {
            throw ValidationError("unknown preset \(preset); choose \(Self.presets.keys.sorted().joined(separator: ", ")) or custom")
        }
        return shape
    }

    func run() async throws {
        try await reportingErrors {
            guard let elementType = ElementType(name: type), [.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1].contains(elementType) else {
                throw ValidationError("unsupported type \(type)")
            }
            let s = try shape()
            guard s.width % s.heads == 0, s.heads % s.kvHeads == 0 else {
                throw ValidationError("heads must divide the width and KV heads must divide heads")
            }
            let head = s.width / s.heads
            var writer = GGUFWriter()
            writer.set("general.architecture", .string("llama"))
            writer.set("general.type", .string("model"))
            writer.set("general.name", .string("random \(preset)"))
            writer.set("llama.vocab_size", .uint32(UInt32(s.vocabulary)))
            writer.set("llama.context_length", .uint32(UInt32(s.context)))
            writer.set("llama.embedding_length", .uint32(UInt32(s.width)))
            writer.set("llama.block_count", .uint32(UInt32(s.layers)))
            writer.set("llama.feed_forward_length", .uint32(UInt32(s.feedForward)))
            writer.set("llama.rope.dimension_count", .uint32(UInt32(head)))
            writer.set("llama.attention.head_count", .uint32(UInt32(s.heads)))
            writer.set("llama.attention.head_count_kv", .uint32(UInt32(s.kvHeads)))
            writer.set("llama.attention.layer_norm_rms_epsilon", .float32(1e-5))
            writer.set("llama.rope.freq_base", .float32(s.ropeBase))
            let fileTypes: [ElementType: UInt32] = [.f32: 0, .f16: 1, .q4_0: 2, .q4_1: 3, .q8_0: 7, .q5_0: 8, .q5_1: 9, .bf16: 32]
            writer.set("general.file_type", .uint32(fileTypes[elementType]!))
            if elementType.isQuantized { writer.set("general.quantization_version", .uint32(2)) }
            writePlaceholderVocabulary(size: s.vocabulary, to: &writer)

            var counter: UInt64 = 0
            func add(_ name: String, _ shape: [Int], norm: Bool = false) {
                counter += 1
                let tensorSeed = seed &* 1_000_003 &+ counter
                let tensorType: ElementType = norm ? .f32 : elementType
                writer.addTensor(name: name, shape: shape, type: tensorType) {
                    try Self.randomTensor(shape: shape, type: tensorType, seed: tensorSeed, constant: norm ? 1 : nil)
                }
            }
            add("token_embd.weight", [s.vocabulary, s.width])
            for i in 0..<s.layers {
                add("blk.\(i).attn_norm.weight", [s.width], norm: true)
                add("blk.\(i).attn_q.weight", [s.width, s.width])
                add("blk.\(i).attn_k.weight", [s.kvHeads * head, s.width])
                add("blk.\(i).attn_v.weight", [s.kvHeads * head, s.width])
                add("blk.\(i).attn_output.weight", [s.width, s.width])
                add("blk.\(i).ffn_norm.weight", [s.width], norm: true)
                add("blk.\(i).ffn_gate.weight", [s.feedForward, s.width])
                add("blk.\(i).ffn_up.weight", [s.feedForward, s.width])
                add("blk.\(i).ffn_down.weight", [s.width, s.feedForward])
            }
            add("output_norm.weight", [s.width], norm: true)
            add("output.weight", [s.vocabulary, s.width])
            let start = ContinuousClock.now
            let progress = ProgressPrinter()
            try writer.write(to: URL(fileURLWithPath: output), overwrite: force) { step in
                progress.report(.init(
                    tensorName: step.tensorName, tensorIndex: step.tensorsWritten, tensorCount: step.tensorCount,
                    bytesWritten: step.bytesWritten, totalBytes: step.totalBytes, elapsed: (ContinuousClock.now - start).seconds))
            }
            progress.finish(output)
        }
    }

    /// A SentencePiece-style vocabulary of the right size: `<unk>`, `<s>`, `</s>`, the 256
    /// byte pieces, then placeholder pieces.
    func writePlaceholderVocabulary(size: Int, to writer: inout GGUFWriter) {
        var tokens = ["<unk>", "<s>", "</s>"], types: [Int32] = [2, 3, 3]
        for byte in 0..<256 where tokens.count < size {
            tokens.append(String(format: "<0x%02X>", byte))
            types.append(6)
        }
        while tokens.count < size {
            tokens.append("▁t\(tokens.count)")
            types.append(1)
        }
        writer.set("tokenizer.ggml.model", .string("llama"))
        writer.set("tokenizer.ggml.tokens", .array(.string(tokens)))
        writer.set("tokenizer.ggml.scores", .array(.float32(tokens.indices.map { -Float($0) })))
        writer.set("tokenizer.ggml.token_type", .array(.int32(types)))
        writer.set("tokenizer.ggml.bos_token_id", .uint32(1))
        writer.set("tokenizer.ggml.eos_token_id", .uint32(2))
        writer.set("tokenizer.ggml.unknown_token_id", .uint32(0))
    }

    /// Uniform random values in ±0.05 (or a constant), encoded in `type`, rows made in
    /// parallel.
    static func randomTensor(shape: [Int], type: ElementType, seed: UInt64, constant: Float?) throws -> Tensor {
        let tensor = try Tensor(zeros: shape, elementType: type)
        let rowLength = tensor.rowLength, rows = tensor.rowCount
        let chunks = max(1, min(rows, ProcessInfo.processInfo.activeProcessorCount * 4))
        let output = tensor
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            var state = seed &+ UInt64(chunk) &* 0x9E37_79B9_7F4A_7C15
            var values = [Float](repeating: 0, count: rowLength)
            for row in rows * chunk / chunks..<rows * (chunk + 1) / chunks {
                for i in 0..<rowLength {
                    if let constant {
                        values[i] = constant
                    } else {
                        state ^= state << 13
                        state ^= state >> 7
                        state ^= state << 17
                        values[i] = (Float(state >> 40) / Float(1 << 24) - 0.5) * 0.1
                    }
                }
                values.withUnsafeBufferPointer {
                    RowCodec.encode($0.baseAddress!, count: rowLength, as: type, into: output.mutableRowPointer(row))
                }
            }
        }
        return tensor
    }
}
