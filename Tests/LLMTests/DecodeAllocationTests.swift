import AllocationCounter
import BLASBackend
import LLM
import TensorCore
import Testing
import TestSupport

/// A decoded token allocates nothing on the BLAS backend: no tensors, arrays, closure
/// contexts, boxes or raw memory, counted as calls to `malloc` on the thread that runs
/// the forward pass (the pool's threads run C kernels only). The models are random
/// Llama and Gemma 3 models, in weight types of each kind of fused kernel, large enough
/// that every loop of a token is split over both threads (width 512, feed-forward 4352,
/// and a 40-token prompt before the counted tokens so that attention is too). Counting
/// needs glibc (`AllocationCounter`); elsewhere the tests are disabled and say so.
struct DecodeAllocationTests {
    /// Weights in memory under llama.cpp's names.
    struct MemoryWeights: WeightSource {
        let tensors: [String: Tensor]
        var path: String { "memory" }
        func contains(_ name: String) -> Bool { tensors[name] != nil }
        func tensor(named name: String) throws -> Tensor { tensors[name]! }
    }

    /// The two architectures of this library the test builds.
    enum Architecture: Sendable { case llama, gemma3 }

    static let (width, headWidth, heads, kvHeads, feedForward, vocabulary) = (512, 64, 8, 2, 4352, 1000)

    /// Random weights of `type` (norms `f32` ones) for every tensor of a two-layer model;
    /// Gemma 3 adds its query/key and post norms and ties the output to the embedding.
    static func randomWeights(_ architecture: Architecture, type: ElementType) throws -> MemoryWeights {
        var random = SeededRandom(seed: 11)
        func matrix(_ rows: Int, _ columns: Int) throws -> Tensor {
            let values = (0..<rows * columns).map { _ in Float.random(in: -0.1...0.1, using: &random) }
            return try Tensor(converting: Tensor(shape: [rows, columns], values: values), to: type)
        }
        func ones(_ length: Int) throws -> Tensor { try Tensor(shape: [length], values: Array(repeating: 1, count: length)) }
        var tensors = ["token_embd.weight": try matrix(vocabulary, width), "output_norm.weight": try ones(width)]
        if architecture == .llama { tensors["output.weight"] = try matrix(vocabulary, width) }
        for layer in 0..<2 {
            let prefix = "blk.\(layer)."
            tensors[prefix + "attn_q.weight"] = try matrix(heads * headWidth, width)
            tensors[prefix + "attn_k.weight"] = try matrix(kvHeads * headWidth, width)
            tensors[prefix + "attn_v.weight"] = try matrix(kvHeads * headWidth, width)
            tensors[prefix + "attn_output.weight"] = try matrix(width, heads * headWidth)
            tensors[prefix + "ffn_gate.weight"] = try matrix(feedForward, width)
            tensors[prefix + "ffn_up.weight"] = try matrix(feedForward, width)
            tensors[prefix + "ffn_down.weight"] = try matrix(width, feedForward)
            tensors[prefix + "attn_norm.weight"] = try ones(width)
            tensors[prefix + "ffn_norm.weight"] = try ones(width)
            if architecture == .gemma3 {
                tensors[prefix + "attn_q_norm.weight"] = try ones(headWidth)
                tensors[prefix + "attn_k_norm.weight"] = try ones(headWidth)
                tensors[prefix + "post_attention_norm.weight"] = try ones(width)
                tensors[prefix + "post_ffw_norm.weight"] = try ones(width)
            }
        }
        return MemoryWeights(tensors: tensors)
    }

    static func randomModel(
        _ architecture: Architecture, type: ElementType, backend: any Backend
    ) throws -> any TransformerModel {
        let weights = try randomWeights(architecture, type: type)
        switch architecture {
        case .llama:
            let configuration = ModelConfiguration(
                vocabularySize: vocabulary, embeddingLength: width, layerCount: 2, headCount: heads,
                kvHeadCount: kvHeads, feedForwardLength: feedForward, rmsNormEpsilon: 1e-5, ropeBase: 10_000,
                ropeLayout: .interleaved, contextLength: 256, tiedEmbeddings: false)
            return try LlamaModel(configuration: configuration, weights: weights, names: .gguf, backend: backend)
        case .gemma3:
            // Layer 0 slides over 16 positions, layer 1 is global.
            let shared = ModelConfiguration(
                vocabularySize: vocabulary, embeddingLength: width, layerCount: 2, headCount: heads,
                kvHeadCount: kvHeads, headDimension: headWidth, feedForwardLength: feedForward, rmsNormEpsilon: 1e-6,
                ropeBase: 1_000_000, ropeLayout: .halfSplit, contextLength: 256, tiedEmbeddings: true, attentionScale: 0.125)
            let configuration = Gemma3Model.Configuration(
                shared: shared, slidingWindow: 16, slidingWindowPattern: 2, localRopeBase: 10_000)
            return try Gemma3Model(configuration: configuration, weights: weights, backend: backend)
        }
    }

    /// The counter sees allocations at all: an array that must be allocated is counted.
    @Test(.enabled(if: allocation_counter_is_available() != 0, "counting allocations needs glibc"))
    func theCounterCountsAnAllocation() {
        allocation_counter_start()
        let array = [Int](repeating: 7, count: Int.random(in: 100...200))
        let counted = allocation_counter_stop()
        #expect(array.count >= 100)
        #expect(counted >= 1)
    }

    @Test(
        .enabled(if: allocation_counter_is_available() != 0, "counting allocations needs glibc"),
        arguments: [
            (Architecture.llama, ElementType.q4_0, ElementType.f32), (.llama, .q8_0, .f16),
            (.llama, .f16, .f32), (.llama, .bf16, .f32), (.llama, .f32, .f32), (.llama, .q5_1, .f32), (.gemma3, .q8_0, .f32),
            (.gemma3, .q4_0, .f16),
        ])
    func decodedTokensAllocateNothing(
        architecture: Architecture, type: ElementType, cacheType: ElementType
    ) throws {
        // f16 and bf16 weights with and without f16 activations (two kernel families).
        let halfActivations = type == .f16 || type == .bf16 ? ["on", "off"] : ["auto"]
        for half in halfActivations {
            var configuration = BackendConfiguration(threadCount: 2)
            configuration.options["half-activations"] = half
            let backend = try BLASBackend(configuration: configuration)
            let model = try Self.randomModel(architecture, type: type, backend: backend)
            let state = try model.makeState(context: 128, batchCapacity: 64, cacheType: cacheType)
            try model.forward(Array(1...40), state: state, allLogits: nil)
            let token = [5]
            for _ in 0..<2 { try model.forward(token, state: state, allLogits: nil) }  // scratch buffers are sized
            allocation_counter_start()
            for _ in 0..<8 { try model.forward(token, state: state, allLogits: nil) }
            let counted = allocation_counter_stop()
            #expect(
                counted == 0,
                "\(architecture) \(type) weights, half-activations=\(half), \(cacheType) cache: \(counted) allocations in 8 decoded tokens")
            #expect(state.position == 50)
        }
    }
}
