import CLibFuzzer

/// A small deterministic generator (SplitMix64), seeded by libFuzzer's seed so that a
/// mutation can be replayed.
public struct FuzzRandom {
    var state: UInt64

    public init(seed: UInt32) { state = UInt64(seed) &* 0x9E37_79B9_7F4A_7C15 | 1 }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in `0..<bound` (`bound` > 0).
    public mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

    public mutating func chance(_ numerator: Int, in denominator: Int) -> Bool { below(denominator) < numerator }

    public mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
}

/// Values that tend to break code which trusts a count, a length or an offset: the
/// edges of the integer types, powers of two, and sizes an allocation would choke on.
public enum InterestingValues {
    public static let unsigned: [UInt64] = [
        0, 1, 2, 3, 4, 5, 6, 7, 8, 15, 16, 31, 32, 33, 63, 64, 127, 128, 255, 256, 1023, 1024, 4095, 4096,
        0x7FFF, 0x8000, 0xFFFF, 0x1_0000, 1 << 20, 1 << 24, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 1 << 32,
        1 << 40, 1 << 48, 1 << 62, UInt64(Int64.max), 1 << 63, UInt64.max - 1, UInt64.max,
    ]

    /// A replacement for an integer field of `width` bytes now holding `current`.
    /// `related` are numbers from the same input (its size, the bytes left, other
    /// offsets) that make plausible-but-wrong values.
    public static func value(replacing current: UInt64, width: Int, related: [UInt64], random: inout FuzzRandom) -> UInt64 {
        let mask: UInt64 = width >= 8 ? .max : (1 << UInt64(width * 8)) - 1
        let value: UInt64
        switch random.below(10) {
        case 0...3: value = random.pick(unsigned)
        case 4, 5:
            let delta = UInt64(1 + random.below(16))
            value = random.chance(1, in: 2) ? current &+ delta : current &- delta
        case 6, 7:
            let base = related.isEmpty ? current : random.pick(related)
            value = base &+ UInt64(bitPattern: Int64(random.below(3) - 1))
        case 8: value = current &* 2 &+ UInt64(random.below(2))
        default: value = random.next()
        }
        return value & mask
    }
}

extension Array where Element == UInt8 {
    public func loadLittleEndian(at offset: Int, width: Int) -> UInt64 {
        var value: UInt64 = 0
        for i in 0..<width { value |= UInt64(self[offset + i]) << UInt64(8 * i) }
        return value
    }

    public mutating func storeLittleEndian(_ value: UInt64, at offset: Int, width: Int) {
        for i in 0..<width { self[offset + i] = UInt8(truncatingIfNeeded: value >> UInt64(8 * i)) }
    }
}

/// An integer field of a binary format: where it is, how wide, and which group of
/// fields it belongs to (counts, lengths, tensor descriptions, values…), so that a
/// mutation picks a group first and the many fields of a large group (a vocabulary's
/// string lengths) do not drown the few of a small one (the header's counts).
public struct IntegerField {
    public var offset: Int
    public var width: Int
    public var group: Int

    public init(offset: Int, width: Int, group: Int) {
        self.offset = offset
        self.width = width
        self.group = group
    }
}

/// Replaces one of `fields` with an interesting value; `false` when there is none.
public func mutateIntegerField(_ bytes: inout [UInt8], _ fields: [IntegerField], related: [UInt64], random: inout FuzzRandom) -> Bool {
    guard !fields.isEmpty else { return false }
    let groups = Array(Set(fields.map(\.group))).sorted()
    let group = random.pick(groups)
    let candidates = fields.filter { $0.group == group }
    let field = random.pick(candidates)
    let current = bytes.loadLittleEndian(at: field.offset, width: field.width)
    let value = InterestingValues.value(replacing: current, width: field.width, related: related, random: &random)
    bytes.storeLittleEndian(value, at: field.offset, width: field.width)
    return true
}

/// The body of a `LLVMFuzzerCustomMutator`: half the time a structure-aware mutation
/// (`mutate`, which returns `false` when it found nothing to change), otherwise — and
/// whenever the structured result would not fit in `maxSize` — libFuzzer's own.
public func customMutate(
    _ data: UnsafeMutablePointer<UInt8>?, _ size: Int, _ maxSize: Int, _ seed: UInt32,
    _ mutate: (inout [UInt8], inout FuzzRandom) -> Bool
) -> Int {
    guard let data else { return 0 }
    var random = FuzzRandom(seed: seed)
    if random.chance(1, in: 2) {
        var bytes = Array(UnsafeBufferPointer(start: data, count: size))
        if mutate(&bytes, &random), bytes.count <= maxSize {
            bytes.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: $0.count) }
            return bytes.count
        }
    }
    return LLVMFuzzerMutate(data, size, maxSize)
}

/// Runs libFuzzer with `entry` as the fuzz target; called from each target's
/// main.swift (SwiftPM gives an executable its own `main`, so libFuzzer's is not used).
public func runLibFuzzer(_ entry: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Never {
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, entry))
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
