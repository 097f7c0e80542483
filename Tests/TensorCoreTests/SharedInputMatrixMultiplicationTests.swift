import Testing
@testable import TensorCore

/// ``SharedInputMatrixMultiplication`` built from arrays or part by part holds the same
/// checked products, at most ``SharedInputMatrixMultiplication/maximumPartCount``.
struct SharedInputMatrixMultiplicationTests {
    @Test func appendedPartsEqualTheArrayForm() throws {
        let input = try Tensor(shape: [2, 4], values: (0..<8).map(Float.init))
        let weights = try (1...3).map { rows in try Tensor(shape: [rows, 4], values: (0..<rows * 4).map { Float($0) / 8 }) }
        let fromArrays = try weights.map { try Tensor(zeros: [2, $0.shape[0]]) }
        let appended = try weights.map { try Tensor(zeros: [2, $0.shape[0]]) }
        let byArrays = try SharedInputMatrixMultiplication(input: input, weights: weights, outputs: fromArrays)
        var byParts = SharedInputMatrixMultiplication(input: input)
        for (weight, output) in zip(weights, appended) { try byParts.append(weight: weight, output: output) }
        #expect(byArrays.parts.count == 3 && byParts.parts.count == 3)
        #expect(byArrays.parts.map(\.outputLength) == [1, 2, 3])
        byArrays.computeReference()
        byParts.computeReference()
        #expect(fromArrays.map { $0.floats() } == appended.map { $0.floats() })
        // Row 1 of the input (4, 5, 6, 7) with the first weight row (0, 1/8, 2/8, 3/8).
        #expect(appended[0].floats()[1] == Float(5 + 12 + 21) / 8)
    }

    @Test func tooManyPartsOrMismatchedArraysThrow() throws {
        let input = try Tensor(zeros: [1, 4])
        let weight = try Tensor(zeros: [2, 4])
        var operation = SharedInputMatrixMultiplication(input: input)
        for _ in 0..<SharedInputMatrixMultiplication.maximumPartCount {
            try operation.append(weight: weight, output: Tensor(zeros: [1, 2]))
        }
        #expect(throws: TensorError.self) { try operation.append(weight: weight, output: Tensor(zeros: [1, 2])) }
        #expect(operation.parts.count == SharedInputMatrixMultiplication.maximumPartCount)
        #expect(throws: TensorError.self) {
            try SharedInputMatrixMultiplication(input: input, weights: [weight, weight], outputs: [Tensor(zeros: [1, 2])])
        }
        #expect(throws: TensorError.self) {  // an output of the wrong width is checked as a MatrixMultiplication is
            var wrong = SharedInputMatrixMultiplication(input: input)
            try wrong.append(weight: weight, output: Tensor(zeros: [1, 3]))
        }
    }
}
