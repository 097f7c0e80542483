// Runs one matrix-vector and one matrix-matrix product with a Q4_0 weight on every
// backend, and shows that they agree and how long each took.
//
//   swift run -c release backend-demo

import BLASBackend
import Foundation
import TensorCore

var registry = BackendRegistry()
registry.register(BLASBackend.self)

let (rows, length) = (2048, 2048)
var generator = SystemRandomNumberGenerator()
let weightValues = (0..<rows * length).map { _ in Float.random(in: -1...1, using: &generator) }
let weight = try Tensor(converting: try Tensor(shape: [rows, length], values: weightValues), to: .q4_0)
let tokenVector = try Tensor(shape: [1, length], values: (0..<length).map { _ in Float.random(in: -1...1, using: &generator) })
let prompt = try Tensor(shape: [64, length], values: (0..<64 * length).map { _ in Float.random(in: -1...1, using: &generator) })

print("weight \(weight.shape) \(weight.elementType), \(weight.byteCount) bytes; BLAS kernels: \(BLASBackend.InstructionSet.detected)")
var results: [String: [Float]] = [:]
for name in registry.names {
    let backend = try registry.makeBackend(named: name)
    let clock = ContinuousClock()
    var decoded = try Tensor(zeros: [1, rows])
    let decodeTime = try clock.measure { decoded = try backend.matmul(tokenVector, weight: weight) }
    var prefilled = try Tensor(zeros: [64, rows])
    let prefillTime = try clock.measure { prefilled = try backend.matmul(prompt, weight: weight) }
    results[name] = decoded.floats() + prefilled.floats()
    print("\(name.padding(toLength: 6, withPad: " ", startingAt: 0)) 1 row: \(decodeTime)   64 rows: \(prefillTime)")
}
let reference = results["naive"]!, blas = results["blas"]!
let error = zip(blas, reference).map { Double($0 - $1) * Double($0 - $1) }.reduce(0, +)
    / reference.map { Double($0) * Double($0) }.reduce(0, +)
print("normalised mean squared error, blas vs naive: \(error)")
