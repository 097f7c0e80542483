import BLASBackend
import LLM
import TensorCore
import Testing
import TestSupport

/// A forward pass over several sequences at once gives each sequence the logits it gets
/// alone: the random Llama and Gemma 3 models of `DecodeAllocationTests` (Gemma 3's first
/// layer slides over 16 positions, so the longer sequences leave its window), three
/// sequences of different lengths, a batch that mixes a prompt step with decode steps,
/// and then batched decode steps, on the naive and BLAS backends.
struct BatchedForwardTests {
    static let prompts = [Array(1...23), Array(40...45), [7]]
    static let decoded = [[3, 9, 27, 81], [5, 25, 125, 625], [2, 4, 8, 16]]

    /// Each sequence alone: its last logits after its prompt and after each decoded token.
    static func alone(_ model: any TransformerModel, prompt: [Int], decoded: [Int]) throws -> [[Float]] {
        let state = try model.makeState(context: 64, batchCapacity: 32, cacheType: .f32)
        var logits = [try model.process(prompt, state: state)]
        for token in decoded { logits.append(try model.process([token], state: state)) }
        return logits
    }

    static func largestDifference(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    @Test(arguments: [DecodeAllocationTests.Architecture.llama, .gemma3], ["naive", "blas"])
    func batchedSequencesGetTheirOwnLogits(architecture: DecodeAllocationTests.Architecture, backendName: String) throws {
        let backend: any Backend = backendName == "naive" ? NaiveBackend() : try BLASBackend()
        let model = try DecodeAllocationTests.randomModel(architecture, type: .q8_0, backend: backend)
        let expected = try zip(Self.prompts, Self.decoded).map { try Self.alone(model, prompt: $0, decoded: $1) }
        // The batched kernels may group additions differently from the one-row kernels;
        // logits are about 1 in size.
        let tolerance: Float = backendName == "naive" ? 1e-4 : 2e-2

        let workspace = try BatchWorkspace(configuration: model.configuration, rowCapacity: 48, sequenceCapacity: 3)
        let states = try (0..<3).map { _ in try model.makeState(context: 64, batchCapacity: 1, cacheType: .f32) }
        // Pass 1: sequence 0's first 10 prompt tokens and sequence 1's whole prompt.
        try model.forward(
            [(states[0], Self.prompts[0][0..<10]), (states[1], Self.prompts[1][...])], workspace: workspace)
        let afterPrompt1 = states[1].lastLogits.floats()
        // Pass 2: the rest of sequence 0's prompt, sequence 1's first decoded token and
        // sequence 2's prompt, in one pass.
        try model.forward(
            [(states[0], Self.prompts[0][10...]), (states[1], Self.decoded[1][0..<1]), (states[2], Self.prompts[2][...])],
            workspace: workspace)
        #expect(Self.largestDifference(afterPrompt1, expected[1][0]) < tolerance)
        #expect(Self.largestDifference(states[0].lastLogits.floats(), expected[0][0]) < tolerance)
        #expect(Self.largestDifference(states[1].lastLogits.floats(), expected[1][1]) < tolerance)
        #expect(Self.largestDifference(states[2].lastLogits.floats(), expected[2][0]) < tolerance)
        // Decode steps of all three, one row each; sequence 1 is one token ahead.
        for step in 0..<3 {
            try model.forward(
                [
                    (states[0], Self.decoded[0][step..<step + 1]), (states[1], Self.decoded[1][step + 1..<step + 2]),
                    (states[2], Self.decoded[2][step..<step + 1]),
                ], workspace: workspace)
            for (i, ahead) in [(0, 0), (1, 1), (2, 0)] {
                let difference = Self.largestDifference(states[i].lastLogits.floats(), expected[i][step + 1 + ahead])
                #expect(difference < tolerance, "sequence \(i), step \(step): \(difference)")
            }
        }
        #expect(states.map(\.position) == [26, 10, 4])
    }

    @Test func aBatchIsCheckedBeforeItRuns() throws {
        let model = try DecodeAllocationTests.randomModel(.llama, type: .q8_0, backend: NaiveBackend())
        let workspace = try BatchWorkspace(configuration: model.configuration, rowCapacity: 8, sequenceCapacity: 2)
        let a = try model.makeState(context: 16, batchCapacity: 1, cacheType: .f32)
        let b = try model.makeState(context: 16, batchCapacity: 1, cacheType: .f32)
        let c = try model.makeState(context: 16, batchCapacity: 1, cacheType: .f32)
        #expect(throws: ModelError.self) { try model.forward([(a, [1][...]), (a, [2][...])], workspace: workspace) }
        #expect(throws: ModelError.self) { try model.forward([(a, [1][...]), (b, [][...])], workspace: workspace) }
        #expect(throws: ModelError.self) {
            try model.forward([(a, [1][...]), (b, [2][...]), (c, [3][...])], workspace: workspace)
        }
        #expect(throws: ModelError.self) { try model.forward([(a, Array(1...9)[...])], workspace: workspace) }
        #expect(throws: ModelError.self) { try model.forward([(a, [1_000][...])], workspace: workspace) }
        #expect(throws: ModelError.self) { try model.forward([(a, Array(1...8)[...]), (b, [1][...])], workspace: workspace) }
        #expect([a, b, c].allSatisfy { $0.position == 0 })
    }
}
