/// The ranked merges of a BPE model (`tokenizers`' `BPE`, llama.cpp's `bpe_ranks`), keyed
/// by the ids of the two tokens, and the merge loop that applies them: the adjacent pair
/// with the lowest rank merges first, the leftmost on a tie (``BytePairMerger``).
///
/// An open-addressing hash table from the id pair to (rank, merged id): looked up for
/// every adjacent pair of every word, so it avoids `Dictionary`'s per-lookup hashing cost.
struct RankedMerges: Sendable {
    private var keys: [UInt64]
    private var ranks: [Int32]
    private var mergedIDs: [Int32]
    private var mask: Int
    private(set) var count = 0

    /// The most merges a vocabulary may have: ranks must stay exact as `Float`
    /// priorities in ``BytePairMerger``.
    static let maximumCount = 1 << 24

    private static let empty = UInt64.max

    init(capacity: Int) {
        var size = 16
        while size < min(capacity, Self.maximumCount) * 2 { size *= 2 }
        keys = Array(repeating: Self.empty, count: size)
        ranks = Array(repeating: 0, count: size)
        mergedIDs = Array(repeating: 0, count: size)
        mask = size - 1
    }

    @inline(__always)
    private static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    @inline(__always)
    private func slot(of key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
    }

    /// Adds a merge; a pair already present keeps its first (lowest) rank. Returns
    /// whether it was added.
    @discardableResult
    mutating func add(left: Int, right: Int, merged: Int, rank: Int) -> Bool {
        if (count + 1) * 2 > keys.count { grow() }
        let key = Self.key(Int32(left), Int32(right))
        var index = slot(of: key)
        while keys[index] != Self.empty {
            if keys[index] == key { return false }
            index = (index + 1) & mask
        }
        keys[index] = key
        ranks[index] = Int32(rank)
        mergedIDs[index] = Int32(merged)
        count += 1
        return true
    }

    private mutating func grow() {
        let old = (keys, ranks, mergedIDs)
        keys = Array(repeating: Self.empty, count: old.0.count * 2)
        ranks = Array(repeating: 0, count: keys.count)
        mergedIDs = Array(repeating: 0, count: keys.count)
        mask = keys.count - 1
        count = 0
        for index in old.0.indices where old.0[index] != Self.empty {
            let key = old.0[index]
            add(left: Int(Int32(bitPattern: UInt32(key >> 32))), right: Int(Int32(bitPattern: UInt32(truncatingIfNeeded: key))),
                merged: Int(old.2[index]), rank: Int(old.1[index]))
        }
    }

    /// The rank and merged id of the pair (`left`, `right`), if they merge.
    @inline(__always)
    func lookup(_ left: Int32, _ right: Int32) -> (rank: Int32, id: Int32)? {
        let key = Self.key(left, right)
        return keys.withUnsafeBufferPointer { keys -> (Int32, Int32)? in
            var index = slot(of: key)
            while true {
                let stored = keys[index]
                if stored == key { return (ranks[index], mergedIDs[index]) }
                if stored == Self.empty { return nil }
                index = (index + 1) & mask
            }
        }
    }

    /// Every merge as (rank, merged id), in no particular order.
    var entries: [(rank: Int, id: Int)] {
        keys.indices.filter { keys[$0] != Self.empty }.map { (Int(ranks[$0]), Int(mergedIDs[$0])) }
    }

    /// Merges `symbols` (each with its token id) and appends the ids of the result.
    func merge(_ symbols: [BytePairMerger.Symbol], using merger: inout BytePairMerger, into ids: inout [Int]) {
        if symbols.count == 1 {
            if symbols[0].id >= 0 { ids.append(Int(symbols[0].id)) }
            return
        }
        merger.reset(symbols)
        merger.run(candidate: { left, right in
            guard left.id >= 0, right.id >= 0, let merge = self.lookup(left.id, right.id) else { return nil }
            return (-Float(merge.rank), merge.id)
        })
        merger.forEachResult { symbol in
            if symbol.id >= 0 { ids.append(Int(symbol.id)) }
        }
    }
}
