import CPUKernels
import Dispatch
import Foundation

/// Measures read bandwidth the way a bandwidth-bound decoder uses memory: threads
/// sum disjoint parts of a buffer much larger than the caches, once per pass.
public enum MemoryBandwidthProbe {
    /// Bytes per second read by `threadCount` threads summing a buffer of `byteCount`
    /// bytes; the median of `passes` passes after one warm-up pass.
    public static func measure(byteCount: Int = 1 << 30, threadCount: Int, passes: Int = 5) -> Double {
        let count = byteCount / 4
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: count)
        defer { buffer.deallocate() }
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
}
