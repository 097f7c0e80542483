/// Turns a run of raw bytes (from byte-fallback tokens) into text the way
/// SentencePiece's decoder does: every complete, valid UTF-8 character is kept, and
/// every byte that cannot start or continue a valid character becomes U+FFFD.
enum ByteRunDecoder {
    /// The text of a finished run of bytes.
    static func text(of bytes: [UInt8]) -> String {
        let (text, consumed) = decodePrefix(of: bytes, final: true)
        precondition(consumed == bytes.count)
        return text
    }

    /// Decodes as much of `bytes` as is certain: with `final` false, an incomplete
    /// character at the end is left for more bytes. Returns the text and the number
    /// of bytes it used.
    static func decodePrefix(of bytes: [UInt8], final: Bool) -> (String, Int) {
        var scalars = String.UnicodeScalarView()
        var i = 0
        while i < bytes.count {
            switch validLength(bytes, at: i) {
            case .valid(let length):
                var scalar: UInt32 = length == 1 ? UInt32(bytes[i]) : UInt32(bytes[i]) & (0xFF >> (length + 1))
                for j in 1..<length { scalar = scalar << 6 | UInt32(bytes[i + j] & 0x3F) }
                scalars.append(Unicode.Scalar(scalar)!)
                i += length
            case .incomplete where !final:
                return (String(scalars), i)
            case .invalid, .incomplete:
                scalars.append("\u{FFFD}")
                i += 1
            }
        }
        return (String(scalars), i)
    }

    /// The length of `bytes` without a final unfinished character: the bytes after the
    /// last lead byte when they are a proper prefix of a valid character. Decoding that
    /// much now and the rest later gives the same text as decoding everything at once.
    static func completeLength(of bytes: [UInt8]) -> Int {
        var lead = bytes.count - 1
        // A character has at most 3 continuation bytes.
        while lead >= 0, lead >= bytes.count - 4, bytes[lead] & 0xC0 == 0x80 { lead -= 1 }
        guard lead >= 0, lead >= bytes.count - 4 else { return bytes.count }
        if case .incomplete = validLength(bytes, at: lead) { return lead }
        return bytes.count
    }

    /// Whether all of `bytes` is valid UTF-8.
    static func isValid(_ bytes: [UInt8]) -> Bool {
        var i = 0
        while i < bytes.count {
            guard case let .valid(length) = validLength(bytes, at: i) else { return false }
            i += length
        }
        return true
    }

    enum Validity { case valid(Int), incomplete, invalid }

    /// Whether a valid UTF-8 character starts at `i` (SentencePiece's `IsValidDecodeUTF8`:
    /// no overlong forms, no surrogates, nothing above U+10FFFF).
    static func validLength(_ bytes: [UInt8], at i: Int) -> Validity {
        let lead = bytes[i]
        if lead < 0x80 { return .valid(1) }
        let length: Int
        let secondRange: ClosedRange<UInt8>
        switch lead {
        case 0xC2...0xDF: length = 2; secondRange = 0x80...0xBF
        case 0xE0: length = 3; secondRange = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: length = 3; secondRange = 0x80...0xBF
        case 0xED: length = 3; secondRange = 0x80...0x9F
        case 0xF0: length = 4; secondRange = 0x90...0xBF
        case 0xF1...0xF3: length = 4; secondRange = 0x80...0xBF
        case 0xF4: length = 4; secondRange = 0x80...0x8F
        default: return .invalid
        }
        for j in 1..<length {
            guard i + j < bytes.count else { return .incomplete }
            let range: ClosedRange<UInt8> = j == 1 ? secondRange : 0x80...0xBF
            guard range.contains(bytes[i + j]) else { return .invalid }
        }
        return .valid(length)
    }
}
