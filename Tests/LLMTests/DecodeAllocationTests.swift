import AllocationCounter
import BLASBackend
import LLM
import TensorCore
import Testing
import TestSupport

/// A decoded token allocates nothing on the BLAS backend: no tensors, arrays, closure
/// contexts, boxes or raw memory, counted as calls to `malloc` on the thread that runs
/// the forward pass (the pool's threads run C kernels only). The model is random, in
/// weight types of each kind of fused kernel, large enough that every loop of a token is
/// split over both threads (width 512, feed-forward 4352, and a 40-token prompt before
/// the counted tokens so that attention is too). Counting needs glibc (`AllocationCounter`); elsewhere the tests
/// are disabled and say so.
struct DecodeAllocationTests {
    /// Weights in memory under llama.cpp's names.
    struct MemoryWeights: WeightSource {
        let tensors: [String: Tensor]
        var path: String { "memory" }
        func contains(_ name: String) -> Bool { tensors[name] != nil }
        func tensor(named name: String) throws -> Tensor { tensors[name]! }
    }

    static func randomModel(type: ElementType, backend: any Backend) throws -> LlamaModel {
        let configuration = ModelConfiguration(
            architecture: .llama, vocabularySize: 1000, embeddingLength: 512, layerCount: 2, headCount: 8, kvHeadCount: 2,
            feedForwardLength: 4352, rmsNormEpsilon: 1e-5, ropeBase: 10_000, ropeLayout: .interleaved, contextLength: 256,
            tiedEmbeddings: false)
        var random = SeededRandom(seed: 11)
        func matrix(_ rows: Int, _ columns: Int) throws -> Tensor {
            let values = (0..<rows * columns).map { _ in Float.random(in: -0.1...0.1, using: &random) }
            return try Tensor(converting: Tensor(shape: [rows, columns], values: values), to: type)
        }
        let width = 512, kvWidth = 2 * 64, feedForward = 4352
        var tensors = [
            "token_embd.weight": try matrix(1000, width), "output.weight": try matrix(1000, width),
            "output_norm.weight": try Tensor(shape: [width], values: Array(repeating: 1, count: width)),
        ]
        for layer in 0..<2 {
            let prefix = "blk.\(layer)."
            tensors[prefix + "attn_q.weight"] = try matrix(width, width)
            tensors[prefix + "attn_k.weight"] = try matrix(kvWidth, width)
            tensors[prefix + "attn_v.weight"] = try matrix(kvWidth, width)
            tensors[prefix + "attn_output.weight"] = try matrix(width, width)
            tensors[prefix + "ffn_gate.weight"] = try matrix(feedForward, width)
            tensors[prefix + "ffn_up.weight"] = try matrix(feedForward, width)
            tensors[prefix + "ffn_down.weight"] = try matrix(width, feedForward)
            tensors[prefix + "attn_norm.weight"] = try Tensor(shape: [width], values: Array(repeating: 1, count: width))
            tensors[prefix + "ffn_norm.weight"] = try Tensor(shape: [width], values: Array(repeating: 1, count: width))
        }
        return try LlamaModel(
            configuration: configuration, weights: MemoryWeights(tensors: tensors), names: .gguf, backend: backend)
    }

    static let counting = allocation_counter_is_available() != 0

    /// The counter sees allocations at all: an array that must be allocated is counted.
    @Test(.enabled(if: counting, "counting allocations needs glibc"))
    func theCounterCountsAnAllocation() {
        allocation_counter_start()
        let array = [Int](repeating: 7, count: Int.random(in: 100...200))
        let counted = allocation_counter_stop()
        #expect(array.count >= 100)
        #expect(counted >= 1)
    }

    @Test(.enabled(if: counting, "counting allocations needs glibc"),
          arguments: [(ElementType.q4_0, ElementType.f32), (.q8_0, .f16), (.f16, .f32), (.f32, .f32), (.q5_1, .f32)])
    func decodedTokensAllocateNothing(type: ElementType, cacheType: ElementType) throws {
        let backend = try BLASBackend(configuration: .init(threadCount: 2))
        let model = try Self.randomModel(type: type, backend: backend)
        let state = try model.makeState(context: 128, batchCapacity: 64, cacheType: cacheType)
        try model.forward(Array(1...40), state: state, allLogits: nil)
        let token = [5]
        for _ in 0..<2 { try model.forward(token, state: state, allLogits: nil) }  // scratch buffers are sized
        allocation_counter_start()
        for _ in 0..<8 { try model.forward(token, state: state, allLogits: nil) }
        let counted = allocation_counter_stop()
        #expect(counted == 0, "\(type) weights, \(cacheType) cache: \(counted) objects allocated in 8 decoded tokens")
        #expect(state.position == 50)
    }
}
