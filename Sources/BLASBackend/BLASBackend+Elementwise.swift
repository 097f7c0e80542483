import CPUKernels
import TensorCore

/// RMSNorm, RoPE and the gated activations in C, split over threads: the Swift
/// reference versions are readable but slow enough to matter between the matrix
/// products of a decoded token.
extension BLASBackend {
    public func execute(_ operation: RMSNormalization) throws {
        guard operation.weight.elementType == .f32 else { return operation.computeReference() }
        let n = operation.input.rowLength
        let x = operation.input.floatPointer, w = operation.weight.floatPointer, y = operation.output.mutableFloatPointer
        parallelRows.run(rowCount: operation.input.rowCount, workPerRow: n) { begin, end in
            ck_rms_norm(x, w, y, Int64(n), operation.epsilon, Int64(begin), Int64(end))
        }
    }

    public func execute(_ operation: RotaryEmbedding) throws {
        let p = operation.parameters
        let frequencies = (0..<p.dimensions / 2).map(p.frequency(ofPair:))
        let positions = operation.positions.map(Int64.init)
        let heads = operation.input.shape[1], width = operation.input.shape[2]
        let x = operation.input.floatPointer, y = operation.output.mutableFloatPointer
        guard p.dimensions / 2 <= 1024 else { return operation.computeReference() }
        frequencies.withUnsafeBufferPointer { frequencies in
            positions.withUnsafeBufferPointer { positions in
                parallelRows.run(rowCount: positions.count, workPerRow: heads * width * 4) { begin, end in
                    ck_rope(
                        x, y, positions.baseAddress, Int64(heads), Int64(width), Int64(p.dimensions), frequencies.baseAddress,
                        p.positionScale, p.layout == .interleaved ? 0 : 1, Int64(begin), Int64(end))
                }
            }
        }
    }

    public func execute(_ operation: GatedActivation) throws {
        let g = operation.gate.floatPointer, u = operation.up.floatPointer, y = operation.output.mutableFloatPointer
        let function: Int32 = operation.function == .silu ? 0 : 1
        parallelRows.run(rowCount: operation.gate.elementCount, workPerRow: 8) { begin, end in
            ck_gated_activation(g, u, y, function, Int64(begin), Int64(end))
        }
    }
}
