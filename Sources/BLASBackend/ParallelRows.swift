import Dispatch

/// Splits a range of rows into one contiguous chunk per thread and runs them at
/// the same time. Small jobs run on the calling thread: waking threads costs more
/// than it saves below about `minimumWorkPerThread` units of work.
struct ParallelRows {
    let threadCount: Int
    static let minimumWorkPerThread = 1 << 15

    /// Calls `body(begin, end)` on disjoint chunks covering `0..<rowCount`.
    /// `workPerRow` (for example the row length) decides how many threads are worth it.
    func run(rowCount: Int, workPerRow: Int, _ body: (Int, Int) -> Void) {
        let worthwhile = max(1, rowCount * max(workPerRow, 1) / Self.minimumWorkPerThread)
        let chunks = min(threadCount, rowCount, worthwhile)
        guard chunks > 1 else {
            if rowCount > 0 { body(0, rowCount) }
            return
        }
        // The chunks write disjoint rows, so sharing `body` between threads is safe.
        nonisolated(unsafe) let body = body
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let begin = rowCount * chunk / chunks
            let end = rowCount * (chunk + 1) / chunks
            body(begin, end)
        }
    }
}
