/// A candidate merge of two adjacent symbols in ``BytePairMerger``.
struct MergeCandidate {
    /// Higher merges first.
    var priority: Float
    /// The left symbol's index; on equal priority the leftmost merges first.
    var left: Int32
    var right: Int32
    /// The byte length of the merged symbol when the candidate was made; a candidate
    /// whose symbols have changed since no longer matches and is skipped.
    var length: Int32
    /// The id of the merged symbol.
    var id: Int32

    @inline(__always)
    func precedes(_ other: MergeCandidate) -> Bool {
        priority != other.priority ? priority > other.priority : left < other.left
    }
}

/// A max-heap of merge candidates (SentencePiece's `agenda`), 4-ary: each node's
/// children sit side by side (80 bytes, about one cache line), so a heap of a million
/// candidates (a long text) is half as deep as a binary one and costs fewer cache misses.
/// Elements move into a hole instead of being swapped.
struct MergeQueue {
    private(set) var storage: [MergeCandidate] = []

    var isEmpty: Bool { storage.isEmpty }

    mutating func removeAll() { storage.removeAll(keepingCapacity: true) }

    mutating func push(_ candidate: MergeCandidate) {
        storage.append(candidate)
        storage.withUnsafeMutableBufferPointer { heap in
            var child = heap.count - 1
            while child > 0 {
                let parent = (child - 1) / 4
                guard candidate.precedes(heap[parent]) else { break }
                heap[child] = heap[parent]
                child = parent
            }
            heap[child] = candidate
        }
    }

    mutating func pop() -> MergeCandidate? {
        guard let last = storage.popLast() else { return nil }
        guard !storage.isEmpty else { return last }
        return storage.withUnsafeMutableBufferPointer { heap in
            let top = heap[0], count = heap.count
            var hole = 0
            while true {
                let first = 4 * hole + 1
                if first >= count { break }
                var best = first
                let end = min(first + 4, count)
                var child = first + 1
                while child < end {
                    if heap[child].precedes(heap[best]) { best = child }
                    child += 1
                }
                guard heap[best].precedes(last) else { break }
                heap[hole] = heap[best]
                hole = best
            }
            heap[hole] = last
            return top
        }
    }
}
