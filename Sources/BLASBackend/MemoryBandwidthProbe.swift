import CPUKernels
import Dispatch
import Foundation

/// Measures read bandwidth the way a bandwidth-bound decoder uses memory: threads
/// sum disjoint parts of a buffer much larger than the caches, once per pass. The buffer
/// asks for 2 MiB pages (Linux), as model files' mappings do (`FileBytes` in ModelFormats): with 4 KiB
/// pages TLB misses and prefetchers stopping at page boundaries would lower the limit
/// the decoder is measured against.
public enum MemoryBandwidthProbe {
    /// Bytes per second read by `threadCount` threads summing a buffer of `byteCount`
    /// bytes; the median of `passes` passes after one warm-up pass.
    public static func measure(byteCount: Int = 1 << 30, threadCount: Int, passes: Int = 5) -> Double {
        let count = byteCount / 4
        let buffer = hugePageBuffer(floatCount: count)
        defer { free(buffer) }
        buffer.initialize(repeating: 1, count: count)
        nonisolated(unsafe) let data = UnsafePointer(buffer)
        var rates: [Double] = []
        for pass in 0...passes {
            let start = DispatchTime.now().uptimeNanoseconds
            DispatchQueue.concurrentPerform(iterations: threadCount) { thread in
                let begin = count * thread / threadCount, end = count * (thread + 1) / threadCount
                _ = ck_sum(data + begin, Int64(end - begin))
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if pass > 0 { rates.append(Double(byteCount) / seconds) }
        }
        return rates.sorted()[rates.count / 2]
    }

    /// `floatCount` floats at a 2 MiB boundary, for `free`; on Linux backed by 2 MiB
    /// pages where transparent huge pages are allowed on request (`madvise`).
    private static func hugePageBuffer(floatCount: Int) -> UnsafeMutablePointer<Float> {
        let alignment = 2 << 20
        let byteCount = (max(floatCount, 1) * 4 + alignment - 1) / alignment * alignment
        var memory: UnsafeMutableRawPointer?
        guard posix_memalign(&memory, alignment, byteCount) == 0, let memory else {
            fatalError("MemoryBandwidthProbe: cannot allocate \(byteCount) bytes")
        }
        #if os(Linux)
        _ = madvise(memory, byteCount, MADV_HUGEPAGE)
        #endif
        return memory.bindMemory(to: Float.self, capacity: floatCount)
    }
}
