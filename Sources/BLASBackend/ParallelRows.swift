import CPUKernels

/// Runs loops over rows on the backend's threads: a ``ck_pool`` whose workers spin
/// briefly between loops, so the hundreds of short loops of a forward pass start
/// without a system call each. Small jobs run on the calling thread alone: below
/// about `minimumWorkPerThread` units of work, waking threads costs more than it saves.
final class ParallelRows: @unchecked Sendable {
    let threadCount: Int
    private let pool: OpaquePointer
    static let minimumWorkPerThread = 1 << 14

    init(threadCount: Int) {
        self.threadCount = max(1, threadCount)
        pool = ck_pool_create(Int32(self.threadCount))
    }

    deinit { ck_pool_destroy(pool) }

    /// Puts the workers to sleep until the next ``run(rowCount:workPerRow:_:)``: call it
    /// before handing the cores to OpenBLAS's own threads.
    func park() { ck_pool_park(pool) }

    /// Calls `body(begin, end)` on disjoint chunks covering `0..<rowCount`, in parallel.
    /// `workPerRow` (for example the row length) decides whether threads are worth it.
    func run(rowCount: Int, workPerRow: Int, _ body: (Int, Int) -> Void) {
        runChunks(rowCount: rowCount, workPerRow: workPerRow) { _, begin, end in body(begin, end) }
    }

    /// Like ``run(rowCount:workPerRow:_:)``, with the index of the thread running the chunk
    /// (`0..<threadCount`) as the first argument: no two chunks that run at the same time
    /// share an index, so it can select a slice of scratch memory. The threads claim chunks
    /// as they become free, large ones first and small ones at the end (`ck_pool_run`).
    func runChunks(rowCount: Int, workPerRow: Int, _ body: (Int, Int, Int) -> Void) {
        guard rowCount > 0 else { return }
        if threadCount == 1 || rowCount * max(workPerRow, 1) < 2 * Self.minimumWorkPerThread || rowCount == 1 {
            body(0, 0, rowCount)
            return
        }
        withoutActuallyEscaping(body) { body in
            var context = body
            withUnsafeMutablePointer(to: &context) { pointer in
                ck_pool_run(pool, Int64(rowCount), { raw, chunk, begin, end in
                    let body = raw!.assumingMemoryBound(to: ((Int, Int, Int) -> Void).self).pointee
                    body(Int(chunk), Int(begin), Int(end))
                }, pointer)
            }
        }
    }
}
