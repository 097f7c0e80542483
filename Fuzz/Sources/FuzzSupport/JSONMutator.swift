/// Structure-aware mutation of JSON text: numbers (ids, sizes, counts, offsets) are
/// replaced with the values that break code trusting them — negative, zero, 2^31,
/// 2^62, 2^63, beyond `Int64`, fractions, exponents — or with a value of another type.
public enum JSONMutator {
    static let replacements: [String] = [
        "0", "-1", "1", "2", "-2", "3", "-0", "7", "8", "255", "256", "4096", "65535", "65536", "2147483647",
        "2147483648", "-2147483648", "-2147483649", "4294967295", "4294967296", "4611686018427387904",
        "9223372036854775807", "9223372036854775808", "-9223372036854775808", "18446744073709551615",
        "18446744073709551616", "99999999999999999999999", "1e308", "1e309", "-1e309", "1.5", "0.5", "-0.5", "1e-400",
        "1e18", "1e19", "4.611686018427388e18", "null", "true", "\"1\"", "[]", "{}", "[1]", "[-1]",
    ]

    /// The byte ranges of the numbers in `text`, outside strings.
    public static func numberRanges(_ text: [UInt8], in range: Range<Int>? = nil) -> [Range<Int>] {
        let range = range ?? text.indices
        var ranges: [Range<Int>] = []
        var i = range.lowerBound
        while i < range.upperBound {
            let c = text[i]
            if c == UInt8(ascii: "\"") {
                i += 1
                while i < range.upperBound && text[i] != UInt8(ascii: "\"") { i += text[i] == UInt8(ascii: "\\") ? 2 : 1 }
                i += 1
            } else if c == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) {
                let start = i
                i += 1
                while i < range.upperBound, "0123456789.eE+-".utf8.contains(text[i]) { i += 1 }
                ranges.append(start..<i)
            } else {
                i += 1
            }
        }
        return ranges
    }

    /// A new text for the number `old`.
    static func replacement(for old: [UInt8], random: inout FuzzRandom) -> [UInt8] {
        if random.chance(1, in: 4), let value = Int64(String(decoding: old, as: UTF8.self)) {
            let delta = Int64(1 + random.below(8))
            let changed = random.chance(1, in: 2) ? value &+ delta : value &- delta
            return Array(String(random.chance(1, in: 4) ? value &* 2 : changed).utf8)
        }
        return Array(random.pick(replacements).utf8)
    }

    /// Replaces one number of `bytes[range]` (the whole text by default); returns the
    /// change in length, or `nil` when the text has no number.
    @discardableResult
    public static func mutateNumber(_ bytes: inout [UInt8], in range: Range<Int>? = nil, _ random: inout FuzzRandom) -> Int? {
        let numbers = numberRanges(bytes, in: range)
        guard !numbers.isEmpty else { return nil }
        let target = random.pick(numbers)
        let new = replacement(for: Array(bytes[target]), random: &random)
        bytes.replaceSubrange(target, with: new)
        return new.count - target.count
    }

    public static func mutate(_ bytes: inout [UInt8], _ random: inout FuzzRandom) -> Bool {
        mutateNumber(&bytes, &random) != nil
    }
}

/// Structure-aware mutation of `.safetensors` files: the 8-byte header length, or a
/// number in the JSON header (`shape`, `data_offsets`) with the header length updated
/// to match (most of the time), so the file still reaches the offset checks.
public enum SafetensorsMutator {
    public static func mutate(_ bytes: inout [UInt8], _ random: inout FuzzRandom) -> Bool {
        guard bytes.count >= 8 else { return false }
        let headerLength = bytes.loadLittleEndian(at: 0, width: 8)
        let headerEnd = headerLength <= UInt64(bytes.count - 8) ? 8 + Int(headerLength) : bytes.count
        if random.chance(1, in: 4) || headerEnd == 8 {
            let related = [UInt64(bytes.count - 8), headerLength, UInt64(bytes.count)]
            return mutateIntegerField(&bytes, [IntegerField(offset: 0, width: 8, group: 0)], related: related, random: &random)
        }
        guard let delta = JSONMutator.mutateNumber(&bytes, in: 8..<headerEnd, &random) else { return false }
        if random.chance(7, in: 8) {
            bytes.storeLittleEndian(UInt64(bitPattern: Int64(headerEnd - 8 + delta)), at: 0, width: 8)
        }
        return true
    }
}
