/// A hash table from byte strings to ids that is queried with a byte range of
/// another buffer, so that looking up "the two adjacent symbols joined" costs no
/// allocation. Open addressing with linear probing; FNV-1a hashes.
struct PieceTable: Sendable {
    private var bytes: [UInt8] = []
    private var starts: [Int32] = []
    private var lengths: [Int32] = []
    private var ids: [Int32] = []
    /// Indexes into `starts`/`ids`, or -1 for an empty slot.
    private var slots: [Int32]
    private let mask: Int

    /// Builds the table of `entries` (piece bytes, id). A later duplicate of the
    /// same bytes does not replace the first (the lowest id wins, as in SentencePiece
    /// where a piece appears once).
    init(_ entries: [([UInt8], Int)]) {
        var capacity = 16
        while capacity < entries.count * 2 { capacity *= 2 }
        slots = Array(repeating: -1, count: capacity)
        mask = capacity - 1
        for (piece, id) in entries {
            let found = piece.withUnsafeBufferPointer { lookup($0) }
            if found != nil { continue }
            let index = Int32(ids.count)
            starts.append(Int32(bytes.count))
            lengths.append(Int32(piece.count))
            ids.append(Int32(id))
            bytes.append(contentsOf: piece)
            var slot = piece.withUnsafeBufferPointer { Self.hash($0) } & mask
            while slots[slot] >= 0 { slot = (slot + 1) & mask }
            slots[slot] = index
        }
    }

    @inline(__always)
    static func hash(_ key: UnsafeBufferPointer<UInt8>) -> Int {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in key {
            h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3
        }
        return Int(truncatingIfNeeded: h ^ (h >> 29))
    }

    /// The id of the piece spelled by `key`, if any.
    @inline(__always)
    func lookup(_ key: UnsafeBufferPointer<UInt8>) -> Int? {
        var slot = Self.hash(key) & mask
        return bytes.withUnsafeBufferPointer { stored in
            while true {
                let index = Int(slots[slot])
                if index < 0 { return nil }
                if Int(lengths[index]) == key.count {
                    let start = Int(starts[index])
                    var equal = true
                    for i in 0..<key.count where stored[start + i] != key[i] {
                        equal = false
                        break
                    }
                    if equal { return Int(ids[index]) }
                }
                slot = (slot + 1) & mask
            }
        }
    }

    func lookup(_ key: [UInt8]) -> Int? {
        key.withUnsafeBufferPointer { lookup($0) }
    }
}
