import COpenBLAS
import CPUKernels
import TensorCore

extension BLASBackend {
    /// Attention. Prompts (at least ``blockAttentionRowThreshold`` queries) with an `f32`
    /// cache and no additive mask, on a processor with AVX2 or AVX-512, run in blocks of 16
    /// (AVX-512) or 8 (AVX2) queries of one head with an online softmax (`ck_block_attention`). Other prompts (at least
    /// ``matrixRowThreshold`` queries) with an `f32` cache go through matrix products, one
    /// head at a time: scores = scale · Q Kᵀ with `sgemm`, the mask and softmax row by row
    /// in C, then weights · V with `sgemm`. Decoding and `f16` caches use the C kernel,
    /// split over threads by (head, query) pairs.
    public func execute(_ operation: Attention) throws {
        let n = operation.queryCount, heads = operation.headCount, keyCount = operation.keyCount
        let (causal, first, window): (Int32, Int, Int) = switch operation.mask {
        case .none, .additive: (0, 0, 0)
        case let .causal(position, window): (1, position, window ?? 0)
        }
        let mask: Tensor? = if case let .additive(tensor) = operation.mask { tensor } else { nil }
        let floatCache = operation.keys.elementType == .f32 && operation.values.elementType == .f32
        if n >= blockAttentionRowThreshold && floatCache && mask == nil && usesBlockAttention {
            attentionByQueryBlocks(operation, causal: causal, first: first, window: window)
            return
        }
        if n >= matrixRowThreshold && floatCache {
            attentionByMatrixProducts(operation, causal: causal, first: first, window: window, mask: mask)
            return
        }
        struct Arguments {
            let isa: ck_isa, query: UnsafePointer<Float>, queryCount: Int64, heads: Int64, width: Int64
            let keys: UnsafeRawPointer, values: UnsafeRawPointer, cacheType: ck_type, keyCount: Int64, kvHeads: Int64
            let causal: Int32, first: Int64, window: Int64, mask: UnsafePointer<Float>?, scale: Float
            let output: UnsafeMutablePointer<Float>, scores: UnsafeMutablePointer<Float>, scoresPerChunk: Int
        }
        let scoresPerChunk = (max(keyCount, 1) + 15) & ~15
        scratch.withBuffer(of: Float.self, count: scoresPerChunk * parallelRows.threadCount) { scores in
            let arguments = Arguments(
                isa: instructionSet.kernelValue, query: operation.query.floatPointer, queryCount: Int64(n), heads: Int64(heads),
                width: Int64(operation.headWidth), keys: operation.keys.rawPointer, values: operation.values.rawPointer,
                cacheType: operation.keys.elementType.kernelType, keyCount: Int64(keyCount),
                kvHeads: Int64(operation.kvHeadCount), causal: causal, first: Int64(first), window: Int64(window),
                mask: mask?.floatPointer, scale: operation.scale, output: operation.output.mutableFloatPointer, scores: scores,
                scoresPerChunk: scoresPerChunk)
            parallelRows.runTasks(rowCount: n * heads, workPerRow: keyCount * operation.headWidth * 2, arguments: arguments) {
                raw, chunk, begin, end in
                let a = raw!.load(as: Arguments.self)
                ck_attention(
                    a.isa, a.query, a.queryCount, a.heads, a.width, a.keys, a.values, a.cacheType, a.keyCount, a.kvHeads,
                    a.causal, a.first, a.window, a.mask, a.scale, a.output, begin, end, a.scores + Int(chunk) * a.scoresPerChunk)
            }
        }
    }

    /// Prompt attention in tasks of 16 queries of one head (`ck_block_attention`), split
    /// over the backend's threads: no score matrix, no hand-over to OpenBLAS's threads.
    private func attentionByQueryBlocks(_ operation: Attention, causal: Int32, first: Int, window: Int) {
        let n = operation.queryCount, heads = operation.headCount, width = operation.headWidth
        let tasks = Int(ck_block_attention_tasks(Int64(n), Int64(heads)))
        let floatsPerChunk = (Int(ck_block_attention_scratch_floats(Int64(width))) + 15) & ~15
        let keys = operation.keys.rawPointer.assumingMemoryBound(to: Float.self)
        let values = operation.values.rawPointer.assumingMemoryBound(to: Float.self)
        scratch.withBuffer(of: Float.self, count: floatsPerChunk * parallelRows.threadCount) { memory in
            parallelRows.runChunks(rowCount: tasks, workPerRow: 16 * operation.keyCount * width * 2) { chunk, begin, end in
                ck_block_attention(
                    instructionSet.kernelValue, operation.query.floatPointer, Int64(n), Int64(heads), Int64(width), keys, values,
                    Int64(operation.keyCount), Int64(operation.kvHeadCount), causal, Int64(first), Int64(window), operation.scale,
                    operation.output.mutableFloatPointer, Int64(begin), Int64(end), memory + chunk * floatsPerChunk)
            }
        }
    }

    private func attentionByMatrixProducts(_ operation: Attention, causal: Int32, first: Int, window: Int, mask: Tensor?) {
        let n = operation.queryCount, keyCount = operation.keyCount
        scratch.withBuffer(of: Float.self, count: n * keyCount) { scores in
            attentionByMatrixProducts(operation, causal: causal, first: first, window: window, mask: mask, scores: scores)
        }
    }

    private func attentionByMatrixProducts(
        _ operation: Attention, causal: Int32, first: Int, window: Int, mask: Tensor?, scores: UnsafeMutablePointer<Float>
    ) {
        let n = operation.queryCount, heads = operation.headCount, keyCount = operation.keyCount
        let width = operation.headWidth, kvHeads = operation.kvHeadCount, group = heads / kvHeads
        let q = operation.query.floatPointer, output = operation.output.mutableFloatPointer
        let keys = operation.keys.rawPointer.assumingMemoryBound(to: Float.self)
        let values = operation.values.rawPointer.assumingMemoryBound(to: Float.self)
        let queryStride = Int32(heads * width), keyStride = Int32(kvHeads * width)
        for h in 0..<heads {
            let g = h / group
            parallelRows.park()
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(keyCount), Int32(width), operation.scale,
                q + h * width, queryStride, keys + g * width, keyStride, 0, scores, Int32(keyCount))
            parallelRows.run(rowCount: n, workPerRow: keyCount * 4) { begin, end in
                ck_attention_softmax_rows(
                    scores, Int64(keyCount), causal, Int64(first), Int64(window), mask?.floatPointer, Int64(begin), Int64(end))
            }
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(width), Int32(keyCount), 1,
                scores, Int32(keyCount), values + g * width, keyStride, 0, output + h * width, queryStride)
        }
    }
}

