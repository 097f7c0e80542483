import Foundation
import TensorCore

/// A checkpoint of Andrej Karpathy's llama2.c, in either of its layouts:
///
/// * **legacy** (version 0): seven little-endian `Int32`s — `dim`, `hidden_dim`,
///   `n_layers`, `n_heads`, `n_kv_heads`, `vocab_size` (negative: the classifier is not
///   shared with the embedding and follows at the end), `seq_len` — then `f32`
///   weights: embedding, per-layer attention norms, wq, wk, wv, wo, FFN norms, w1, w2,
///   w3 (each kind for all layers in turn), the final norm, the unused RoPE tables
///   (`seq_len × head_size / 2` twice), and the classifier if not shared;
/// * **versioned** (`export.py`): a 256-byte header starting with the magic `ak42`, a
///   version, the seven fields, a shared-classifier byte and (version 2) the
///   quantization group size. Version 1 holds the norms first, then `f32` weights;
///   version 2 holds the `f32` norms, then each other weight as `int8` values followed
///   by one `f32` scale per group.
///
/// Tensors use Meta's names (`tok_embeddings.weight`, `layers.0.attention.wq.weight`,
/// `layers.0.feed_forward.w1.weight`, `norm.weight`, `output.weight`). Weight rows are
/// outputs, as in PyTorch; Q and K rows are in Meta's interleaved RoPE order. Legacy
/// and version-1 tensors are views of the mapped file; version-2 weights are
/// dequantized to `f32` (value = q × scale) when the file is opened.
public final class Llama2cCheckpoint: Sendable {
    /// The hyperparameters in the header.
    public struct Header: Sendable, Equatable {
        public var dimension: Int
        public var hiddenDimension: Int
        public var layerCount: Int
        public var headCount: Int
        public var kvHeadCount: Int
        public var vocabularySize: Int
        public var sequenceLength: Int
        /// Whether the output classifier is the token embedding.
        public var sharedClassifier: Bool
        /// 0 for the legacy layout, 1 or 2 for the versioned one.
        public var version: Int
        /// The quantization group size of version 2.
        public var groupSize: Int?

        public var headSize: Int { dimension / headCount }
        public var kvDimension: Int { kvHeadCount * headSize }
    }

    /// The magic number of versioned checkpoints: `ak42`.
    public static let magic: UInt32 = 0x616B_3432

    public let bytes: FileBytes
    public let header: Header
    /// The tensors by name.
    public let tensors: [String: Tensor]
    /// The tensor names in file order.
    public let tensorNames: [String]

    public var path: String { bytes.path }

    public convenience init(contentsOf url: URL) throws {
        try self.init(bytes: FileBytes(mapping: url))
    }

    public init(bytes: FileBytes) throws {
        self.bytes = bytes
        var reader = ByteReader(bytes)
        let first = try reader.read(UInt32.self, "header")
        var header: Header
        if first == Self.magic {
            let version = try reader.read(Int32.self, "header.version")
            guard version == 1 || version == 2 else {
                throw reader.error(.unsupported, "header.version", "is \(version); versions 1 and 2 are supported")
            }
            let fields = try (0..<7).map { try reader.read(Int32.self, "header field \($0)") }
            let shared = try reader.read(UInt8.self, "header.shared_classifier")
            header = try Self.header(fields, shared: shared != 0, version: Int(version), reader: reader)
            if version == 2 {
                let group = try reader.read(Int32.self, "header.group_size")
                guard group > 0, header.dimension % Int(group) == 0 else {
                    throw reader.error(.invalidValue, "header.group_size", "\(group) must be positive and divide dim \(header.dimension)")
                }
                header.groupSize = Int(group)
            }
            try reader.seek(to: 256, "header")
        } else {
            try reader.seek(to: 0, "header")
            let fields = try (0..<7).map { try reader.read(Int32.self, "header field \($0)") }
            header = try Self.header(fields, shared: fields[5] > 0, version: 0, reader: reader)
        }
        self.header = header

        let layout = Self.layout(header)
        var tensors: [String: Tensor] = [:]
        var names: [String] = []
        for (name, shape, kind) in layout {
            let count = shape.reduce(1, *)
            switch kind {
            case .float:
                let raw = try reader.readBytes(count * 4, "tensor '\(name)'")
                tensors[name] = try Tensor(shape: shape, elementType: .f32, viewing: raw.baseAddress!, byteCount: raw.count, owner: bytes)
            case .skipped:
                try reader.skip(count * 4, "\(name)")
                continue
            case .quantized:
                let group = header.groupSize!
                guard count % group == 0 else {
                    throw reader.error(.inconsistent, "tensor '\(name)'", "\(count) values are not a multiple of the group size \(group)")
                }
                let values = try reader.readBytes(count, "tensor '\(name)' values")
                let scales = try reader.readBytes(count / group * 4, "tensor '\(name)' scales")
                let tensor = try Tensor(zeros: shape)
                let output = tensor.mutableFloatPointer
                for i in 0..<count {
                    let scale = Float(bitPattern: UInt32(littleEndian: scales.loadUnaligned(fromByteOffset: i / group * 4, as: UInt32.self)))
                    output[i] = Float(Int8(bitPattern: values[i])) * scale
                }
                tensors[name] = tensor
            }
            names.append(name)
        }
        guard reader.remaining == 0 else {
            throw reader.error(
                .inconsistent, "file size",
                "\(reader.remaining) bytes remain after the last tensor; the header does not describe this file")
        }
        self.tensors = tensors
        tensorNames = names
    }

    /// The tensor `name`.
    public func tensor(named name: String) throws -> Tensor {
        guard let tensor = tensors[name] else {
            throw ModelFormatError(.invalidValue, file: path, field: "tensor '\(name)'", problem: "is not in the checkpoint")
        }
        return tensor
    }

    private static func header(_ fields: [Int32], shared: Bool, version: Int, reader: ByteReader) throws -> Header {
        let names = ["dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"]
        let limits = [1 << 16, 1 << 18, 1 << 10, 1 << 10, 1 << 10, 1 << 22, 1 << 22]
        var values: [Int] = []
        for (i, field) in fields.enumerated() {
            let value = i == 5 ? abs(Int(field)) : Int(field)
            guard value >= 1, value <= limits[i] else {
                throw reader.error(.invalidValue, "header.\(names[i])", "is \(field), expected 1 to \(limits[i])")
            }
            values.append(value)
        }
        let header = Header(
            dimension: values[0], hiddenDimension: values[1], layerCount: values[2], headCount: values[3],
            kvHeadCount: values[4], vocabularySize: values[5], sequenceLength: values[6], sharedClassifier: shared,
            version: version, groupSize: nil)
        guard header.dimension % header.headCount == 0 else {
            throw reader.error(.inconsistent, "header.n_heads", "\(header.headCount) does not divide dim \(header.dimension)")
        }
        guard header.headCount % header.kvHeadCount == 0 else {
            throw reader.error(.inconsistent, "header.n_kv_heads", "\(header.kvHeadCount) does not divide n_heads \(header.headCount)")
        }
        return header
    }

    enum Storage { case float, quantized, skipped }

    /// The tensors of a checkpoint in file order, with their shapes and storage.
    static func layout(_ h: Header) -> [(String, [Int], Storage)] {
        let (d, hidden, kv, layers) = (h.dimension, h.hiddenDimension, h.kvDimension, h.layerCount)
        func perLayer(_ suffix: String, _ shape: [Int], _ storage: Storage) -> [(String, [Int], Storage)] {
            (0..<layers).map { ("layers.\($0).\(suffix)", shape, storage) }
        }
        let attentionNorms = perLayer("attention_norm.weight", [d], .float)
        let ffnNorms = perLayer("ffn_norm.weight", [d], .float)
        let final = [("norm.weight", [d], Storage.float)]
        let weight: Storage = h.version == 2 ? .quantized : .float
        let matrices =
            perLayer("attention.wq.weight", [d, d], weight) + perLayer("attention.wk.weight", [kv, d], weight)
            + perLayer("attention.wv.weight", [kv, d], weight) + perLayer("attention.wo.weight", [d, d], weight)
        let feedForward =
            perLayer("feed_forward.w1.weight", [hidden, d], weight) + perLayer("feed_forward.w2.weight", [d, hidden], weight)
            + perLayer("feed_forward.w3.weight", [hidden, d], weight)
        let embedding = [("tok_embeddings.weight", [h.vocabularySize, d], weight)]
        let classifier = h.sharedClassifier ? [] : [("output.weight", [h.vocabularySize, d], weight)]
        switch h.version {
        case 0:
            let ropeTables = [
                ("freq_cis_real", [h.sequenceLength, h.headSize / 2], Storage.skipped),
                ("freq_cis_imag", [h.sequenceLength, h.headSize / 2], Storage.skipped),
            ]
            return embedding + attentionNorms + matrices + ffnNorms + feedForward + final + ropeTables + classifier
        default:
            return attentionNorms + ffnNorms + final + embedding + matrices + feedForward + classifier
        }
    }
}
