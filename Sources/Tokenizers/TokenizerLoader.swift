import Foundation
import ModelFormats

/// Opens the tokenizer a model comes with, by file type.
public enum TokenizerLoader {
    /// Loads a tokenizer from:
    /// - a SentencePiece `tokenizer.model`;
    /// - a Hugging Face `tokenizer.json` (with `tokenizer_config.json` beside it, if any);
    /// - a GGUF file (its `tokenizer.ggml.*` metadata: SentencePiece for
    ///   `tokenizer.ggml.model = llama`, byte-level BPE for `gpt2`);
    /// - a folder holding one of those (`tokenizer.json` is preferred, as
    ///   transformers prefers the fast tokenizer).
    public static func load(from url: URL) throws -> any Tokenizer {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder) else {
            throw TokenizerError(.invalidFile, file: url.path, "does not exist")
        }
        if isFolder.boolValue {
            for name in ["tokenizer.json", "tokenizer.model"] {
                let candidate = url.appendingPathComponent(name)
                if FileManager.default.fileExists(atPath: candidate.path) { return try load(from: candidate) }
            }
            throw TokenizerError(.invalidFile, file: url.path, "holds neither tokenizer.json nor tokenizer.model")
        }
        if url.pathExtension == "json" {
            return try HuggingFaceTokenizer(contentsOf: url)
        }
        if url.pathExtension == "gguf" || isGGUF(url) {
            let file = try GGUFFile(contentsOf: url)
            return try load(gguf: file.metadata, source: url.path)
        }
        return try SentencePieceTokenizer(model: SentencePieceModel(contentsOf: url))
    }

    /// The tokenizer a GGUF file's `tokenizer.ggml.*` metadata describes:
    /// ``SentencePieceTokenizer`` for `tokenizer.ggml.model = llama`,
    /// ``ByteLevelBPETokenizer`` for `gpt2`. Throws a ``TokenizerError`` naming `source`
    /// for another model, or for metadata that is missing or malformed.
    public static func load(gguf metadata: GGUFMetadata, source: String) throws -> any Tokenizer {
        let tokenizer: GGUFTokenizerMetadata
        do { tokenizer = try GGUFTokenizerMetadata(metadata) } catch let error as ModelFormatError {
            throw TokenizerError(.invalidFile, file: source, "\(error.field): \(error.problem)")
        }
        switch tokenizer.model {
        case "llama": return try SentencePieceTokenizer(model: SentencePieceModel(gguf: tokenizer, source: source))
        case "gpt2": return try ByteLevelBPETokenizer(gguf: tokenizer, source: source)
        default:
            throw TokenizerError(
                .unsupported, file: source,
                "tokenizer.ggml.model is '\(tokenizer.model)'; SentencePiece ('llama') and byte-level BPE ('gpt2') vocabularies are supported")
        }
    }

    private static func isGGUF(_ url: URL) -> Bool {
        // A FIFO or device is not opened here (opening a FIFO blocks); the reader that
        // follows reports what it is.
        guard (try? FileBytes.requireRegularFile(atPath: url.path)) != nil else { return false }
        guard let handle = try? FileHandle(forReadingFrom: url) else { return false }
        defer { try? handle.close() }
        return (try? handle.read(upToCount: 4)) == Data("GGUF".utf8)
    }
}
