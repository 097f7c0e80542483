import CPUKernels
import Foundation
import Testing

/// The BLAS backend's thread pool (`ck_pool_run`): every loop is cut into pieces that
/// cover its rows exactly once, pieces that share a thread index never run at the same
/// time, and the pieces shrink towards the end of the loop so that no thread waits long
/// for another's last piece.
struct ThreadPoolTests {
    /// One piece as a task saw it.
    struct Piece {
        let chunk: Int
        let begin: Int
        let end: Int
        let started: UInt64
        let finished: UInt64
    }

    /// Collects the pieces of one loop from all threads.
    final class Recorder: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var pieces: [Piece] = []
        let workPerRow: Int

        init(workPerRow: Int) { self.workPerRow = workPerRow }

        func record(_ piece: Piece) {
            lock.lock()
            pieces.append(piece)
            lock.unlock()
        }
    }

    /// Runs one loop of `count` rows on `threads` threads and returns its pieces, in the
    /// order of their first rows. Each piece spins a little per row, so that the threads
    /// really overlap.
    func pieces(threads: Int, count: Int, workPerRow: Int = 200) -> [Piece] {
        let pool = ck_pool_create(Int32(threads))!
        defer { ck_pool_destroy(pool) }
        let recorder = Recorder(workPerRow: workPerRow)
        withExtendedLifetime(recorder) {
            ck_pool_run(pool, Int64(count), { context, chunk, begin, end in
                let recorder = Unmanaged<Recorder>.fromOpaque(context!).takeUnretainedValue()
                let started = DispatchTime.now().uptimeNanoseconds
                var sink = 0.0
                for row in Int(begin)..<Int(end) {
                    for step in 0..<recorder.workPerRow { sink += Double(row &* step) }
                }
                blackHole(sink)
                let finished = DispatchTime.now().uptimeNanoseconds
                recorder.record(Piece(chunk: Int(chunk), begin: Int(begin), end: Int(end), started: started, finished: finished))
            }, Unmanaged.passUnretained(recorder).toOpaque())
        }
        return recorder.pieces.sorted { $0.begin < $1.begin }
    }

    @Test(arguments: [1, 2, 3, 4])
    func piecesCoverEveryRowOnce(threads: Int) {
        for count in [0, 1, 2, 3, 5, 8, 63, 64, 65, 1000, 4097, 100_003] {
            let pieces = pieces(threads: threads, count: count, workPerRow: count > 10_000 ? 2 : 200)
            var next = 0
            for piece in pieces {
                #expect(piece.begin == next, "threads \(threads), count \(count): a piece starts at \(piece.begin), expected \(next)")
                #expect(piece.end > piece.begin, "threads \(threads), count \(count): empty piece at \(piece.begin)")
                #expect((0..<threads).contains(piece.chunk), "threads \(threads): thread index \(piece.chunk)")
                next = piece.end
            }
            #expect(next == count, "threads \(threads), count \(count): pieces end at \(next)")
        }
    }

    @Test(arguments: [2, 3, 4])
    func piecesOfOneThreadIndexDoNotOverlap(threads: Int) {
        let pieces = pieces(threads: threads, count: 5000)
        for index in 0..<threads {
            let own = pieces.filter { $0.chunk == index }.sorted { $0.started < $1.started }
            for (earlier, later) in zip(own, own.dropFirst()) {
                #expect(earlier.finished <= later.started, "thread index \(index): pieces \(earlier.begin) and \(later.begin) overlap")
            }
        }
    }

    /// Large pieces first (at most half the rows per thread), then smaller ones: the last
    /// piece is the smallest piece, 1/(threads · 32) of the loop.
    @Test(arguments: [2, 4])
    func piecesShrinkTowardsTheEnd(threads: Int) {
        let count = 64_000
        let pieces = pieces(threads: threads, count: count, workPerRow: 2)
        let smallest = count / (threads * 32)
        #expect(pieces.count > 2 * threads, "\(pieces.count) pieces")
        #expect(pieces.count < 64 * threads, "\(pieces.count) pieces")
        for piece in pieces {
            #expect(piece.end - piece.begin <= count / (2 * threads), "a piece of \(piece.end - piece.begin) rows")
            #expect(piece.end - piece.begin >= min(smallest, count - piece.begin), "a piece of \(piece.end - piece.begin) rows")
        }
        let sizes = pieces.map { $0.end - $0.begin }
        #expect(sizes.first! > sizes.last!, "first piece \(sizes.first!) rows, last \(sizes.last!)")
        #expect(sizes.last! <= smallest, "last piece \(sizes.last!) rows")
    }
}

@inline(never) private func blackHole(_ value: Double) {
    if value.isNaN { print(value) }
}
