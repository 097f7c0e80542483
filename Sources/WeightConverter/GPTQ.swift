import COpenBLAS
import Foundation
import TensorCore

/// GPTQ (Frantar et al., 2022): quantizes a weight matrix column by column, spreading each
/// column's rounding error over the columns not yet quantized so that the layer's output
/// on the calibration inputs changes least.
///
/// With H = Σ x xᵀ the inputs' second moments (k × k for k input columns), damped by
/// `dampening` × its mean diagonal, and U the upper Cholesky factor of H⁻¹ (LAPACKE
/// `dpotrf`/`dpotri`/`dpotrf`), column i is rounded to q and every later column j of the same
/// row moves by −(w_i − q)/U_ii · U_ij. Columns are processed in batches of 256 (a whole
/// number of every block length), the updates inside a batch at once per column and those
/// to later columns as one matrix product per batch, so the work is mostly `sgemm`.
///
/// Rounding keeps each block type's own scales: when a row reaches the first column of a
/// block, the block's header is chosen by the type's encoder from the row's current values
/// (weighted by the importance diag(H)/n, as with an importance matrix), and the block's
/// values then take the nearest level under that header (``BlockGrid``).
enum GPTQ {
    /// Why GPTQ could not run.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// `weight` ([rows, columns], any readable type) quantized to `type` with the second
    /// moments `moments` (columns × columns, row-major, summed over `sampleCount` inputs).
    static func quantize(
        _ weight: Tensor, to type: ElementType, moments: [Float], sampleCount: Int, dampening: Double = 0.01
    ) throws -> Tensor {
        guard let maximumLevel = BlockGrid.maximumLevel(of: type) else {
            throw Failure(description: "GPTQ needs a block type with levels, not \(type)")
        }
        let rows = weight.rowCount, k = weight.rowLength
        guard moments.count == k * k, k % type.blockLength == 0 else {
            throw Failure(description: "the second moments are \(moments.count) values for \(k) columns")
        }
        // The weights in f32, row-major, updated in place as errors are spread.
        var w = [Float](repeating: 0, count: rows * k)
        guard let sourceRowBytes = weight.elementType.rowByteCount(length: k) else {
            throw Failure(description: "rows of \(k) values are not whole blocks of \(weight.elementType)")
        }
        w.withUnsafeMutableBufferPointer { buffer in
            for r in 0..<rows { RowCodec.decode(weight.elementType, from: weight.rawPointer + r * sourceRowBytes, count: k, into: buffer.baseAddress! + r * k) }
        }
        // H, damped; a column no input ever reached is dropped (weight 0, H_ii = 1).
        var h = moments.map(Double.init)
        var meanDiagonal = 0.0
        for i in 0..<k { meanDiagonal += h[i * k + i] }
        meanDiagonal /= Double(k)
        let importance = (0..<k).map { Float(max(h[$0 * k + $0], 0) / Double(max(sampleCount, 1))) }
        for i in 0..<k where h[i * k + i] <= 0 {
            h[i * k + i] = 1
            for r in 0..<rows { w[r * k + i] = 0 }
        }
        let damping = dampening * max(meanDiagonal, 1e-12)
        for i in 0..<k { h[i * k + i] += damping }
        let u = try upperCholeskyOfInverse(h, k).map(Float.init)

        let blockLength = type.blockLength, blockBytes = type.blockByteCount
        let rowBytes = k / blockLength * blockBytes
        let output = try Tensor(zeros: [rows, k], elementType: type)
        let out = output.mutableRawPointer
        let batch = 256
        var levels = [UInt8](repeating: 0, count: rows * k)
        var steps = [Float](repeating: 0, count: rows * blockLength), offsets = [Float](repeating: 0, count: rows * blockLength)
        var errors = [Float](repeating: 0, count: rows * batch)
        var uBlock = [Float](repeating: 0, count: batch * k)
        for b0 in stride(from: 0, to: k, by: batch) {
            let b1 = min(b0 + batch, k), width = b1 - b0
            for i in b0..<b1 {
                let blockStart = i % blockLength == 0
                let uii = u[i * k + i]
                for r in 0..<rows {
                    let row = r * k
                    if blockStart {
                        // The block's header, as the encoder chooses it for the current values.
                        let block = out + r * rowBytes + i / blockLength * blockBytes
                        w.withUnsafeBufferPointer { values in
                            importance.withUnsafeBufferPointer { weights in
                                if type == .q8_0 {
                                    RowCodec.encode(values.baseAddress! + row + i, count: blockLength, as: type, into: block)
                                } else {
                                    var sumOfSquares: Float = 0
                                    for j in 0..<k { sumOfSquares += values[row + j] * values[row + j] }
                                    encodeBlock(type, values.baseAddress! + row + i, importance: weights.baseAddress! + i,
                                                rowMeanSquare: sumOfSquares / Float(k), into: block)
                                }
                            }
                        }
                        steps.withUnsafeMutableBufferPointer { s in
                            offsets.withUnsafeMutableBufferPointer { o in
                                BlockGrid.grid(type, block: UnsafeRawPointer(block), steps: s.baseAddress! + r * blockLength, offsets: o.baseAddress! + r * blockLength)
                            }
                        }
                    }
                    let position = r * blockLength + i % blockLength
                    let x = w[row + i], step = steps[position], offset = offsets[position]
                    var level = 0
                    if step != 0 {
                        let exact = ((x - offset) / step).rounded(.toNearestOrEven)
                        level = exact.isFinite ? Int(max(0, min(Float(maximumLevel), exact))) : 0
                    }
                    levels[row + i] = UInt8(level)
                    let q = step * Float(level) + offset
                    let error = (x - q) / uii
                    errors[r * batch + (i - b0)] = error
                    // Spread the error over the rest of this batch now.
                    if i + 1 < b1 {
                        for j in i + 1..<b1 { w[row + j] -= error * u[i * k + j] }
                    }
                }
            }
            // The rest of the columns: W[:, b1...] −= E · U[b0..<b1, b1...].
            if b1 < k {
                for i in 0..<width {
                    for j in 0..<k - b1 { uBlock[i * (k - b1) + j] = u[(b0 + i) * k + b1 + j] }
                }
                w.withUnsafeMutableBufferPointer { wb in
                    errors.withUnsafeBufferPointer { eb in
                        uBlock.withUnsafeBufferPointer { ub in
                            cblas_sgemm(
                                CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(k - b1), Int32(width), -1,
                                eb.baseAddress, Int32(batch), ub.baseAddress, Int32(k - b1), 1, wb.baseAddress! + b1, Int32(k))
                        }
                    }
                }
            }
        }
        levels.withUnsafeBufferPointer { l in
            for r in 0..<rows {
                for block in 0..<k / blockLength {
                    BlockGrid.storeLevels(type, l.baseAddress! + r * k + block * blockLength, into: out + r * rowBytes + block * blockBytes)
                }
            }
        }
        return output
    }

    /// One block by the importance-weighted encoder of `type`.
    private static func encodeBlock(
        _ type: ElementType, _ x: UnsafePointer<Float>, importance: UnsafePointer<Float>, rowMeanSquare: Float,
        into block: UnsafeMutableRawPointer
    ) {
        switch type {
        case .q4_0: Q4_0Block.encode(x, importance: importance, rowMeanSquare: rowMeanSquare, into: block)
        case .q4_1: Q4_1Block.encode(x, importance: importance, rowMeanSquare: rowMeanSquare, into: block)
        case .q5_0: Q5_0Block.encode(x, importance: importance, rowMeanSquare: rowMeanSquare, into: block)
        case .q5_1: Q5_1Block.encode(x, importance: importance, rowMeanSquare: rowMeanSquare, into: block)
        case .q2_K: Q2_KBlock.encode(x, importance: importance, rowMeanSquare: rowMeanSquare, into: block)
        case .q3_K: Q3_KBlock.encode(x, importance: importance, rowMeanSquare: rowMeanSquare, into: block)
        case .q4_K: Q4_KBlock.encode(x, importance: importance, rowMeanSquare: rowMeanSquare, into: block)
        case .q5_K: Q5_KBlock.encode(x, importance: importance, rowMeanSquare: rowMeanSquare, into: block)
        case .q6_K: Q6_KBlock.encode(x, importance: importance, rowMeanSquare: rowMeanSquare, into: block)
        default: RowCodec.encode(x, count: type.blockLength, as: type, into: block)
        }
    }

    /// U with Uᵀ U = H⁻¹ (upper triangle, row-major k × k, zeros below), through LAPACKE's
    /// Cholesky factorisation and inverse.
    static func upperCholeskyOfInverse(_ h: [Double], _ k: Int) throws -> [Double] {
        var a = h
        let n = Int32(k)
        var status = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "U")), n, &a, n)
        guard status == 0 else { throw Failure(description: "the second-moment matrix is not positive definite (dpotrf: \(status))") }
        status = LAPACKE_dpotri(LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "U")), n, &a, n)
        guard status == 0 else { throw Failure(description: "the second-moment matrix could not be inverted (dpotri: \(status))") }
        // dpotri leaves the upper triangle; mirror it, then factor H⁻¹ = Uᵀ U.
        for i in 0..<k { for j in 0..<i { a[i * k + j] = a[j * k + i] } }
        status = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "U")), n, &a, n)
        guard status == 0 else { throw Failure(description: "the inverse second-moment matrix is not positive definite (dpotrf: \(status))") }
        for i in 0..<k { for j in 0..<i { a[i * k + j] = 0 } }
        return a
    }
}
