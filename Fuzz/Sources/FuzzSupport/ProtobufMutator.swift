/// Structure-aware mutation of protobuf messages (SentencePiece's `tokenizer.model`):
/// the message is parsed into fields — the top-level `pieces`, `trainer_spec` and
/// `normalizer_spec` as nested messages — one field is changed (a varint value such
/// as a piece type or an id, a field number or wire type, a stated length that lies,
/// a field duplicated or dropped), and the message is written again with every other
/// length correct, so the change reaches the code that reads that field.
public enum ProtobufMutator {
    indirect enum Value {
        case varint(UInt64)
        case fixed([UInt8])
        case bytes([UInt8])
        case message([Field])
    }

    struct Field {
        var number: UInt64
        var wireType: UInt64
        var value: Value
        /// A length written instead of the true one.
        var statedLength: UInt64? = nil
    }

    static func readVarint(_ b: [UInt8], _ position: inout Int, end: Int) -> UInt64? {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while position < end, shift < 64 {
            let byte = b[position]
            position += 1
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
        return nil
    }

    static func parse(_ b: [UInt8], _ range: Range<Int>, depth: Int) -> [Field]? {
        var fields: [Field] = []
        var position = range.lowerBound
        while position < range.upperBound {
            guard let key = readVarint(b, &position, end: range.upperBound) else { return nil }
            let number = key >> 3, wire = key & 7
            switch wire {
            case 0:
                guard let value = readVarint(b, &position, end: range.upperBound) else { return nil }
                fields.append(Field(number: number, wireType: wire, value: .varint(value)))
            case 1, 5:
                let size = wire == 1 ? 8 : 4
                guard range.upperBound - position >= size else { return nil }
                fields.append(Field(number: number, wireType: wire, value: .fixed(Array(b[position..<position + size]))))
                position += size
            case 2:
                guard let length = readVarint(b, &position, end: range.upperBound), length <= UInt64(range.upperBound - position) else {
                    return nil
                }
                let inner = position..<position + Int(length)
                position = inner.upperBound
                if depth == 0, (1...3).contains(number), let message = parse(b, inner, depth: 1) {
                    fields.append(Field(number: number, wireType: wire, value: .message(message)))
                } else {
                    fields.append(Field(number: number, wireType: wire, value: .bytes(Array(b[inner]))))
                }
            default: return nil
            }
        }
        return fields
    }

    static func writeVarint(_ value: UInt64, to out: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    static func serialize(_ fields: [Field], to out: inout [UInt8]) {
        for field in fields {
            writeVarint(field.number << 3 | field.wireType, to: &out)
            switch field.value {
            case let .varint(v): writeVarint(v, to: &out)
            case let .fixed(bytes): out += bytes
            case let .bytes(bytes):
                writeVarint(field.statedLength ?? UInt64(bytes.count), to: &out)
                out += bytes
            case let .message(inner):
                var body: [UInt8] = []
                serialize(inner, to: &body)
                writeVarint(field.statedLength ?? UInt64(body.count), to: &out)
                out += body
            }
        }
    }

    static func count(_ fields: [Field]) -> Int {
        fields.reduce(0) { total, field in
            if case let .message(inner) = field.value { return total + 1 + count(inner) }
            return total + 1
        }
    }

    /// Applies `change` to the `n`th field in pre-order (`n` counts down to it).
    static func change(_ fields: inout [Field], _ n: inout Int, _ change: (inout [Field], Int) -> Void) -> Bool {
        for i in fields.indices {
            if n == 0 {
                change(&fields, i)
                return true
            }
            n -= 1
            if case var .message(inner) = fields[i].value {
                if Self.change(&inner, &n, change) {
                    fields[i].value = .message(inner)
                    return true
                }
            }
        }
        return false
    }

    public static func mutate(_ bytes: inout [UInt8], _ random: inout FuzzRandom) -> Bool {
        guard var fields = parse(bytes, bytes.indices, depth: 0), !fields.isEmpty else { return false }
        var n = random.below(count(fields))
        let kind = random.below(8)
        var seed = random
        _ = change(&fields, &n) { fields, i in
            var field = fields[i]
            switch kind {
            case 0...2:
                // A varint value: a piece type, a model type, an id, a flag.
                if case let .varint(v) = field.value {
                    field.value = .varint(InterestingValues.value(replacing: v, width: 8, related: [1, 2, 3, 4, 5, 6, 7], random: &seed))
                } else {
                    field.wireType = 0
                    field.value = .varint(seed.pick(InterestingValues.unsigned))
                }
            case 3:
                field.number = seed.chance(1, in: 2) ? UInt64(seed.below(50)) : seed.pick([0, 1 << 29, (1 << 29) - 1, 1 << 60])
            case 4:
                field.wireType = UInt64(seed.below(8))
            case 5:
                let length: UInt64
                switch field.value {
                case let .bytes(b): length = UInt64(b.count)
                case .message: length = 16
                default: length = 0
                }
                field.statedLength = InterestingValues.value(replacing: length, width: 8, related: [length], random: &seed)
            case 6:
                fields.insert(field, at: seed.below(fields.count + 1))
                return
            default:
                fields.remove(at: i)
                return
            }
            fields[i] = field
        }
        random = seed
        var out: [UInt8] = []
        serialize(fields, to: &out)
        bytes = out
        return true
    }
}

/// Structure-aware mutation of llama2.c checkpoints: the header's seven sizes, the
/// version, the shared-classifier flag and the group size get interesting values, or
/// the file is cut or padded to exactly the size its header describes, so that the
/// reader gets past its size check with odd shapes.
public enum Llama2cMutator {
    static let magic: [UInt8] = [0x32, 0x34, 0x6B, 0x61]

    public static func mutate(_ bytes: inout [UInt8], _ random: inout FuzzRandom) -> Bool {
        let versioned = bytes.count >= 4 && Array(bytes[0..<4]) == magic
        let first = versioned ? 8 : 0
        guard bytes.count >= first + 28 else { return false }
        if random.chance(1, in: 3), let size = describedSize(bytes), size <= 1 << 20 {
            if size < bytes.count { bytes.removeLast(bytes.count - size) } else { bytes += [UInt8](repeating: 0, count: size - bytes.count) }
            return true
        }
        var fields = (0..<7).map { IntegerField(offset: first + 4 * $0, width: 4, group: 0) }
        if versioned {
            fields.append(IntegerField(offset: 4, width: 4, group: 1))
            if bytes.count >= 37 { fields.append(IntegerField(offset: 36, width: 1, group: 1)) }
            if bytes.count >= 41 { fields.append(IntegerField(offset: 37, width: 4, group: 1)) }
        }
        let related: [UInt64] = [1 << 10, (1 << 10) + 1, 1 << 16, (1 << 16) + 1, 1 << 18, 1 << 22, (1 << 22) + 1, UInt64(UInt32(bitPattern: -1))]
        return mutateIntegerField(&bytes, fields, related: related, random: &random)
    }

    /// The size of the file the header describes, when its fields are in range.
    static func describedSize(_ b: [UInt8]) -> Int? {
        let versioned = Array(b[0..<4]) == magic
        let first = versioned ? 8 : 0
        let f = (0..<7).map { Int(Int32(bitPattern: UInt32(b.loadLittleEndian(at: first + 4 * $0, width: 4)))) }
        let (d, hidden, layers, heads, kvHeads, seq) = (f[0], f[1], f[2], f[3], f[4], f[6])
        let vocab = abs(f[5])
        guard d >= 1, d <= 1 << 16, hidden >= 1, hidden <= 1 << 18, layers >= 1, layers <= 1 << 10, heads >= 1, heads <= 1 << 10,
              kvHeads >= 1, kvHeads <= 1 << 10, vocab >= 1, vocab <= 1 << 22, seq >= 1, seq <= 1 << 22
        else { return nil }
        let headSize = d / heads, kv = kvHeads * headSize
        let matrices = layers * (2 * d * d + 2 * kv * d + 3 * hidden * d)
        let norms = layers * 2 * d + d
        if !versioned {
            let shared = f[5] > 0
            return 28 + 4 * (vocab * d + norms + matrices + seq * (headSize / 2) * 2 + (shared ? 0 : vocab * d))
        }
        let version = Int(Int32(bitPattern: UInt32(b.loadLittleEndian(at: 4, width: 4))))
        let shared = b.count > 36 && b[36] != 0
        let weights = matrices + vocab * d * (shared ? 1 : 2)
        if version == 2 {
            guard b.count >= 41 else { return nil }
            let group = Int(Int32(bitPattern: UInt32(b.loadLittleEndian(at: 37, width: 4))))
            guard group > 0 else { return nil }
            return 256 + 4 * norms + weights + weights / group * 4
        }
        return 256 + 4 * (norms + weights)
    }
}
