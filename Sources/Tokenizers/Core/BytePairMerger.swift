/// The merge loop of byte-pair encoding, shared by the SentencePiece and Hugging Face
/// tokenizers: symbols are adjacent byte ranges of one buffer in a linked list; all
/// mergeable adjacent pairs wait in a priority queue; the best pair (highest priority,
/// then leftmost) is merged and the pairs around it are proposed again, until no pair
/// can merge. O(n log n) in the number of symbols.
struct BytePairMerger {
    struct Symbol {
        /// The first byte in the buffer.
        var start: Int32
        /// The number of bytes; 0 once merged into the symbol on its left.
        var length: Int32
        var previous: Int32
        var next: Int32
        /// The vocabulary id of the symbol, or -1 if it has none (yet).
        var id: Int32
        /// A frozen symbol (a user-defined token) never merges.
        var frozen: Bool
    }

    private(set) var symbols: [Symbol] = []
    private var queue = MergeQueue()

    /// Replaces the symbols with `initial`, linked in order.
    mutating func reset(_ initial: [Symbol]) {
        reset(initial[...])
    }

    /// Replaces the symbols with `initial`, linked in order, reusing the storage.
    mutating func reset(_ initial: ArraySlice<Symbol>) {
        symbols.removeAll(keepingCapacity: true)
        symbols.append(contentsOf: initial)
        for i in symbols.indices {
            symbols[i].previous = Int32(i - 1)
            symbols[i].next = i + 1 < symbols.count ? Int32(i + 1) : -1
        }
        queue.removeAll()
    }

    /// Runs the merges. `candidate(left, right)` gives the priority and the merged id
    /// of two adjacent symbols, or `nil` when they cannot merge; `merged` is told of each
    /// merge as it happens.
    mutating func run(
        candidate: (Symbol, Symbol) -> (priority: Float, id: Int32)?,
        merged: ((Symbol, Symbol, Int32) -> Void)? = nil
    ) {
        func propose(_ left: Int32, _ right: Int32) {
            guard left >= 0, right >= 0 else { return }
            let l = symbols[Int(left)], r = symbols[Int(right)]
            guard !l.frozen, !r.frozen, let (priority, id) = candidate(l, r) else { return }
            queue.push(MergeCandidate(priority: priority, left: left, right: right, length: l.length + r.length, id: id))
        }
        for i in 0..<max(0, symbols.count - 1) { propose(Int32(i), Int32(i + 1)) }
        while let top = queue.pop() {
            let l = symbols[Int(top.left)], r = symbols[Int(top.right)]
            // Skip candidates made stale by an earlier merge.
            guard l.length > 0, r.length > 0, l.next == top.right, l.length + r.length == top.length else { continue }
            merged?(l, r, top.id)
            symbols[Int(top.left)].length = top.length
            symbols[Int(top.left)].id = top.id
            symbols[Int(top.left)].next = r.next
            if r.next >= 0 { symbols[Int(r.next)].previous = top.left }
            symbols[Int(top.right)].length = 0
            propose(l.previous, top.left)
            propose(top.left, r.next)
        }
    }

    /// Calls `body` with the surviving symbols in order.
    func forEachResult(_ body: (Symbol) -> Void) {
        var index: Int32 = symbols.isEmpty ? -1 : 0
        while index >= 0 {
            body(symbols[Int(index)])
            index = symbols[Int(index)].next
        }
    }

    /// The surviving symbols in order.
    var result: [Symbol] {
        var output: [Symbol] = []
        var index: Int32 = symbols.isEmpty ? -1 : 0
        while index >= 0 {
            output.append(symbols[Int(index)])
            index = symbols[Int(index)].next
        }
        return output
    }
}

extension UTF8 {
    /// The byte length of the UTF-8 sequence starting with `lead` (1 for a
    /// continuation byte, so that malformed input still advances).
    @inline(__always)
    static func sequenceLength(lead: UInt8) -> Int {
        switch lead {
        case 0xF0...: 4
        case 0xE0...: 3
        case 0xC0...: 2
        default: 1
        }
    }
}
