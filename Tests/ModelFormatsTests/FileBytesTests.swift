import Foundation
import ModelFormats
import TensorCore
import Testing

/// Dropping a mapped tensor's pages from resident memory keeps its bytes readable, and
/// does nothing to memory a tensor owns.
struct FileBytesTests {
    @Test func releasedPagesReadBackTheSame() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("filebytes-\(UUID().uuidString).bin")
        defer { try? FileManager.default.removeItem(at: url) }
        let values = (0..<100_000).map { Float($0) * 0.5 - 7 }
        try values.withUnsafeBytes { try Data($0).write(to: url) }
        let file = try FileBytes(mapping: url)
        // A view that starts and ends inside pages, as tensors in a file do.
        let storage = TensorStorage(viewing: file.baseAddress, byteCount: file.count, owner: file)
        let tensor = try Tensor(shape: [98_000], elementType: .f32, storage: storage, byteOffset: 4 * 1000 + 4 * 3)
        let before = tensor.floats()
        tensor.releaseResidentPages()
        #expect(tensor.floats() == before)
        #expect(before == Array(values[1003..<(1003 + 98_000)]))

        let owned = try Tensor(zeros: [1000])
        owned.mutableFloatPointer.update(repeating: 3, count: 1000)
        owned.releaseResidentPages()
        #expect(owned.floats().allSatisfy { $0 == 3 })
    }
}
