import Foundation

/// Scratch memory that the backend reuses from one operation to the next, so that once
/// the first forward pass has run, matrix products and attention allocate nothing.
///
/// Operations may run on several tasks at once (a backend is shared); each takes a
/// buffer of its own and gives it back when done. A few buffers are kept, the largest
/// ones: a prefill step needs a dequantization panel, a decode step needs small buffers.
final class ScratchBuffers: @unchecked Sendable {
    private struct Buffer {
        let pointer: UnsafeMutableRawPointer
        let byteCount: Int
    }

    private let lock = NSLock()
    private var free: [Buffer] = []
    /// The most buffers kept for reuse.
    private let keptCount = 8

    deinit {
        for buffer in free { buffer.pointer.deallocate() }
    }

    /// Calls `body` with at least `byteCount` bytes, 64-byte aligned, not zeroed, that no
    /// one else uses until `body` returns.
    func withBuffer<Result>(byteCount: Int, _ body: (UnsafeMutableRawPointer) throws -> Result) rethrows -> Result {
        let buffer = take(byteCount: max(byteCount, 64))
        defer { give(buffer) }
        return try body(buffer.pointer)
    }

    /// Like ``withBuffer(byteCount:_:)`` for `count` values of `T`.
    func withBuffer<T, Result>(of type: T.Type, count: Int, _ body: (UnsafeMutablePointer<T>) throws -> Result) rethrows -> Result {
        try withBuffer(byteCount: max(count, 1) * MemoryLayout<T>.stride) { raw in
            try body(raw.bindMemory(to: T.self, capacity: max(count, 1)))
        }
    }

    private func take(byteCount: Int) -> Buffer {
        lock.lock()
        defer { lock.unlock() }
        var best: Int?
        for index in free.indices where free[index].byteCount >= byteCount {
            if best == nil || free[index].byteCount < free[best!].byteCount { best = index }
        }
        if let best { return free.remove(at: best) }
        return Buffer(pointer: .allocate(byteCount: byteCount, alignment: 64), byteCount: byteCount)
    }

    private func give(_ buffer: Buffer) {
        lock.lock()
        defer { lock.unlock() }
        free.append(buffer)
        if free.count > keptCount, let smallest = free.indices.min(by: { free[$0].byteCount < free[$1].byteCount }) {
            free.remove(at: smallest).pointer.deallocate()
        }
    }
}
