import Foundation
import TensorCore

/// The weights of a Hugging Face checkpoint folder: one `model.safetensors`, or the
/// shards listed in `model.safetensors.index.json` (`weight_map`: tensor name →
/// shard file). Every shard is memory-mapped; tensors are views of the shards.
public final class SafetensorsCheckpoint: Sendable {
    public let directory: URL
    /// The shard files, in name order.
    public let files: [SafetensorsFile]
    private let location: [String: Int]

    /// All tensor names, sorted.
    public var tensorNames: [String] { location.keys.sorted() }

    public init(directory: URL) throws {
        self.directory = directory
        let indexURL = directory.appendingPathComponent("model.safetensors.index.json")
        var fileNames: [String]
        var weightMap: [String: String]? = nil
        if FileManager.default.fileExists(atPath: indexURL.path) {
            let map = try Self.readWeightMap(indexURL)
            weightMap = map
            fileNames = Array(Set(map.values)).sorted()
        } else {
            let contents = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
            fileNames = contents.filter { $0.hasSuffix(".safetensors") }.sorted()
            guard !fileNames.isEmpty else {
                throw ModelFormatError(
                    .io, file: directory.path, field: "folder",
                    problem: "has no .safetensors file and no model.safetensors.index.json")
            }
        }
        var files: [SafetensorsFile] = []
        var location: [String: Int] = [:]
        for name in fileNames {
            guard !name.contains("/"), !name.hasPrefix(".") else {
                throw ModelFormatError(.invalidValue, file: indexURL.path, field: "weight_map", problem: "shard name '\(name)' is not a plain file name")
            }
            let file = try SafetensorsFile(contentsOf: directory.appendingPathComponent(name))
            for info in file.tensorInfos {
                if let earlier = location[info.name] {
                    throw ModelFormatError(
                        .inconsistent, file: file.path, field: "tensor '\(info.name)'",
                        problem: "is also in \(files[earlier].path)")
                }
                location[info.name] = files.count
            }
            files.append(file)
        }
        if let weightMap {
            for (tensor, shard) in weightMap {
                guard let index = location[tensor], files[index].path.hasSuffix("/" + shard) || files[index].path == shard else {
                    throw ModelFormatError(
                        .inconsistent, file: indexURL.path, field: "weight_map '\(tensor)'",
                        problem: "names \(shard), which does not contain that tensor")
                }
            }
        }
        self.files = files
        self.location = location
    }

    private static func readWeightMap(_ url: URL) throws -> [String: String] {
        let data = try FileBytes.readRegularFile(url)
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let map = object["weight_map"] as? [String: String]
        else {
            throw ModelFormatError(.invalidValue, file: url.path, field: "weight_map", problem: "is missing or not an object of strings")
        }
        return map
    }

    /// The header entry of `name`, if any shard has it.
    public func tensorInfo(named name: String) -> SafetensorsFile.TensorInfo? {
        location[name].flatMap { files[$0].tensorInfo(named: name) }
    }

    /// The tensor `name` from whichever shard holds it.
    public func tensor(named name: String) throws -> Tensor {
        guard let index = location[name] else {
            throw ModelFormatError(.invalidValue, file: directory.path, field: "tensor '\(name)'", problem: "is in no shard")
        }
        return try files[index].tensor(named: name)
    }
}
