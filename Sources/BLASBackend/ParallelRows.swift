import CPUKernels

/// Runs loops over rows on the backend's threads: a ``ck_pool`` whose workers spin
/// briefly between loops, so the hundreds of short loops of a forward pass start
/// without a system call each. Small jobs run on the calling thread alone: below
/// about `minimumWorkPerThread` units of work, waking threads costs more than it saves.
final class ParallelRows: @unchecked Sendable {
    let threadCount: Int
    fileprivate let pool: OpaquePointer
    static let minimumWorkPerThread = 1 << 14

    init(threadCount: Int) {
        self.threadCount = max(1, threadCount)
        pool = ck_pool_create(Int32(self.threadCount))
    }

    deinit { ck_pool_destroy(pool) }

    /// Puts the workers to sleep until the next ``run(rowCount:workPerRow:_:)``: call it
    /// before handing the cores to OpenBLAS's own threads.
    func park() { ck_pool_park(pool) }

    /// Whether a loop is too small to be worth waking the other threads.
    fileprivate func runsOnCallingThread(rowCount: Int, workPerRow: Int) -> Bool {
        threadCount == 1 || rowCount == 1 || rowCount * max(workPerRow, 1) < 2 * Self.minimumWorkPerThread
    }

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
        if runsOnCallingThread(rowCount: rowCount, workPerRow: workPerRow) {
            body(0, 0, rowCount)
            return
        }
        withoutActuallyEscaping(body) { body in
            var context = ChunkBody(call: body)
            withUnsafeMutablePointer(to: &context) { pointer in
                ck_pool_run(pool, Int64(rowCount), { raw, chunk, begin, end in
                    raw!.assumingMemoryBound(to: ChunkBody.self).pointee.call(Int(chunk), Int(begin), Int(end))
                }, pointer)
            }
        }
    }
}

extension ParallelRows {
    /// Like ``runChunks(rowCount:workPerRow:_:)``, for the loops of every decoded token:
    /// `body` is a C function, so it captures nothing, and everything it needs comes in
    /// `arguments` (its first parameter points to them). Such a loop allocates nothing; a
    /// Swift closure handed to the pool's threads costs a small heap box per loop (the
    /// check that it did not escape), hundreds per token.
    func runTasks<Arguments>(
        rowCount: Int, workPerRow: Int, arguments: Arguments,
        _ body: @convention(c) (_ arguments: UnsafeMutableRawPointer?, _ chunk: Int32, _ begin: Int64, _ end: Int64) -> Void
    ) {
        guard rowCount > 0 else { return }
        var arguments = arguments
        withUnsafeMutablePointer(to: &arguments) { pointer in
            if runsOnCallingThread(rowCount: rowCount, workPerRow: workPerRow) {
                body(pointer, 0, 0, Int64(rowCount))
            } else {
                ck_pool_run(pool, Int64(rowCount), body, pointer)
            }
        }
    }
}

/// The loop body handed to the C pool through a pointer. A closure stored in a struct's
/// field keeps its own calling convention; stored bare (`UnsafeMutablePointer` to a
/// function type) it would also be wrapped in a reabstraction thunk allocated on the heap
/// at every loop (the loops of a decoded token use ``ParallelRows/runTasks`` instead).
private struct ChunkBody {
    let call: (Int, Int, Int) -> Void
}
