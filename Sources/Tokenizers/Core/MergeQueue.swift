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

/// A binary max-heap of merge candidates (SentencePiece's `agenda`).
struct MergeQueue {
    private(set) var storage: [MergeCandidate] = []

    var isEmpty: Bool { storage.isEmpty }

    mutating func removeAll() { storage.removeAll(keepingCapacity: true) }

    mutating func push(_ candidate: MergeCandidate) {
        storage.append(candidate)
        var child = storage.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard storage[child].precedes(storage[parent]) else { break }
            storage.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> MergeCandidate? {
        guard !storage.isEmpty else { return nil }
        let top = storage[0]
        let last = storage.removeLast()
        if !storage.isEmpty {
            storage[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var best = parent
                if left < storage.count, storage[left].precedes(storage[best]) { best = left }
                if right < storage.count, storage[right].precedes(storage[best]) { best = right }
                if best == parent { break }
                storage.swapAt(parent, best)
                parent = best
            }
        }
        return top
    }
}
