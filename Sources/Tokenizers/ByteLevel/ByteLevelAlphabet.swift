/// GPT-2's `bytes_to_unicode`: every byte is written as one printable character, so that
/// a byte-level vocabulary can be stored as text. The printable bytes `!`…`~`, `¡`…`¬`
/// and `®`…`ÿ` stand for themselves; the other 68 bytes (controls, space, DEL, NBSP,
/// soft hyphen…) become U+0100, U+0101, … in byte order (space is "Ġ", newline "Ċ").
enum ByteLevelAlphabet {
    /// The character of each byte.
    static let scalarOfByte: [Unicode.Scalar] = {
        var scalars = [Unicode.Scalar](repeating: "\0", count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            if (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte) {
                scalars[byte] = Unicode.Scalar(UInt8(byte))
            } else {
                scalars[byte] = Unicode.Scalar(next)!
                next += 1
            }
        }
        return scalars
    }()

    /// The byte a character stands for, or `nil` for a character outside the alphabet.
    @inline(__always)
    static func byte(of scalar: Unicode.Scalar) -> UInt8? {
        let value = scalar.value
        switch value {
        case 0x21...0x7E, 0xA1...0xAC, 0xAE...0xFF: return UInt8(value)
        case 0x100..<0x144: return bytesOfExtraScalars[Int(value - 0x100)]
        default: return nil
        }
    }

    /// The bytes that U+0100 … U+0143 stand for, in order.
    private static let bytesOfExtraScalars: [UInt8] = (0..<256).compactMap { byte in
        scalarOfByte[byte].value >= 0x100 ? UInt8(byte) : nil
    }

    /// The bytes a vocabulary string stands for, or `nil` when one of its characters is
    /// outside the alphabet (an added token such as one holding a real space).
    static func bytes(of text: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.unicodeScalars {
            guard let byte = byte(of: scalar) else { return nil }
            bytes.append(byte)
        }
        return bytes
    }

    /// The vocabulary string of `bytes`.
    static func text(of bytes: some Sequence<UInt8>) -> String {
        var scalars = String.UnicodeScalarView()
        for byte in bytes { scalars.append(scalarOfByte[Int(byte)]) }
        return String(scalars)
    }
}
