import Foundation
import TensorCore

/// An importance matrix in llama.cpp's GGUF format (what `llama-imatrix` writes and
/// `llama-quantize --imatrix` reads): for each weight matrix, the sum over a calibration
/// text of each input column's squared activation, and how many activation rows were
/// summed.
///
/// The file is a GGUF file with `general.type` = `imatrix`, the keys
/// `imatrix.datasets` (the calibration files), `imatrix.chunk_count` and
/// `imatrix.chunk_size`, and two f32 tensors per weight: `NAME.in_sum2` of shape
/// [matrices, columns] and `NAME.counts` of shape [matrices, 1] (one matrix for a dense
/// weight, one per expert for an expert tensor).
public struct ImportanceMatrix: Sendable, Equatable {
    /// One weight's statistics.
    public struct Entry: Sendable, Equatable {
        /// Per matrix (row) and input column: the sum of squared activations.
        public var sums: [Float]
        /// Per matrix: how many activation rows were summed.
        public var counts: [Float]

        public init(sums: [Float], counts: [Float]) {
            self.sums = sums
            self.counts = counts
        }

        /// The mean squared activation of each input column, as llama-quantize computes
        /// it: the sum divided by the count rounded to an integer; a matrix that saw no
        /// rows gets 1 for every column.
        public var importance: [Float] {
            guard !counts.isEmpty else { return [] }
            let columns = sums.count / counts.count
            var result = [Float](repeating: 1, count: sums.count)
            for (matrix, count) in counts.enumerated() {
                let rounded = Float(count.rounded(.toNearestOrAwayFromZero))
                guard rounded > 0 else { continue }
                for column in 0..<columns { result[matrix * columns + column] = sums[matrix * columns + column] / rounded }
            }
            return result
        }
    }

    /// The weights' statistics by tensor name (`blk.0.attn_q.weight`).
    public var entries: [String: Entry]
    /// The calibration files (`imatrix.datasets`).
    public var datasets: [String]
    /// How many chunks of the calibration text were processed (`imatrix.chunk_count`).
    public var chunkCount: Int
    /// Tokens per chunk (`imatrix.chunk_size`).
    public var chunkSize: Int
    /// The file it was read from, as given.
    public var path: String?

    public init(entries: [String: Entry], datasets: [String], chunkCount: Int, chunkSize: Int) {
        self.entries = entries
        self.datasets = datasets
        self.chunkCount = chunkCount
        self.chunkSize = chunkSize
    }

    /// Reads an importance matrix file, checking that every entry has both tensors, in
    /// f32, with sizes that agree, and finite values.
    public init(contentsOf url: URL) throws {
        let file = try GGUFFile(contentsOf: url)
        let path = file.path
        self.path = path
        func fail(_ field: String, _ problem: String) -> ModelFormatError {
            ModelFormatError(.invalidValue, file: path, field: field, problem: problem)
        }
        let type = try file.metadata.string("general.type")
        guard type == "imatrix" else {
            throw fail("metadata 'general.type'", type.map { "is '\($0)', not 'imatrix'" } ?? "is missing; this is not an importance matrix")
        }
        datasets = try file.metadata.strings("imatrix.datasets") ?? []
        chunkCount = try file.metadata.integer("imatrix.chunk_count") ?? 0
        chunkSize = try file.metadata.integer("imatrix.chunk_size") ?? 0
        var sums: [String: GGUFTensorInfo] = [:], counts: [String: GGUFTensorInfo] = [:]
        for info in file.tensorInfos {
            if info.name.hasSuffix(".in_sum2") {
                sums[String(info.name.dropLast(".in_sum2".count))] = info
            } else if info.name.hasSuffix(".counts") {
                counts[String(info.name.dropLast(".counts".count))] = info
            } else {
                throw fail("tensor '\(info.name)'", "is neither NAME.in_sum2 nor NAME.counts")
            }
        }
        var entries: [String: Entry] = [:]
        for (name, sumInfo) in sums {
            guard let countInfo = counts[name] else { throw fail("tensor '\(name).in_sum2'", "has no '\(name).counts'") }
            for info in [sumInfo, countInfo] where info.type.elementType != .f32 {
                throw fail("tensor '\(info.name)'.type", "is \(info.type); importance statistics are F32")
            }
            let matrices = countInfo.elementCount
            guard matrices > 0, sumInfo.elementCount % matrices == 0, sumInfo.elementCount > 0 else {
                throw ModelFormatError(
                    .inconsistent, file: path, field: "tensor '\(name).in_sum2'",
                    problem: "has \(sumInfo.elementCount) values for \(matrices) matrices")
            }
            let entry = Entry(sums: try file.tensor(sumInfo).floats(), counts: try file.tensor(countInfo).floats())
            if let bad = entry.sums.first(where: { !$0.isFinite || $0 < 0 }) {
                throw fail("tensor '\(name).in_sum2'", "holds \(bad); sums of squares are finite and not negative")
            }
            if let bad = entry.counts.first(where: { !$0.isFinite || $0 < 0 }) {
                throw fail("tensor '\(name).counts'", "holds \(bad); counts are finite and not negative")
            }
            entries[name] = entry
        }
        if let orphan = counts.keys.first(where: { sums[$0] == nil }) {
            throw fail("tensor '\(orphan).counts'", "has no '\(orphan).in_sum2'")
        }
        self.entries = entries
    }

    /// Writes the matrix in llama.cpp's format (tensors in name order, as llama-imatrix
    /// writes them), whole or not at all.
    public func write(to url: URL, overwrite: Bool = false) throws {
        var writer = GGUFWriter()
        writer.set("general.type", .string("imatrix"))
        writer.set("imatrix.datasets", .array(.string(datasets)))
        writer.set("imatrix.chunk_count", .uint32(UInt32(clamping: chunkCount)))
        writer.set("imatrix.chunk_size", .uint32(UInt32(clamping: chunkSize)))
        for name in entries.keys.sorted() {
            let entry = entries[name]!
            let matrices = entry.counts.count
            writer.addTensor(name: name + ".in_sum2", try Tensor(shape: [matrices, entry.sums.count / max(matrices, 1)], values: entry.sums))
            writer.addTensor(name: name + ".counts", try Tensor(shape: [matrices, 1], values: entry.counts))
        }
        try writer.write(to: url, overwrite: overwrite)
    }
}
