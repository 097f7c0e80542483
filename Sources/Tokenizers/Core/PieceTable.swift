import Foundation

/// A hash table from byte strings to ids that is queried with a byte range of
/// another buffer, so that looking up "the two adjacent symbols joined" costs no
/// allocation. Open addressing with linear probing; FNV-1a hashes, kept with each
/// entry so that most mismatches are rejected without comparing bytes.
struct PieceTable: Sendable {
    private struct Entry {
        var start: Int32
        var length: Int32
        var id: Int32
        var hash: UInt32
    }

    private var bytes: [UInt8] = []
    private var entries: [Entry] = []
    /// Indexes into `entries`, or -1 for an empty slot.
    private var slots: [Int32]
    private let mask: Int

    /// Builds the table of `pieces` (piece bytes, id). A later duplicate of the
    /// same bytes does not replace the first (the lowest id wins, as in SentencePiece
    /// where a piece appears once).
    init(_ pieces: [([UInt8], Int)]) {
        var capacity = 16
        while capacity < pieces.count * 2 { capacity *= 2 }
        slots = Array(repeating: -1, count: capacity)
        mask = capacity - 1
        for (piece, id) in pieces {
            piece.withUnsafeBufferPointer { key in
                let hash = Self.hash(key)
                if lookup(key, hash: hash) == nil { insert(piece, id: id, hash: hash) }
            }
        }
    }

    private mutating func insert(_ piece: [UInt8], id: Int, hash: UInt32) {
        let index = Int32(entries.count)
        entries.append(Entry(start: Int32(bytes.count), length: Int32(piece.count), id: Int32(id), hash: hash))
        bytes.append(contentsOf: piece)
        var slot = Int(hash) & mask
        while slots[slot] >= 0 { slot = (slot + 1) & mask }
        slots[slot] = index
    }

    @inline(__always)
    static func hash(_ key: UnsafeBufferPointer<UInt8>) -> UInt32 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in key {
            h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3
        }
        return UInt32(truncatingIfNeeded: h ^ (h >> 29))
    }

    /// The id of the piece spelled by `key`, if any.
    @inline(__always)
    func lookup(_ key: UnsafeBufferPointer<UInt8>) -> Int? {
        lookup(key, hash: Self.hash(key))
    }

    @inline(__always)
    private func lookup(_ key: UnsafeBufferPointer<UInt8>, hash: UInt32) -> Int? {
        slots.withUnsafeBufferPointer { slots in
            entries.withUnsafeBufferPointer { entries in
                bytes.withUnsafeBufferPointer { stored -> Int? in
                    var slot = Int(hash) & mask
                    while true {
                        let index = Int(slots[slot])
                        if index < 0 { return nil }
                        let entry = entries[index]
                        if entry.hash == hash, Int(entry.length) == key.count,
                           key.isEmpty || memcmp(stored.baseAddress! + Int(entry.start), key.baseAddress!, key.count) == 0 {
                            return Int(entry.id)
                        }
                        slot = (slot + 1) & mask
                    }
                }
            }
        }
    }

    func lookup(_ key: [UInt8]) -> Int? {
        key.withUnsafeBufferPointer { lookup($0) }
    }
}
