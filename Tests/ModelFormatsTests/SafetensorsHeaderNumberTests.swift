import ModelFormats
import Testing

/// Sizes and offsets in a safetensors header are integers written as integers, as the
/// reference reader (which parses them as unsigned integers) requires.
struct SafetensorsHeaderNumberTests {
    /// A file of one f32 tensor whose header spells `shape` and `offsets` as given,
    /// followed by `dataBytes` bytes.
    static func file(shape: String, offsets: String, dataBytes: Int) -> FileBytes {
        let header = Array(#"{"t":{"dtype":"F32","shape":\#(shape),"data_offsets":\#(offsets)}}"#.utf8)
        var bytes = withUnsafeBytes(of: UInt64(header.count).littleEndian) { Array($0) } + header
        bytes += [UInt8](repeating: 0, count: dataBytes)
        return FileBytes(copying: bytes, name: "t.safetensors")
    }

    @Test func integersAreRead() throws {
        let file = try SafetensorsFile(bytes: Self.file(shape: "[2,3]", offsets: "[0,24]", dataBytes: 24))
        #expect(file.tensorInfos.first?.shape == [2, 3])
    }

    @Test(arguments: [
        ("[1e-400, 4]", "[0,0]"), ("[2.0, 3]", "[0,24]"), ("[true, 6]", "[0,24]"), ("[6]", "[0.0,24]"), ("[6]", "[0,2.4e1]"),
        ("[-1]", "[0,0]"), ("[18446744073709551615]", "[0,0]"),
    ])
    func aSizeOrOffsetThatIsNoIntegerIsAnError(shape: String, offsets: String) throws {
        let error = try #require(throws: ModelFormatError.self) {
            try SafetensorsFile(bytes: Self.file(shape: shape, offsets: offsets, dataBytes: 24))
        }
        #expect(error.field.contains("shape") || error.field.contains("data_offsets"), "\(error)")
    }
}
