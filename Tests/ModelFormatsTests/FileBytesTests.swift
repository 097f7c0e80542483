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

    #if os(Linux)
    /// A model file's mapping asks the kernel for 2 MiB pages (`madvise(MADV_HUGEPAGE)`,
    /// the `hg` flag of the mapping in /proc/self/smaps); its bytes read the same. Only on
    /// kernels built with transparent huge pages (elsewhere `madvise` refuses the advice).
    @Test(.enabled(
        if: FileManager.default.fileExists(atPath: "/sys/kernel/mm/transparent_hugepage/enabled"),
        "the kernel has no transparent huge pages"))
    func mappingAsksForHugePages() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("filebytes-\(UUID().uuidString).bin")
        defer { try? FileManager.default.removeItem(at: url) }
        let bytes = (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try Data(bytes).write(to: url)
        let file = try FileBytes(mapping: url)
        #expect(Array(file.slice(0..<file.count)) == bytes)
        let start = UInt(bitPattern: file.baseAddress)
        // Read to the end: /proc files report a size of 0.
        let handle = try #require(FileHandle(forReadingAtPath: "/proc/self/smaps"))
        let smaps = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
        try handle.close()
        var inMapping = false
        var flags: String?
        for line in smaps.split(separator: "\n") {
            if let range = line.split(separator: " ").first, range.contains("-"),
               let low = UInt(range.split(separator: "-")[0], radix: 16), let high = UInt(range.split(separator: "-")[1], radix: 16) {
                inMapping = low <= start && start < high
            } else if inMapping && line.hasPrefix("VmFlags:") {
                flags = String(line)
            }
        }
        let vmFlags = try #require(flags, "no mapping at \(file.baseAddress) in /proc/self/smaps")
        #expect(vmFlags.split(separator: " ").contains("hg"), "\(vmFlags)")
    }
    #endif
}
