import ModelFormats
import Testing

/// Metadata values print exactly, whatever their integer type.
struct GGUFValueDescriptionTests {
    @Test func aUInt64Of2To63OrMorePrintsExactly() {
        #expect(GGUFValue.uint64(1 << 63).description == "9223372036854775808")
        #expect(GGUFValue.uint64(.max).description == "18446744073709551615")
        #expect(GGUFValue.int64(.min).description == "-9223372036854775808")
        #expect(GGUFValue.array(.uint64([.max, 1])).description == "[uint64 × 2: 18446744073709551615, 1]")
    }
}
