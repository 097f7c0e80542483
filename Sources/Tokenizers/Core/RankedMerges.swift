/// The ranked merges of a BPE model (`tokenizers`' `BPE`, llama.cpp's `bpe_ranks`), keyed
/// by the ids of the two tokens, and the merge loop that applies them: the adjacent pair
/// with the lowest rank merges first, the leftmost on a tie (``BytePairMerger``).
///
/// An open-addressing hash table from the id pair to (rank, merged id): looked up for
/// every adjacent pair of every word, so it avoids `Dictionary`'s per-lookup hashing cost.
struct RankedMerges: Sendable {
    /// One slot of the table: key, rank and merged id side by side, so that a probe
    /// touches one cache line.
    private struct Slot {
        var key: UInt64
        var rank: Int32
        var id: Int32
    }

    private var slots: [Slot]
    private var mask: Int
    private(set) var count = 0

    /// The most merges a vocabulary may have: ranks must stay exact as `Float`
    /// priorities in ``BytePairMerger``.
    static let maximumCount = 1 << 24

    private static let empty = UInt64.max

    init(capacity: Int) {
        var size = 16
        while size < min(capacity, Self.maximumCount) * 2 { size *= 2 }
        slots = Array(repeating: Slot(key: Self.empty, rank: 0, id: 0), count: size)
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
        if (count + 1) * 2 > slots.count { grow() }
        let key = Self.key(Int32(left), Int32(right))
        let mask = self.mask
        var index = slot(of: key)
        let added = slots.withUnsafeMutableBufferPointer { slots -> Bool in
            while slots[index].key != Self.empty {
                if slots[index].key == key { return false }
                index = (index + 1) & mask
            }
            slots[index] = Slot(key: key, rank: Int32(rank), id: Int32(merged))
            return true
        }
        if added { count += 1 }
        return added
    }

    private mutating func grow() {
        let old = slots
        slots = Array(repeating: Slot(key: Self.empty, rank: 0, id: 0), count: old.count * 2)
        mask = slots.count - 1
        count = 0
        for slot in old where slot.key != Self.empty {
            add(left: Int(Int32(bitPattern: UInt32(slot.key >> 32))), right: Int(Int32(bitPattern: UInt32(truncatingIfNeeded: slot.key))),
                merged: Int(slot.id), rank: Int(slot.rank))
        }
    }

    /// The rank and merged id of the pair (`left`, `right`), if they merge.
    @inline(__always)
    func lookup(_ left: Int32, _ right: Int32) -> (rank: Int32, id: Int32)? {
        let key = Self.key(left, right)
        return slots.withUnsafeBufferPointer { slots -> (Int32, Int32)? in
            var index = slot(of: key)
            while true {
                let stored = slots[index]
                if stored.key == key { return (stored.rank, stored.id) }
                if stored.key == Self.empty { return nil }
                index = (index + 1) & mask
            }
        }
    }

    /// Every merge as (rank, merged id), in no particular order.
    var entries: [(rank: Int, id: Int)] {
        slots.filter { $0.key != Self.empty }.map { (Int($0.rank), Int($0.id)) }
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
