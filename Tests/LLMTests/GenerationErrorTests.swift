import Foundation
import Testing

@testable import LLM

/// Generation settings out of range are named in the error, and non-finite logits are
/// found wherever they are.
struct GenerationErrorTests {
    @Test func invalidParametersAreNamed() {
        func error(_ change: (inout GenerateParameters) -> Void) -> String {
            var parameters = GenerateParameters()
            change(&parameters)
            do {
                try parameters.validate()
                return "valid"
            } catch {
                return "\(error)"
            }
        }
        #expect(error { _ in } == "valid")
        #expect(error { $0.frequencyPenalty = -0.5; $0.presencePenalty = 1.5 } == "valid")  // as llama.cpp allows
        #expect(error { $0.frequencyPenalty = .nan } == "invalid generation parameter frequencyPenalty = nan: must be a finite number")
        #expect(error { $0.presencePenalty = .infinity } == "invalid generation parameter presencePenalty = inf: must be a finite number")
        #expect(error { $0.repetitionPenalty = .infinity } == "invalid generation parameter repetitionPenalty = inf: must be a finite number above 0")
        #expect(error { $0.temperature = .nan } == "invalid generation parameter temperature = nan: must be a finite number, 0 or more")
        #expect(error { $0.topP = .nan } == "invalid generation parameter topP = nan: must be in (0, 1]")
        #expect(error { $0.minP = -.infinity } == "invalid generation parameter minP = -inf: must be in [0, 1]")
        #expect(error { $0.context = 0 } == "invalid generation parameter context = 0: must be positive")
        #expect(error { $0.topK = -1 } == "invalid generation parameter topK = -1: must not be negative")
        #expect(!error { $0.maxTokens = -1 }.contains("invalid model configuration"))
        #expect(ModelError.emptyPrompt.description == "the prompt is empty: give at least one token (text, or ids)")
    }

    @Test func nonFiniteLogitsAreCountedAnywhere() {
        for count in [1, 15, 16, 17, 32, 33, 262_144] {
            var values = (0..<count).map { Float($0 % 97) * 1e30 - 4e31 }  // large but finite
            values.withUnsafeBufferPointer { #expect(countNonFinite($0) == 0, "\(count)") }
            for (index, bad) in [(0, Float.nan), (count / 2, .infinity), (count - 1, -.infinity)] {
                var copy = values
                copy[index] = bad
                copy.withUnsafeBufferPointer { #expect(countNonFinite($0) == 1, "\(count) values, \(bad) at \(index)") }
            }
            values[count - 1] = .greatestFiniteMagnitude
            values[0] = -.greatestFiniteMagnitude
            values.withUnsafeBufferPointer { #expect(countNonFinite($0) == 0) }
        }
        let message = ModelError.nonFiniteLogits(position: 4, generatedTokens: 0, count: 300).description
        #expect(message.hasPrefix("the model computed 300 non-finite logits (NaN or infinity) at position 4 (the prompt's last token)"))
    }
}
