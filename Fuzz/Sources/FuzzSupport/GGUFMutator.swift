/// Structure-aware mutation of GGUF files: a lenient walk of the header finds every
/// count, length, type, dimension and offset (and the integer metadata values, where
/// keys such as `llama.block_count` live), and one of them gets an interesting value.
public enum GGUFMutator {
    enum Group: Int { case header = 0, lengths, arrayCounts, types, elementLengths, tensorInfo, tensorOffsets, values }

    /// The integer fields of the file, as far as its header can be walked, and the
    /// tensor offsets it states.
    static func fields(_ b: [UInt8]) -> (fields: [IntegerField], offsets: [UInt64]) {
        var fields: [IntegerField] = []
        var offsets: [UInt64] = []
        var position = 0
        func field(_ width: Int, _ group: Group) -> UInt64? {
            guard position + width <= b.count else { return nil }
            fields.append(IntegerField(offset: position, width: width, group: group.rawValue))
            let value = b.loadLittleEndian(at: position, width: width)
            position += width
            return value
        }
        func skip(_ count: UInt64) -> Bool {
            guard count <= UInt64(b.count - position) else { return false }
            position += Int(count)
            return true
        }
        let scalarSizes: [UInt64: Int] = [0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8]
        let integerTypes: Set<UInt64> = [0, 1, 2, 3, 4, 5, 7, 10, 11]
        func value(_ type: UInt64, depth: Int, group: Group) -> Bool {
            if let size = scalarSizes[type] {
                if integerTypes.contains(type) { return field(size, group) != nil }
                return skip(UInt64(size))
            }
            switch type {
            case 8:
                guard let length = field(8, group == .values ? .lengths : .elementLengths) else { return false }
                return skip(length)
            case 9 where depth < 4:
                guard let elementType = field(4, .types), let count = field(8, .arrayCounts) else { return false }
                if let size = scalarSizes[elementType] {
                    // Integer arrays (token types) contribute their elements, strings their lengths.
                    guard count <= UInt64((b.count - position) / size) else { return false }
                    if integerTypes.contains(elementType) && count <= 4096 {
                        for _ in 0..<count { _ = field(size, .values) }
                        return true
                    }
                    return skip(count * UInt64(size))
                }
                for _ in 0..<min(count, 1 << 20) where !value(elementType, depth: depth + 1, group: .elementLengths) { return false }
                return true
            default: return false
            }
        }

        guard b.count >= 24 else { return (fields, offsets) }
        position = 4
        _ = field(4, .header)
        guard let tensorCount = field(8, .header), let metadataCount = field(8, .header) else { return (fields, offsets) }
        for _ in 0..<min(metadataCount, 1 << 16) {
            guard let keyLength = field(8, .lengths), skip(keyLength), let type = field(4, .types),
                  value(type, depth: 0, group: .values)
            else { return (fields, offsets) }
        }
        for _ in 0..<min(tensorCount, 1 << 16) {
            guard let nameLength = field(8, .lengths), skip(nameLength), let dimensions = field(4, .tensorInfo),
                  dimensions <= 8
            else { return (fields, offsets) }
            for _ in 0..<dimensions where field(8, .tensorInfo) == nil { return (fields, offsets) }
            guard field(4, .tensorInfo) != nil, let offset = field(8, .tensorOffsets) else { return (fields, offsets) }
            offsets.append(offset)
        }
        return (fields, offsets)
    }

    public static func mutate(_ bytes: inout [UInt8], _ random: inout FuzzRandom) -> Bool {
        let (fields, offsets) = fields(bytes)
        let related = offsets + [UInt64(bytes.count), 32, 1 << 31]
        return mutateIntegerField(&bytes, fields, related: related, random: &random)
    }
}
