/// Unicode classes of scalars as bit masks, for the pre-tokenizer patterns: one bit per
/// general category (`\p{Lu}`, `\p{Nd}`, …), and one for `\s`.
///
/// `\s` is Oniguruma's Unicode definition, which `tokenizers` uses: U+0009…U+000D, U+0085
/// and the separators (Zs, Zl, Zp). `\w` (and `\b`) is what Oniguruma matches against
/// `tokenizers`: Alphabetic, Mark, Decimal_Number, Connector_Punctuation,
/// and the Latin-1 superscripts and fractions (² ³ ¹ ¼ ½ ¾, which its Latin-1 table counts as
/// word characters though U+2082 "₂" is not one). `\d` is Decimal_Number.
enum ScalarClasses {
    typealias Mask = UInt32

    static func bit(_ category: Unicode.GeneralCategory) -> Mask {
        switch category {
        case .uppercaseLetter: 1 << 0
        case .lowercaseLetter: 1 << 1
        case .titlecaseLetter: 1 << 2
        case .modifierLetter: 1 << 3
        case .otherLetter: 1 << 4
        case .nonspacingMark: 1 << 5
        case .spacingMark: 1 << 6
        case .enclosingMark: 1 << 7
        case .decimalNumber: 1 << 8
        case .letterNumber: 1 << 9
        case .otherNumber: 1 << 10
        case .connectorPunctuation: 1 << 11
        case .dashPunctuation: 1 << 12
        case .openPunctuation: 1 << 13
        case .closePunctuation: 1 << 14
        case .initialPunctuation: 1 << 15
        case .finalPunctuation: 1 << 16
        case .otherPunctuation: 1 << 17
        case .mathSymbol: 1 << 18
        case .currencySymbol: 1 << 19
        case .modifierSymbol: 1 << 20
        case .otherSymbol: 1 << 21
        case .spaceSeparator: 1 << 22
        case .lineSeparator: 1 << 23
        case .paragraphSeparator: 1 << 24
        case .control: 1 << 25
        case .format: 1 << 26
        case .surrogate: 1 << 27
        case .privateUse: 1 << 28
        case .unassigned: 1 << 29
        @unknown default: 1 << 29
        }
    }

    static let whitespace: Mask = 1 << 30
    static let word: Mask = 1 << 31

    static let letter: Mask = 0b11111
    static let mark: Mask = 0b111 << 5
    static let number: Mask = 0b111 << 8
    static let punctuation: Mask = 0b1111111 << 11
    static let symbol: Mask = 0b1111 << 18
    static let separator: Mask = 0b111 << 22
    static let other: Mask = 0b11111 << 25
    static let decimalNumber: Mask = 1 << 8

    /// The masks of the property names `\p{…}` accepts: one- and two-letter general
    /// categories and their long names.
    static func mask(named name: String) -> Mask? {
        let short: [String: Mask] = [
            "L": letter, "Lu": 1 << 0, "Ll": 1 << 1, "Lt": 1 << 2, "Lm": 1 << 3, "Lo": 1 << 4,
            "M": mark, "Mn": 1 << 5, "Mc": 1 << 6, "Me": 1 << 7,
            "N": number, "Nd": 1 << 8, "Nl": 1 << 9, "No": 1 << 10,
            "P": punctuation, "Pc": 1 << 11, "Pd": 1 << 12, "Ps": 1 << 13, "Pe": 1 << 14, "Pi": 1 << 15, "Pf": 1 << 16,
            "Po": 1 << 17,
            "S": symbol, "Sm": 1 << 18, "Sc": 1 << 19, "Sk": 1 << 20, "So": 1 << 21,
            "Z": separator, "Zs": 1 << 22, "Zl": 1 << 23, "Zp": 1 << 24,
            "C": other, "Cc": 1 << 25, "Cf": 1 << 26, "Cs": 1 << 27, "Co": 1 << 28, "Cn": 1 << 29,
            "Letter": letter, "Mark": mark, "Number": number, "Punctuation": punctuation, "Symbol": symbol,
            "Separator": separator, "Other": other,
        ]
        return short[name]
    }

    /// The classes of one scalar.
    @inline(__always)
    static func of(_ scalar: Unicode.Scalar) -> Mask {
        let value = scalar.value
        if value < 128 { return ascii[Int(value)] }
        return classify(scalar)
    }

    private static func classify(_ scalar: Unicode.Scalar) -> Mask {
        var mask = bit(scalar.properties.generalCategory)
        let value = scalar.value
        if value == 0x85 || mask & separator != 0 { mask |= whitespace }
        if scalar.properties.isAlphabetic || mask & (self.mark | decimalNumber | 1 << 11) != 0
            || [0xB2, 0xB3, 0xB9, 0xBC, 0xBD, 0xBE].contains(value) {
            mask |= word
        }
        return mask
    }

    private static let ascii: [Mask] = (0..<128).map { value in
        let scalar = Unicode.Scalar(UInt8(value))
        var mask = bit(scalar.properties.generalCategory)
        if (0x09...0x0D).contains(value) || value == 0x20 { mask |= whitespace }
        if scalar.properties.isAlphabetic || (0x30...0x39).contains(value) || value == 0x5F { mask |= word }
        return mask
    }
}
