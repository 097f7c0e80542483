import COpenBLAS
import CPUKernels
import TensorCore

/// Matrix products, by the path ``BLASBackend`` documents: each weight type's kernels were
/// resolved from the kernel table when the backend was created (``ResolvedKernels``).
extension BLASBackend {
    public func execute(_ operation: MatrixMultiplication) throws {
        switch path(for: operation) {
        case .floatMatrixProduct: multiplyFloatWeight(operation)
        case .integerMatrixProducts: multiplyByIntegerMatrixProducts(operation)
        case .dequantizedPanels: multiplyByDequantizedPanels(operation)
        case .fusedDots: multiplyByFusedDots(CollectionOfOne(operation))
        }
    }

    /// Products that would each take the fused dots (decoding, short prompts) share one
    /// quantized input and one parallel loop over all their weights' rows; others run one
    /// by one.
    public func execute(_ operation: SharedInputMatrixMultiplication) throws {
        if operation.parts.allSatisfy({ path(for: $0) == .fusedDots }) {
            multiplyByFusedDots(operation.parts)
        } else {
            for part in operation.parts { try execute(part) }
        }
    }

    /// The ways a matrix product is computed, chosen by weight type and input rows.
    private enum MatrixPath {
        case floatMatrixProduct, integerMatrixProducts, dequantizedPanels, fusedDots
    }

    private func path(for operation: MatrixMultiplication) -> MatrixPath {
        let n = operation.rowCount, type = operation.weight.elementType
        if type == .f32 { return n >= matrixRowThreshold ? .floatMatrixProduct : .fusedDots }
        if kernels[type].gemm != nil { return n >= integerMatrixRowThreshold ? .integerMatrixProducts : .fusedDots }
        return n >= panelRowThreshold ? .dequantizedPanels : .fusedDots
    }

    private func multiplyFloatWeight(_ operation: MatrixMultiplication) {
        let n = Int32(operation.rowCount), k = Int32(operation.innerLength), m = Int32(operation.outputLength)
        let w = operation.weight.rawPointer.assumingMemoryBound(to: Float.self)
        let x = operation.input.floatPointer, y = operation.output.mutableFloatPointer
        parallelRows.park()
        if n == 1 {
            cblas_sgemv(CblasRowMajor, CblasNoTrans, m, k, 1, w, k, x, 1, 0, y, 1)
        } else {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, m, k, 1, x, k, w, k, 0, y, m)
        }
    }

    /// Every weight row is read once and multiplied with all input rows while it is in
    /// the cache, so `n` rows cost one pass over the weight plus `n` times the arithmetic.
    /// `parts` share their input: it is quantized (or rounded to f16) once for each kind
    /// the weights need (`n` activation descriptors per kind, then the converted rows, in
    /// scratch), then one parallel loop runs over the rows of all the weights, one after
    /// another. Nothing is allocated: the parts' table is on the stack and the loop is a
    /// C function.
    private func multiplyByFusedDots<Parts: Collection<MatrixMultiplication>>(_ parts: Parts) {
        guard let input = parts.first?.input else { return }
        let n = input.rowCount, k = input.rowLength
        let isa = instructionSet.kernelValue, x = input.floatPointer
        let int8Rows = parts.contains { kernels[$0.weight.elementType].dot == .int8 } ? n : 0
        let int16Rows = parts.contains { kernels[$0.weight.elementType].dot == .int16 } ? n : 0
        let halfRows = parts.contains { kernels[$0.weight.elementType].dot == .half } ? n : 0
        let int8Bytes = ck_int8_activation_bytes(Int64(k)), int16Bytes = ck_int16_activation_bytes(Int64(k))
        let halfBytes = ck_half_activation_bytes(Int64(k))
        let int8Headers = (int8Rows * MemoryLayout<ck_int8_activation>.stride + 63) & ~63
        let int16Headers = (int16Rows * MemoryLayout<ck_int16_activation>.stride + 63) & ~63
        let halfHeaders = (halfRows * MemoryLayout<ck_half_activation>.stride + 63) & ~63
        let headers = int8Headers + int16Headers + halfHeaders
        let byteCount = headers + int8Rows * int8Bytes + int16Rows * int16Bytes + halfRows * halfBytes
        scratch.withBuffer(byteCount: max(byteCount, 64)) { memory in
            let int8 = memory.bindMemory(to: ck_int8_activation.self, capacity: max(int8Rows, 1))
            let int16 = (memory + int8Headers).bindMemory(to: ck_int16_activation.self, capacity: max(int16Rows, 1))
            let half = (memory + int8Headers + int16Headers).bindMemory(to: ck_half_activation.self, capacity: max(halfRows, 1))
            let int8Values = memory + headers, int16Values = int8Values + int8Rows * int8Bytes
            let halfValues = int16Values + int16Rows * int16Bytes
            for i in 0..<int8Rows { ck_int8_quantize(isa, x + i * k, Int64(k), int8Values + i * int8Bytes, int8 + i) }
            for i in 0..<int16Rows { ck_int16_quantize(isa, x + i * k, Int64(k), int16Values + i * int16Bytes, int16 + i) }
            for i in 0..<halfRows { ck_half_convert(isa, x + i * k, Int64(k), halfValues + i * halfBytes, half + i) }
            withUnsafeTemporaryAllocation(of: FusedDotPart.self, capacity: parts.count) { table in
                var rowCount = 0
                for (index, part) in parts.enumerated() {
                    let weight = part.weight, resolved = kernels[weight.elementType]
                    let activations: UnsafeRawPointer = switch resolved.dot {
                    case .float: UnsafeRawPointer(x)
                    case .half: UnsafeRawPointer(half)
                    case .int16: UnsafeRawPointer(int16)
                    case .int8: UnsafeRawPointer(int8)
                    }
                    table.initializeElement(
                        at: index,
                        to: FusedDotPart(
                            weight: weight.rawPointer, rowByteCount: weight.rowByteCount, type: weight.elementType.kernelType,
                            kernel: resolved.matvec, options: resolved.options, activations: activations,
                            outputLength: Int64(part.outputLength), output: part.output.mutableFloatPointer, firstRow: rowCount,
                            endRow: rowCount + part.outputLength))
                    rowCount += part.outputLength
                }
                defer { table.deinitialize() }
                let arguments = FusedDotArguments(k: Int64(k), n: Int64(n), parts: UnsafePointer(table.baseAddress!), partCount: parts.count)
                parallelRows.runTasks(rowCount: rowCount, workPerRow: k * n, arguments: arguments) { raw, _, begin, end in
                    let a = raw!.load(as: FusedDotArguments.self)
                    for p in 0..<a.partCount {
                        let part = a.parts[p]
                        guard part.firstRow < end && part.endRow > begin else { continue }
                        let rowBegin = max(begin, Int64(part.firstRow)) - Int64(part.firstRow)
                        let rowEnd = min(end, Int64(part.endRow)) - Int64(part.firstRow)
                        part.kernel(
                            part.type, part.weight, part.rowByteCount, a.k, part.activations, a.n, part.output, part.outputLength,
                            rowBegin, rowEnd, part.options)
                    }
                }
            }
        }
    }

    /// Prompt processing for quantized weights in int16 integers: the input rows are
    /// quantized and packed once, then each thread packs panels of its weight rows into
    /// its own scratch and multiplies them in tiles (`ck_gemm_int16`).
    private func multiplyByIntegerMatrixProducts(_ operation: MatrixMultiplication) {
        let n = operation.rowCount, k = operation.innerLength, m = operation.outputLength
        let weight = operation.weight
        let type = weight.elementType.kernelType, isa = instructionSet.kernelValue, gemm = kernels[weight.elementType].gemm!
        let rowBytes = ck_int16_packed_row_bytes(Int64(k))
        let paddedRows = Int(ck_int16_gemm_padded_rows(Int64(n)))
        let inputBytes = (rowBytes * paddedRows + 63) & ~63
        let panelBytes = (ck_int16_gemm_scratch_bytes(Int64(k)) + 63) & ~63
        let y = operation.output.mutableFloatPointer
        scratch.withBuffer(byteCount: inputBytes + panelBytes * parallelRows.threadCount) { memory in
            let input = operation.input.floatPointer
            parallelRows.run(rowCount: paddedRows, workPerRow: k * 4) { begin, end in
                ck_int16_pack_activations(
                    isa, input + begin * k, Int64(k), Int64(max(0, min(end, n) - begin)), Int64(end - begin), memory + begin * rowBytes)
            }
            let packed = UnsafeRawPointer(memory)
            parallelRows.runChunks(rowCount: m, workPerRow: k * n) { chunk, begin, end in
                gemm(
                    type, weight.rawPointer, weight.rowByteCount, Int64(k), packed, Int64(n), y, Int64(m), Int64(begin),
                    Int64(end), memory + inputBytes + chunk * panelBytes)
            }
        }
    }

    private func multiplyByDequantizedPanels(_ operation: MatrixMultiplication) {
        let n = operation.rowCount, k = operation.innerLength, m = operation.outputLength
        let weight = operation.weight
        let type = weight.elementType.kernelType, dequantize = kernels[weight.elementType].dequantize
        let panelRows = min(m, max(16, panelByteCount / max(1, k * 4)))
        scratch.withBuffer(of: Float.self, count: panelRows * k) { panel in
            var first = 0
            while first < m {
                let rows = min(panelRows, m - first)
                parallelRows.run(rowCount: rows, workPerRow: k) { begin, end in
                    dequantize(
                        type, weight.rawPointer, weight.rowByteCount, Int64(k), panel + begin * k,
                        Int64(first + begin), Int64(first + end))
                }
                parallelRows.park()
                cblas_sgemm(
                    CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(rows), Int32(k), 1,
                    operation.input.floatPointer, Int32(k), panel, Int32(k), 0,
                    operation.output.mutableFloatPointer + first, Int32(m))
                first += rows
            }
        }
    }

}

/// One weight of ``BLASBackend``'s fused dot products: its resolved kernel, the activations
/// in that kernel's format, and its rows `firstRow ..< endRow` of the shared parallel loop.
private struct FusedDotPart {
    let weight: UnsafeRawPointer, rowByteCount: Int, type: ck_type
    let kernel: ck_matvec_kernel, options: Int32, activations: UnsafeRawPointer
    let outputLength: Int64, output: UnsafeMutablePointer<Float>, firstRow: Int, endRow: Int
}

/// What the fused dot products' loop needs: the row length, the input rows and the table
/// of weights.
private struct FusedDotArguments {
    let k: Int64, n: Int64
    let parts: UnsafePointer<FusedDotPart>, partCount: Int
}
