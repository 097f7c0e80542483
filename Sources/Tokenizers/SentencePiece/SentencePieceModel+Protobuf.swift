import Foundation
import ModelFormats

extension SentencePieceModel {
    /// Reads a SentencePiece `tokenizer.model` (a serialized `ModelProto`).
    public init(contentsOf url: URL) throws {
        let data: Data
        do { data = try FileBytes.readRegularFile(url) } catch let error as ModelFormatError {
            throw TokenizerError(.invalidFile, file: url.path, error.problem)
        }
        try self.init(protobuf: [UInt8](data), source: url.path)
    }

    /// Parses a serialized `ModelProto` (fields: 1 pieces, 2 trainer_spec, 3 normalizer_spec).
    public init(protobuf bytes: [UInt8], source: String) throws {
        var reader = ProtobufReader(bytes: bytes, file: source)
        var pieces: [Piece] = []
        var modelType: UInt64 = 1
        var byteFallback = false
        var treatWhitespaceAsSuffix = false
        var unknownSurface = " \u{2047} "
        var ids = (unknown: 0, bos: 1, eos: 2, padding: -1)
        var normalizer = Normalizer(addDummyPrefix: true, removeExtraWhitespaces: true)
        var hasPrecompiledMap = false

        while let (number, type) = try reader.nextField() {
            switch (number, type) {
            case (1, .lengthDelimited):
                var piece = reader.message(try reader.readLengthDelimited())
                var text = "", score: Float = 0, kind = PieceType.normal
                while let (field, fieldType) = try piece.nextField() {
                    switch (field, fieldType) {
                    case (1, .lengthDelimited): text = try piece.readString()
                    case (2, .fixed32): score = Float(bitPattern: try piece.readFixed32())
                    case (3, .varint):
                        let raw = try piece.readVarint()
                        // A varint is a UInt64; `Int(exactly:)` keeps one of 2^63 or more from trapping.
                        guard let value = Int(exactly: raw).flatMap(PieceType.init(rawValue:)) else {
                            throw piece.error("piece \(pieces.count) has unknown type \(raw)")
                        }
                        kind = value
                    default: try piece.skip(fieldType)
                    }
                }
                pieces.append(Piece(text: text, score: score, type: kind))
            case (2, .lengthDelimited):
                var trainer = reader.message(try reader.readLengthDelimited())
                while let (field, fieldType) = try trainer.nextField() {
                    switch (field, fieldType) {
                    case (3, .varint): modelType = try trainer.readVarint()
                    case (24, .varint): treatWhitespaceAsSuffix = try trainer.readVarint() != 0
                    case (35, .varint): byteFallback = try trainer.readVarint() != 0
                    case (40, .varint): ids.unknown = Int(Int32(truncatingIfNeeded: try trainer.readVarint()))
                    case (41, .varint): ids.bos = Int(Int32(truncatingIfNeeded: try trainer.readVarint()))
                    case (42, .varint): ids.eos = Int(Int32(truncatingIfNeeded: try trainer.readVarint()))
                    case (43, .varint): ids.padding = Int(Int32(truncatingIfNeeded: try trainer.readVarint()))
                    case (44, .lengthDelimited): unknownSurface = try trainer.readString()
                    default: try trainer.skip(fieldType)
                    }
                }
            case (3, .lengthDelimited):
                var spec = reader.message(try reader.readLengthDelimited())
                while let (field, fieldType) = try spec.nextField() {
                    switch (field, fieldType) {
                    case (1, .lengthDelimited): normalizer.name = try spec.readString()
                    case (2, .lengthDelimited): hasPrecompiledMap = !(try spec.readLengthDelimited()).isEmpty
                    case (3, .varint): normalizer.addDummyPrefix = try spec.readVarint() != 0
                    case (4, .varint): normalizer.removeExtraWhitespaces = try spec.readVarint() != 0
                    case (5, .varint): normalizer.escapeWhitespaces = try spec.readVarint() != 0
                    default: try spec.skip(fieldType)
                    }
                }
            default:
                try reader.skip(type)
            }
        }
        guard !pieces.isEmpty else { throw TokenizerError(.invalidFile, file: source, "has no pieces") }
        guard modelType == 2 else {
            let name = [1: "unigram", 3: "word", 4: "char"][modelType] ?? "type \(modelType)"
            throw TokenizerError(.unsupported, file: source, "is a \(name) model; only BPE models are supported")
        }
        guard !hasPrecompiledMap || normalizer.name == "identity" else {
            throw TokenizerError(
                .unsupported, file: source,
                "uses the '\(normalizer.name)' normalization (a precompiled character map), which is not supported; only 'identity' is")
        }
        func valid(_ id: Int) -> Int? { (0..<pieces.count).contains(id) ? id : nil }
        self.init(
            pieces: pieces, normalizer: normalizer, byteFallback: byteFallback,
            treatWhitespaceAsSuffix: treatWhitespaceAsSuffix, unknownSurface: unknownSurface,
            specialTokens: SpecialTokens(bos: valid(ids.bos), eos: valid(ids.eos), unknown: valid(ids.unknown), padding: valid(ids.padding)),
            addBOS: true, addEOS: false, source: source)
    }
}
