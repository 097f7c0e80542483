import CPUKernels
import TensorCore

/// RMSNorm, RoPE and the gated activations in C, split over threads: the Swift
/// reference versions are readable but slow enough to matter between the matrix
/// products of a decoded token.
extension BLASBackend {
    public func execute(_ operation: RMSNormalization) throws {
        guard operation.weight.elementType == .f32 else { return operation.computeReference() }
        struct Arguments {
            let x: UnsafePointer<Float>, weight: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>
            let length: Int64, epsilon: Float
        }
        let arguments = Arguments(
            x: operation.input.floatPointer, weight: operation.weight.floatPointer, y: operation.output.mutableFloatPointer,
            length: Int64(operation.input.rowLength), epsilon: operation.epsilon)
        parallelRows.runTasks(rowCount: operation.input.rowCount, workPerRow: operation.input.rowLength, arguments: arguments) {
            raw, _, begin, end in
            let a = raw!.load(as: Arguments.self)
            ck_rms_norm(a.x, a.weight, a.y, a.length, a.epsilon, begin, end)
        }
    }

    public func execute(_ operation: RotaryEmbedding) throws {
        let p = operation.parameters, pairs = p.dimensions / 2
        guard !operation.positions.isEmpty else { return }
        guard pairs <= 1024, MemoryLayout<Int>.size == MemoryLayout<Int64>.size else { return operation.computeReference() }
        struct Arguments {
            let x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, positions: UnsafePointer<Int64>
            let heads: Int64, width: Int64, dimensions: Int64, frequencies: UnsafePointer<Float>
            let positionScale: Float, layout: Int32
        }
        let heads = operation.input.shape[1], width = operation.input.shape[2]
        withUnsafeTemporaryAllocation(of: Float.self, capacity: pairs) { frequencies in
            for i in 0..<pairs { frequencies[i] = p.frequency(ofPair: i) }
            operation.positions.withUnsafeBufferPointer { positions in
                positions.withMemoryRebound(to: Int64.self) { positions in
                    let arguments = Arguments(
                        x: operation.input.floatPointer, y: operation.output.mutableFloatPointer, positions: positions.baseAddress!,
                        heads: Int64(heads), width: Int64(width), dimensions: Int64(p.dimensions),
                        frequencies: frequencies.baseAddress!, positionScale: p.positionScale, layout: p.layout == .interleaved ? 0 : 1)
                    parallelRows.runTasks(rowCount: positions.count, workPerRow: heads * width * 4, arguments: arguments) {
                        raw, _, begin, end in
                        let a = raw!.load(as: Arguments.self)
                        ck_rope(
                            a.x, a.y, a.positions, a.heads, a.width, a.dimensions, a.frequencies, a.positionScale, a.layout,
                            begin, end)
                    }
                }
            }
        }
    }

    public func execute(_ operation: GatedActivation) throws {
        struct Arguments {
            let gate: UnsafePointer<Float>, up: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, function: Int32
        }
        let arguments = Arguments(
            gate: operation.gate.floatPointer, up: operation.up.floatPointer, y: operation.output.mutableFloatPointer,
            function: operation.function == .silu ? 0 : 1)
        parallelRows.runTasks(rowCount: operation.gate.elementCount, workPerRow: 8, arguments: arguments) { raw, _, begin, end in
            let a = raw!.load(as: Arguments.self)
            ck_gated_activation(a.gate, a.up, a.y, a.function, begin, end)
        }
    }
}
