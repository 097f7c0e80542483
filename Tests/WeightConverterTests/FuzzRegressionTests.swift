import Foundation
import Testing
import TestSupport
import WeightConverter

/// The crash inputs of the converter's configuration fuzzer
/// (`Tests/Fixtures/fuzz/converter-config/`): each is the `config.json` of a folder that
/// otherwise holds the `llama-mha` fixture's weights and tokenizer, converted as the
/// fuzz target converts it; it must convert or throw, never crash.
struct FuzzRegressionTests {
    @Test(arguments: FuzzFixtures.names("converter-config"))
    func converterConfiguration(name: String) throws {
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = Fixtures.url("models/llama-mha")
        for file in try FileManager.default.contentsOfDirectory(atPath: model.path)
        where file != "config.json" && !file.hasSuffix(".gguf") && !file.hasPrefix("reference") && !file.hasPrefix("gguf-") {
            try FileManager.default.createSymbolicLink(at: folder.appendingPathComponent(file), withDestinationURL: model.appendingPathComponent(file))
        }
        try FileManager.default.copyItem(at: FuzzFixtures.url("converter-config", name), to: folder.appendingPathComponent("config.json"))
        _ = try? WeightConverter.convertHuggingFace(
            folder: folder, to: folder.appendingPathComponent("out.gguf"), options: ConversionOptions(outputType: .f32, overwrite: true))
    }
}
