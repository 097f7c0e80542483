import Foundation
import ModelFormats
import TensorCore
import Tokenizers

/// Converts checkpoints to GGUF files that llama.cpp and this library run: a Hugging
/// Face folder, a llama2.c checkpoint (with a tokenizer), or another GGUF file
/// (re-quantization).
///
/// Tensors are streamed one at a time from the memory-mapped inputs to the output,
/// each converted to `f32`, rearranged if needed and encoded when its turn comes, so
/// memory stays near the size of the largest tensor. The output is written to a
/// temporary file and renamed when complete; an existing file is replaced only with
/// ``ConversionOptions/overwrite``.
public enum WeightConverter {
    /// How a Hugging Face architecture is written to GGUF, as llama.cpp's
    /// `convert_hf_to_gguf.py` writes it.
    struct Architecture {
        /// `general.architecture`.
        var ggufName: String
        /// Whether Q and K rows (and biases) are permuted to the interleaved RoPE order
        /// (`llama`; llama.cpp runs `qwen2` and `qwen3` with the half-split order).
        var interleavesQueryKey: Bool
        /// Whether `<arch>.vocab_size` and `<arch>.rope.dimension_count` are written
        /// (the converter's Llama class writes them, Qwen's do not).
        var writesVocabularyAndRopeDimensions: Bool
        /// Whether Q/K/V always have biases (Qwen 2); otherwise `attention_bias` says.
        var alwaysHasQKVBiases = false
        /// Whether layers have per-head Q/K norms (Qwen 3).
        var hasQueryKeyNorms = false

        static func named(_ name: String?, folder: URL) throws -> Architecture {
            switch name {
            case nil, "LlamaForCausalLM", "MistralForCausalLM", "YiForCausalLM":
                Architecture(ggufName: "llama", interleavesQueryKey: true, writesVocabularyAndRopeDimensions: true)
            case "Qwen2ForCausalLM":
                Architecture(
                    ggufName: "qwen2", interleavesQueryKey: false, writesVocabularyAndRopeDimensions: false, alwaysHasQKVBiases: true)
            case "Qwen3ForCausalLM":
                Architecture(ggufName: "qwen3", interleavesQueryKey: false, writesVocabularyAndRopeDimensions: false, hasQueryKeyNorms: true)
            case let name?:
                throw ConversionError.unsupported(
                    "\(folder.path): architecture \(name) is not supported (LlamaForCausalLM, MistralForCausalLM, YiForCausalLM, "
                        + "Qwen2ForCausalLM and Qwen3ForCausalLM are)")
            }
        }
    }

    /// A Hugging Face folder of a Llama-family model (`LlamaForCausalLM` and its
    /// Mistral and Yi names, `Qwen2ForCausalLM`, `Qwen3ForCausalLM`: `config.json`,
    /// safetensors, `tokenizer.model` or `tokenizer.json`, `tokenizer_config.json`,
    /// `generation_config.json`) → GGUF with llama.cpp's tensor names and metadata, as
    /// llama.cpp's `convert_hf_to_gguf.py` writes them. For `llama`, Q and K rows are
    /// permuted from Hugging Face's half-split RoPE order to the interleaved order, and
    /// Llama 3's `rope_scaling` becomes the `rope_freqs.weight` tensor. A byte-level
    /// `tokenizer.json` is written as a `gpt2` vocabulary with its merges and llama.cpp's
    /// name of its pre-tokenizer.
    public static func convertHuggingFace(
        folder: URL, to output: URL, options: ConversionOptions, progress: ((ConversionProgress) -> Void)? = nil
    ) throws {
        try options.validate()
        let config = try HuggingFaceConfig.load(from: folder.appendingPathComponent("config.json"))
        let architecture = try Architecture.named(config.architectures?.first, folder: folder)
        let checkpoint = try SafetensorsCheckpoint(directory: folder)
        // `HuggingFaceConfig.load` has checked that these are positive and bounded.
        let heads = config.numAttentionHeads, kvHeads = config.numKeyValueHeads ?? heads
        let headDimension = config.headDim ?? config.hiddenSize / heads
        let tensors = try huggingFaceTensors(
            config: config, architecture: architecture, headDimension: headDimension, checkpoint: checkpoint, folder: folder)
        let ropeFactors = try llama3RopeFactors(config: config, headDimension: headDimension, folder: folder)
        let byteLevel = try byteLevelVocabulary(folder: folder, vocabularySize: config.vocabSize)
        var vocabulary = try byteLevel == nil ? loadVocabulary(folder: folder) : nil
        if vocabulary != nil {
            try vocabulary!.apply(folder: folder)
            vocabulary!.pad(to: config.vocabSize)
        }

        let a = architecture.ggufName
        var writer = GGUFWriter()
        writer.set("general.architecture", .string(a))
        writer.set("general.type", .string("model"))
        writer.set("general.name", .string(options.name ?? folder.lastPathComponent))
        if architecture.writesVocabularyAndRopeDimensions { writer.set("\(a).vocab_size", .uint32(UInt32(config.vocabSize))) }
        writer.set("\(a).context_length", .uint32(UInt32(config.maxPositionEmbeddings)))
        writer.set("\(a).embedding_length", .uint32(UInt32(config.hiddenSize)))
        writer.set("\(a).block_count", .uint32(UInt32(config.numHiddenLayers)))
        writer.set("\(a).feed_forward_length", .uint32(UInt32(config.intermediateSize)))
        if architecture.writesVocabularyAndRopeDimensions {
            writer.set("\(a).rope.dimension_count", .uint32(UInt32(headDimension)))
        }
        writer.set("\(a).attention.head_count", .uint32(UInt32(heads)))
        writer.set("\(a).attention.head_count_kv", .uint32(UInt32(kvHeads)))
        writer.set("\(a).attention.layer_norm_rms_epsilon", .float32(Float(config.rmsNormEps)))
        writer.set("\(a).rope.freq_base", .float32(Float(config.ropeTheta ?? 10_000)))
        if let scaling = config.ropeScaling, scaling.type == "linear", let factor = scaling.factor {
            writer.set("\(a).rope.scaling.type", .string("linear"))
            writer.set("\(a).rope.scaling.factor", .float32(Float(factor)))
        } else if let scaling = config.ropeScaling, !["default", "linear", "llama3"].contains(scaling.type) {
            throw ConversionError.unsupported("\(folder.path): config.json rope_scaling '\(scaling.type)' is not supported (linear and llama3 are)")
        }
        // llama.cpp's converter writes the head width whenever config.json has head_dim.
        if config.headDim != nil || headDimension * heads != config.hiddenSize {
            writer.set("\(a).attention.key_length", .uint32(UInt32(headDimension)))
            writer.set("\(a).attention.value_length", .uint32(UInt32(headDimension)))
        }
        let hasOutput = !(config.tieWordEmbeddings ?? false) && checkpoint.tensorInfo(named: "lm_head.weight") != nil
        let policy = TensorTypePolicy(
            fileType: options.fileType,
            model: .init(
                architecture: a, layerCount: config.numHiddenLayers, headCount: heads, keyValueHeadCount: kvHeads,
                tensorNames: tensors.map(\.gguf).filter { $0 != "output.weight" || hasOutput }),
            convertingCheckpoint: true)
        writer.set("general.file_type", .uint32(options.fileType.rawValue))
        // llama.cpp's converter writes the quantization version whatever the type.
        writer.set("general.quantization_version", .uint32(2))
        if let byteLevel { byteLevel.write(to: &writer) } else { vocabulary!.write(to: &writer) }

        if let ropeFactors {
            writer.addTensor(name: "rope_freqs.weight", shape: [ropeFactors.count], type: .f32) {
                try Tensor(shape: [ropeFactors.count], values: ropeFactors)
            }
        }
        for (name, source, permuteHeads, shape) in tensors where name != "output.weight" || hasOutput {
            let type = policy.type(forTensor: name, shape: shape)
            writer.addTensor(name: name, shape: shape, type: type) {
                let stored = try checkpoint.tensor(named: source)
                defer { stored.releaseResidentPages() }
                var tensor = try Tensor(converting: stored, to: .f32)
                if let permuteHeads { tensor = try interleaveRotaryHalves(tensor, heads: permuteHeads) }
                return type == .f32 ? tensor : try quantize(tensor, to: type, importance: nil)
            }
        }
        try write(writer, to: output, options: options, progress: progress)
    }

    /// Llama 3's frequency divisors, as the converter writes `rope_freqs.weight`, when
    /// `rope_scaling` is of type `llama3`.
    static func llama3RopeFactors(config: HuggingFaceConfig, headDimension: Int, folder: URL) throws -> [Float]? {
        do {
            return try config.ropeFrequencyFactors(dimensions: headDimension, base: Float(config.ropeTheta ?? 10_000))
        } catch let error as ModelFormatError {
            throw ConversionError.invalidInput(file: error.file, problem: "\(error.field) \(error.problem)")
        }
    }

    /// The byte-level vocabulary of the folder's `tokenizer.json`, when there is no
    /// `tokenizer.model` and the tokenizer is byte-level.
    static func byteLevelVocabulary(folder: URL, vocabularySize: Int) throws -> ByteLevelVocabularyMetadata? {
        guard !FileManager.default.fileExists(atPath: folder.appendingPathComponent("tokenizer.model").path),
              FileManager.default.fileExists(atPath: folder.appendingPathComponent("tokenizer.json").path)
        else { return nil }
        return try ByteLevelVocabularyMetadata(folder: folder, vocabularySize: vocabularySize)
    }

    /// A llama2.c checkpoint (legacy or versioned) with a SentencePiece tokenizer given
    /// separately (`tokenizer.model`, or a GGUF file's vocabulary) → GGUF. llama2.c's Q
    /// and K rows are already in the interleaved order; no permutation is needed.
    public static func convertLlama2c(
        checkpoint url: URL, tokenizer tokenizerURL: URL, to output: URL, options: ConversionOptions,
        progress: ((ConversionProgress) -> Void)? = nil
    ) throws {
        try options.validate()
        let checkpoint = try Llama2cCheckpoint(contentsOf: url)
        let h = checkpoint.header
        guard let tokenizer = try TokenizerLoader.load(from: tokenizerURL) as? SentencePieceTokenizer else {
            throw ConversionError.unsupported("\(tokenizerURL.path): a SentencePiece tokenizer (tokenizer.model or GGUF) is needed")
        }
        guard tokenizer.vocabularySize == h.vocabularySize else {
            throw ConversionError.invalidInput(
                file: tokenizerURL.path,
                problem: "has \(tokenizer.vocabularySize) pieces but the checkpoint's vocabulary has \(h.vocabularySize)")
        }
        var writer = GGUFWriter()
        writer.set("general.architecture", .string("llama"))
        writer.set("general.type", .string("model"))
        writer.set("general.name", .string(options.name ?? url.deletingPathExtension().lastPathComponent))
        writer.set("llama.vocab_size", .uint32(UInt32(h.vocabularySize)))
        writer.set("llama.context_length", .uint32(UInt32(h.sequenceLength)))
        writer.set("llama.embedding_length", .uint32(UInt32(h.dimension)))
        writer.set("llama.block_count", .uint32(UInt32(h.layerCount)))
        writer.set("llama.feed_forward_length", .uint32(UInt32(h.hiddenDimension)))
        writer.set("llama.rope.dimension_count", .uint32(UInt32(h.headSize)))
        writer.set("llama.attention.head_count", .uint32(UInt32(h.headCount)))
        writer.set("llama.attention.head_count_kv", .uint32(UInt32(h.kvHeadCount)))
        writer.set("llama.attention.layer_norm_rms_epsilon", .float32(1e-5))
        writer.set("llama.rope.freq_base", .float32(10_000))
        var tensors = [("token_embd.weight", "tok_embeddings.weight")]
        for i in 0..<h.layerCount {
            let p = "layers.\(i)."
            tensors += [
                ("blk.\(i).attn_norm.weight", p + "attention_norm.weight"), ("blk.\(i).attn_q.weight", p + "attention.wq.weight"),
                ("blk.\(i).attn_k.weight", p + "attention.wk.weight"), ("blk.\(i).attn_v.weight", p + "attention.wv.weight"),
                ("blk.\(i).attn_output.weight", p + "attention.wo.weight"), ("blk.\(i).ffn_norm.weight", p + "ffn_norm.weight"),
                ("blk.\(i).ffn_gate.weight", p + "feed_forward.w1.weight"), ("blk.\(i).ffn_up.weight", p + "feed_forward.w3.weight"),
                ("blk.\(i).ffn_down.weight", p + "feed_forward.w2.weight"),
            ]
        }
        tensors.append(("output_norm.weight", "norm.weight"))
        if !h.sharedClassifier { tensors.append(("output.weight", "output.weight")) }
        let policy = TensorTypePolicy(
            fileType: options.fileType,
            model: .init(
                architecture: "llama", layerCount: h.layerCount, headCount: h.headCount, keyValueHeadCount: h.kvHeadCount,
                tensorNames: tensors.map(\.0)),
            convertingCheckpoint: true)
        writer.set("general.file_type", .uint32(options.fileType.rawValue))
        writer.set("general.quantization_version", .uint32(2))
        VocabularyMetadata(sentencePiece: tokenizer.model).write(to: &writer)
        for (name, source) in tensors {
            let tensor = try checkpoint.tensor(named: source)
            let type = policy.type(forTensor: name, shape: Array(tensor.shape))
            writer.addTensor(name: name, shape: Array(tensor.shape), type: type) {
                guard type != .f32 else { return tensor }
                defer { tensor.releaseResidentPages() }
                return try quantize(tensor, to: type, importance: nil)
            }
        }
        try write(writer, to: output, options: options, progress: progress)
    }

    /// A GGUF file → GGUF with its weight matrices in another type. Metadata is copied;
    /// `general.file_type` is updated. Tensors already of their target type are copied.
    public static func requantize(
        gguf url: URL, to output: URL, options: ConversionOptions, progress: ((ConversionProgress) -> Void)? = nil
    ) throws {
        try options.validate()
        let file = try GGUFFile(contentsOf: url)
        var writer = GGUFWriter()
        for (key, value) in file.metadata.entries where key != "general.alignment" { writer.set(key, value) }
        writer.alignment = file.alignment
        var policy = TensorTypePolicy(
            fileType: options.fileType, model: try quantizedModel(file, url: url), convertingCheckpoint: false)
        policy.hasImportanceMatrix = options.importanceMatrix != nil
        writer.set("general.file_type", .uint32(options.fileType.rawValue))
        writer.set("general.quantization_version", .uint32(2))
        if let name = options.name { writer.set("general.name", .string(name)) }
        if let matrix = options.importanceMatrix {
            // llama-quantize's record of the matrix (it keeps 127 bytes of each string).
            if let path = matrix.path { writer.set("quantize.imatrix.file", .string(String(decoding: path.utf8.prefix(127), as: UTF8.self))) }
            if let dataset = matrix.datasets.first {
                writer.set("quantize.imatrix.dataset", .string(String(decoding: dataset.utf8.prefix(127), as: UTF8.self)))
            }
            writer.set("quantize.imatrix.entries_count", .uint32(UInt32(clamping: matrix.entries.count)))
            if matrix.chunkCount > 0 { writer.set("quantize.imatrix.chunks_count", .uint32(UInt32(clamping: matrix.chunkCount))) }
        }
        for info in file.tensorInfos {
            guard info.type.elementType != nil else {
                throw ConversionError.unsupported("\(url.path): tensor '\(info.name)' has type \(info.type), which this library cannot read")
            }
            let type = policy.type(forTensor: info.name, shape: info.shape, storedType: info.type.elementType!)
            let importance = try importanceOfColumns(for: info, type: type, options.importanceMatrix)
            let compensation = options.errorCompensation
            writer.addTensor(name: info.name, shape: info.shape, type: type) {
                let tensor = try file.tensor(info)
                guard tensor.elementType != type else { return tensor }
                defer { tensor.releaseResidentPages() }
                if let compensation, BlockGrid.maximumLevel(of: type) != nil, info.shape.count == 2,
                   let moments = compensation.secondMoments(info.name)
                {
                    do {
                        return try GPTQ.quantize(
                            tensor, to: type, moments: moments.values, sampleCount: moments.count, dampening: compensation.dampening)
                    } catch let failure as GPTQ.Failure {
                        throw ConversionError.invalidInput(file: url.path, problem: "tensor '\(info.name)': \(failure.description)")
                    }
                }
                return try quantize(tensor, to: type, importance: importance)
            }
        }
        try write(writer, to: output, options: options, progress: progress)
    }

    // MARK: Helpers

    /// The importance matrix's column weights for tensor `info`, when the matrix has them
    /// and `type` uses them. A weight the matrix does not cover is quantized without (as
    /// llama-quantize does); one it covers with the wrong number of columns is an error,
    /// except the token embedding, which llama-quantize also lets pass.
    static func importanceOfColumns(for info: GGUFTensorInfo, type: ElementType, _ matrix: ImportanceMatrix?) throws -> [Float]? {
        guard let matrix, type.isQuantized, type != .q8_0, let entry = matrix.entries[info.name] else { return nil }
        let columns = info.shape.last ?? 0
        guard entry.sums.count == columns, entry.counts.count == 1 else {
            if info.name == "token_embd.weight" { return nil }
            throw ConversionError.invalidInput(
                file: matrix.path ?? "the importance matrix",
                problem: "entry '\(info.name)' has \(entry.sums.count) values in \(entry.counts.count) matrices, but the tensor has \(columns) columns")
        }
        return entry.importance
    }

    /// `tensor` encoded as `type`, rows spread over the processors, each row decoded to
    /// `f32` on its own (memory: the output and one row per worker); with `importance`,
    /// each row's rounding is weighted by it (``RowCodec/encode(_:count:as:importance:into:)``).
    static func quantize(_ tensor: Tensor, to type: ElementType, importance: [Float]?) throws -> Tensor {
        let shape = Array(tensor.shape)
        let columns = shape.last ?? 1, rows = shape.count > 1 ? shape.dropLast().reduce(1, *) : 1
        let output = try Tensor(zeros: shape, elementType: type)
        guard let rowBytes = type.rowByteCount(length: columns), let sourceRowBytes = tensor.elementType.rowByteCount(length: columns) else {
            throw ConversionError.unsupported("rows of \(columns) values are not whole blocks of \(type) or \(tensor.elementType)")
        }
        let sourceType = tensor.elementType
        let chunkCount = max(1, min(rows, ProcessInfo.processInfo.activeProcessorCount * 4))
        importance.withOptionalBuffer { weights in
            // Workers read the shared input and weights and write disjoint rows.
            let pointers = RowPointers(source: tensor.rawPointer, destination: output.mutableRawPointer, weights: weights)
            DispatchQueue.concurrentPerform(iterations: chunkCount) { chunk in
                withUnsafeTemporaryAllocation(of: Float.self, capacity: columns) { buffer in
                    let row32 = buffer.baseAddress!
                    for row in rows * chunk / chunkCount..<rows * (chunk + 1) / chunkCount {
                        RowCodec.decode(sourceType, from: pointers.source + row * sourceRowBytes, count: columns, into: row32)
                        let target = pointers.destination + row * rowBytes
                        if let weights = pointers.weights {
                            RowCodec.encode(row32, count: columns, as: type, importance: weights, into: target)
                        } else {
                            RowCodec.encode(row32, count: columns, as: type, into: target)
                        }
                    }
                }
            }
        }
        return output
    }

    /// What llama-quantize's rules need to know of a GGUF model: its architecture, layer
    /// and head counts (0 when the file does not say), and its tensors' names.
    static func quantizedModel(_ file: GGUFFile, url: URL) throws -> TensorTypePolicy.Model {
        let architecture = file.metadata["general.architecture"]?.string ?? ""
        // A per-layer array (some architectures give head counts per layer): its first
        // layer's, as llama.cpp's n_gqa() reads layer 0.
        func count(_ key: String) throws -> Int {
            guard let value = file.metadata["\(architecture).\(key)"] else { return 0 }
            guard let number = value.integer ?? value.array?.integers?.first, number >= 0, number <= 1 << 20 else {
                throw ConversionError.invalidInput(file: url.path, problem: "\(architecture).\(key) is \(value), not a count")
            }
            return number
        }
        return TensorTypePolicy.Model(
            architecture: architecture, layerCount: try count("block_count"), headCount: try count("attention.head_count"),
            keyValueHeadCount: try count("attention.head_count_kv"), tensorNames: file.tensorInfos.map(\.name))
    }

    /// The tensors of a Hugging Face checkpoint of `architecture` in llama.cpp's order,
    /// as (GGUF name, checkpoint name, heads whose Q/K rows to interleave, shape), each
    /// checked against `config.json` before anything is converted, so that a
    /// configuration the weights do not match (a layer count, a vocabulary or a head
    /// count) is an error naming the tensor, not a broken file or an allocation sized by
    /// the wrong number. `output.weight` is listed when the checkpoint has `lm_head.weight`.
    static func huggingFaceTensors(
        config: HuggingFaceConfig, architecture: Architecture, headDimension: Int, checkpoint: SafetensorsCheckpoint, folder: URL
    ) throws -> [(gguf: String, source: String, permuteHeads: Int?, shape: [Int])] {
        let heads = config.numAttentionHeads, kvHeads = config.numKeyValueHeads ?? heads
        let (d, ff, vocabulary) = (config.hiddenSize, config.intermediateSize, config.vocabSize)
        let lastLayer = "model.layers.\(config.numHiddenLayers - 1).input_layernorm.weight"
        guard checkpoint.tensorInfo(named: lastLayer) != nil else {
            throw ConversionError.invalidInput(
                file: folder.path,
                problem: "config.json says num_hidden_layers = \(config.numHiddenLayers), but tensor \(lastLayer) is missing")
        }
        if config.mlpBias == true { throw ConversionError.unsupported("\(folder.path): config.json mlp_bias = true is not supported") }
        let attentionBias = config.attentionBias ?? false
        let qkvBiases = architecture.alwaysHasQKVBiases || attentionBias
        let q = architecture.interleavesQueryKey ? heads : nil, k = architecture.interleavesQueryKey ? kvHeads : nil
        var tensors: [(gguf: String, source: String, permuteHeads: Int?, shape: [Int])] = [
            ("token_embd.weight", "model.embed_tokens.weight", nil, [vocabulary, d]),
        ]
        for i in 0..<config.numHiddenLayers {
            let p = "model.layers.\(i).", b = "blk.\(i)."
            tensors += [
                (b + "attn_norm.weight", p + "input_layernorm.weight", nil, [d]),
                (b + "attn_q.weight", p + "self_attn.q_proj.weight", q, [heads * headDimension, d]),
                (b + "attn_k.weight", p + "self_attn.k_proj.weight", k, [kvHeads * headDimension, d]),
                (b + "attn_v.weight", p + "self_attn.v_proj.weight", nil, [kvHeads * headDimension, d]),
                (b + "attn_output.weight", p + "self_attn.o_proj.weight", nil, [d, heads * headDimension]),
            ]
            if qkvBiases {
                tensors += [
                    (b + "attn_q.bias", p + "self_attn.q_proj.bias", q, [heads * headDimension]),
                    (b + "attn_k.bias", p + "self_attn.k_proj.bias", k, [kvHeads * headDimension]),
                    (b + "attn_v.bias", p + "self_attn.v_proj.bias", nil, [kvHeads * headDimension]),
                ]
            }
            if attentionBias { tensors.append((b + "attn_output.bias", p + "self_attn.o_proj.bias", nil, [d])) }
            if architecture.hasQueryKeyNorms {
                tensors += [
                    (b + "attn_q_norm.weight", p + "self_attn.q_norm.weight", nil, [headDimension]),
                    (b + "attn_k_norm.weight", p + "self_attn.k_norm.weight", nil, [headDimension]),
                ]
            }
            tensors += [
                (b + "ffn_norm.weight", p + "post_attention_layernorm.weight", nil, [d]),
                (b + "ffn_gate.weight", p + "mlp.gate_proj.weight", nil, [ff, d]),
                (b + "ffn_up.weight", p + "mlp.up_proj.weight", nil, [ff, d]),
                (b + "ffn_down.weight", p + "mlp.down_proj.weight", nil, [d, ff]),
            ]
        }
        tensors.append(("output_norm.weight", "model.norm.weight", nil, [d]))
        if checkpoint.tensorInfo(named: "lm_head.weight") != nil { tensors.append(("output.weight", "lm_head.weight", nil, [vocabulary, d])) }
        for (_, source, _, shape) in tensors {
            guard let info = checkpoint.tensorInfo(named: source) else {
                throw ConversionError.invalidInput(file: folder.path, problem: "tensor \(source) is missing")
            }
            guard info.shape == shape else {
                throw ConversionError.invalidInput(
                    file: folder.path, problem: "tensor \(source) has shape \(info.shape), but config.json implies \(shape)")
            }
        }
        return tensors
    }

    static func loadVocabulary(folder: URL) throws -> VocabularyMetadata {
        let model = folder.appendingPathComponent("tokenizer.model")
        if FileManager.default.fileExists(atPath: model.path) {
            return VocabularyMetadata(sentencePiece: try SentencePieceModel(contentsOf: model))
        }
        let json = folder.appendingPathComponent("tokenizer.json")
        if FileManager.default.fileExists(atPath: json.path) {
            return try VocabularyMetadata(tokenizerJSON: json)
        }
        throw ConversionError.invalidInput(file: folder.path, problem: "has neither tokenizer.model nor tokenizer.json")
    }

    /// llama.cpp's Q/K permutation: within each head, the rows `[first half; second
    /// half]` (Hugging Face's rotate_half pairs `(i, i + d/2)`) become interleaved
    /// pairs `(2i, 2i + 1)`.
    static func interleaveRotaryHalves(_ weight: Tensor, heads: Int) throws -> Tensor {
        // A bias is one value per row.
        let rows = weight.shape[0], length = weight.shape.count > 1 ? weight.shape[1] : 1
        guard rows % (2 * heads) == 0 else {
            throw ConversionError.invalidInput(file: "", problem: "a Q/K weight of \(rows) rows does not split into \(heads) heads of pairs")
        }
        let headDimension = rows / heads, half = headDimension / 2
        let output = try Tensor(zeros: weight.shape)
        for h in 0..<heads {
            for i in 0..<half {
                for j in 0..<2 {
                    let target = h * headDimension + 2 * i + j, source = h * headDimension + j * half + i
                    (output.mutableFloatPointer + target * length).update(from: weight.floatPointer + source * length, count: length)
                }
            }
        }
        return output
    }

    static func write(_ writer: GGUFWriter, to output: URL, options: ConversionOptions, progress: ((ConversionProgress) -> Void)?) throws {
        let start = ContinuousClock.now
        try writer.write(to: output, overwrite: options.overwrite) { step in
            progress?(ConversionProgress(
                tensorName: step.tensorName, tensorIndex: step.tensorsWritten, tensorCount: step.tensorCount,
                bytesWritten: step.bytesWritten, totalBytes: step.totalBytes,
                elapsed: (ContinuousClock.now - start).seconds))
        }
    }
}

extension Duration {
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }
}

extension Optional where Wrapped == [Float] {
    /// Calls `body` with a pointer to the array's elements, or nil.
    func withOptionalBuffer<R>(_ body: (UnsafePointer<Float>?) throws -> R) rethrows -> R {
        switch self {
        case let .some(array): try array.withUnsafeBufferPointer { try body($0.baseAddress) }
        case .none: try body(nil)
        }
    }
}

/// The buffers ``WeightConverter`` workers share while encoding a tensor's rows.
private struct RowPointers: @unchecked Sendable {
    let source: UnsafeRawPointer
    let destination: UnsafeMutableRawPointer
    let weights: UnsafePointer<Float>?
}
