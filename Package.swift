// swift-tools-version: 6.1
//
// SwiftLlama: run Llama-family language models on CPUs, from Swift.
//
// Every library is its own product, so an app imports only what it uses: an app
// that never imports `BLASBackend` never links OpenBLAS.

import PackageDescription

let package = Package(
    name: "SwiftLlama",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "llama", targets: ["llama"]),
        .library(name: "TensorCore", targets: ["TensorCore"]),
        .library(name: "BLASBackend", targets: ["BLASBackend"]),
        .library(name: "ModelFormats", targets: ["ModelFormats"]),
        .library(name: "Tokenizers", targets: ["Tokenizers"]),
        .library(name: "LLM", targets: ["LLM"]),
        .library(name: "WeightConverter", targets: ["WeightConverter"]),
        .library(name: "Jinja", targets: ["Jinja"]),
        .library(name: "LLMServer", targets: ["LLMServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        // The libraries log through swift-log's API only; an app chooses the handler.
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        // `make docs`: DocC catalogs of the library products (no code is linked from it).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin.git", from: "1.5.0"),
        // The server only (LLMServer and the tool): HTTP, metrics, graceful shutdown.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
    ],
    targets: [
        // MARK: Tensor core and backends

        .target(
            name: "TensorCore",
            path: "Sources/TensorCore"
        ),
        .systemLibrary(
            name: "COpenBLAS",
            path: "Sources/COpenBLAS",
            pkgConfig: "openblas",
            providers: [
                .apt(["libopenblas-dev", "liblapacke-dev"]),
                .brew(["openblas"]),
            ]
        ),
        .target(
            name: "CPUKernels",
            path: "Sources/CPUKernels"
        ),
        .target(
            name: "BLASBackend",
            dependencies: ["TensorCore", "COpenBLAS", "CPUKernels", .product(name: "Logging", package: "swift-log")],
            path: "Sources/BLASBackend"
        ),

        // MARK: Model files, tokenizers, models

        // The async-signal-safe removal of temporary files on SIGINT, SIGTERM, a crash.
        .target(
            name: "CTemporaryFiles",
            path: "Sources/CTemporaryFiles"
        ),
        .target(
            name: "ModelFormats",
            dependencies: ["TensorCore", "CTemporaryFiles"],
            path: "Sources/ModelFormats"
        ),

        .target(
            name: "Tokenizers",
            dependencies: ["ModelFormats"],
            path: "Sources/Tokenizers"
        ),

        .target(
            name: "LLM",
            dependencies: ["TensorCore", "ModelFormats", "Tokenizers", "Jinja", .product(name: "Logging", package: "swift-log")],
            path: "Sources/LLM"
        ),

        .target(
            name: "Jinja",
            path: "Sources/Jinja"
        ),
        // An OpenAI-compatible HTTP server with continuous batching (Hummingbird).
        .target(
            name: "LLMServer",
            dependencies: [
                "LLM", "Tokenizers", "ModelFormats",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/LLMServer"
        ),
        .target(
            name: "WeightConverter",
            // COpenBLAS: LAPACKE's Cholesky factorisation and sgemm for GPTQ.
            dependencies: ["TensorCore", "ModelFormats", "Tokenizers", "COpenBLAS"],
            path: "Sources/WeightConverter"
        ),

        // MARK: Examples

        // Line editing for `llama chat` (libedit: Debian's libedit-dev, part of macOS).
        .target(
            name: "CLineEditing",
            path: "Examples/CLineEditing",
            linkerSettings: [.linkedLibrary("edit")]
        ),
        .executableTarget(
            name: "llama",
            dependencies: [
                "TensorCore", "BLASBackend", "ModelFormats", "Tokenizers", "LLM", "WeightConverter", "Jinja", "CLineEditing",
                "LLMServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Examples/llama"
        ),
        .executableTarget(
            name: "minimal-generate",
            dependencies: ["LLM", "BLASBackend"],
            path: "Examples/MinimalGenerate"
        ),
        .executableTarget(
            name: "backend-demo",
            dependencies: ["TensorCore", "BLASBackend"],
            path: "Examples/BackendDemo"
        ),

        // MARK: Tests

        .target(
            name: "TestSupport",
            path: "Tests/TestSupport"
        ),
        .target(
            name: "AllocationCounter",
            path: "Tests/AllocationCounter"
        ),

        .testTarget(
            name: "TensorCoreTests",
            dependencies: [
                "TensorCore",
                "TestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            path: "Tests/TensorCoreTests",
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "BackendTests",
            dependencies: [
                "TensorCore",
                "BLASBackend",
                "CPUKernels",
                "TestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            path: "Tests/BackendTests"
        ),
        .testTarget(
            name: "JinjaTests",
            dependencies: ["Jinja", "TestSupport"],
            path: "Tests/JinjaTests"
        ),
        .testTarget(
            name: "TokenizersTests",
            dependencies: ["Tokenizers", "ModelFormats", "TestSupport"],
            path: "Tests/TokenizersTests"
        ),
        .testTarget(
            name: "LLMTests",
            dependencies: [
                "LLM", "TensorCore", "BLASBackend", "ModelFormats", "Tokenizers", "Jinja", "WeightConverter", "TestSupport",
                "AllocationCounter",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/LLMTests"
        ),
        .testTarget(
            name: "WeightConverterTests",
            dependencies: ["WeightConverter", "LLM", "ModelFormats", "TensorCore", "Tokenizers", "TestSupport"],
            path: "Tests/WeightConverterTests"
        ),
        .testTarget(
            name: "LlamaToolTests",
            dependencies: ["llama", "ModelFormats", "TestSupport"],
            path: "Tests/LlamaToolTests"
        ),
        .testTarget(
            name: "LLMServerTests",
            dependencies: ["LLMServer", "LLM", "BLASBackend", "Tokenizers", "TestSupport"],
            path: "Tests/LLMServerTests"
        ),
        .testTarget(
            name: "ModelFormatsTests",
            dependencies: ["ModelFormats", "TensorCore", "TestSupport"],
            path: "Tests/ModelFormatsTests"
        ),
    ],
    swiftLanguageModes: [.v6]
)
