// The smallest program that runs a model: load a GGUF file (or a Hugging Face
// folder, or a llama2.c checkpoint with --tokenizer), and stream a continuation.
//
//   swift run -c release minimal-generate model.gguf "The capital of France is"

import BLASBackend
import Foundation
import LLM

let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
    print("usage: minimal-generate MODEL PROMPT")
    exit(2)
}

do {
    // 1. A backend: the OpenBLAS one, on every core.
    let backend = try BLASBackend(configuration: .init())

    // 2. The model and the tokenizer inside its file.
    let model = try ModelLoader.load(from: URL(fileURLWithPath: arguments[1]), backend: backend)

    // 3. How to generate: greedy, at most 64 tokens.
    let parameters = GenerateParameters(maxTokens: 64, temperature: 0)

    // 4. Stream the text as it comes, then the summary.
    for try await event in model.generate(prompt: arguments[2], parameters: parameters) {
        if let text = event.chunk {
            FileHandle.standardOutput.write(Data(text.utf8))
        }
        if let info = event.info {
            print(String(format: "\n[%d tokens, %.1f tokens/s]", info.generatedTokens.count, info.generationTokensPerSecond))
        }
    }
} catch {
    print("error: \(error)")
    exit(1)
}
