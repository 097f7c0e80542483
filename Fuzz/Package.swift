// swift-tools-version: 6.1
//
// libFuzzer targets for SwiftLlama's readers of untrusted files. A package of its own,
// so the main package's build and `swift test` are untouched; build it with
// `make fuzz-build` (-sanitize=fuzzer,address) and run it with `make fuzz` or
// `make fuzz-smoke` (Documentation/Reliability.md).

import PackageDescription

func fuzzer(_ name: String, _ products: [String], local: [Target.Dependency] = []) -> Target {
    .executableTarget(
        name: "fuzz-\(name)", dependencies: ["FuzzSupport"] + local + products.map { .product(name: $0, package: "SwiftLlama") },
        path: "Sources/fuzz-\(name)")
}

let package = Package(
    name: "SwiftLlamaFuzz",
    platforms: [.macOS(.v13)],
    dependencies: [.package(name: "SwiftLlama", path: "..")],
    targets: [
        .target(name: "CLibFuzzer", path: "Sources/CLibFuzzer"),
        .target(name: "FuzzSupport", dependencies: ["CLibFuzzer"], path: "Sources/FuzzSupport"),
        .target(
            name: "FuzzTokenizerUse", dependencies: [.product(name: "Tokenizers", package: "SwiftLlama")],
            path: "Sources/FuzzTokenizerUse"),
        fuzzer("gguf", ["ModelFormats", "LLM", "Tokenizers", "TensorCore"], local: ["FuzzTokenizerUse"]),
        fuzzer("safetensors", ["ModelFormats", "TensorCore"]),
        fuzzer("hf-config", ["ModelFormats", "LLM"]),
        fuzzer("llama2c", ["ModelFormats", "LLM", "TensorCore"]),
        fuzzer("tokenizer-json", ["Tokenizers"], local: ["FuzzTokenizerUse"]),
        fuzzer("tokenizer-model", ["Tokenizers"], local: ["FuzzTokenizerUse"]),
        fuzzer("converter-config", ["WeightConverter", "TensorCore"]),
        fuzzer("chat-template", ["Jinja"]),
        fuzzer("tool-calls", ["LLM"]),
    ],
    swiftLanguageModes: [.v6]
)
