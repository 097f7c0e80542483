/// The scale searches of ggml's K-quant encoders (`ggml-quants.c`), written so that each
/// floating-point operation happens in the same order as in ggml's reference C, with no
/// fused multiply-adds: the chosen levels and scales, and so the blocks, are the same.
///
/// Levels are written to `Int8`/`UInt8` buffers the caller provides (a block's 256 values
/// at most), so encoding allocates nothing.
@usableFromInline
enum KQuantSearch {
    /// ggml's `nearest_int`: rounds to nearest, ties to even, by adding 1.5·2²³ and reading
    /// the mantissa bits. For |x| ≤ 4,194,303 this is `x.rounded(.toNearestOrEven)`; outside
    /// that range (and for NaN) it gives the same meaningless number ggml does, without
    /// trapping.
    @inlinable
    static func nearestInt(_ x: Float) -> Int {
        let shifted = x + 12_582_912
        return Int(Int32(bitPattern: shifted.bitPattern & 0x007F_FFFF)) - 0x0040_0000
    }

    /// Blocks whose largest magnitude is below this are stored as zeros.
    @usableFromInline static let groupMaxEpsilon: Float = 1e-15

    /// The weight of value `x` in the error a symmetric search minimises (`rmse_type`).
    @inlinable
    static func errorWeight(_ x: Float, rmseType: Int) -> Float {
        switch rmseType {
        case 1: x * x
        case 2: 1
        case 3: abs(x)
        default: abs(x).squareRoot()
        }
    }

    /// `make_qx_quants`: a symmetric scale for `n` values with levels −nmax…nmax−1, stored
    /// as `L[i] = level + nmax`. `rmseType` 0 rounds with the largest magnitude's scale;
    /// otherwise 19 scales around it are tried and the one with the least weighted squared
    /// error kept (weights `importance`, else by `rmseType`). A negative `rmseType` returns
    /// early with the mean of the first least-squares scale and the plain one.
    @inlinable
    static func symmetricScale(
        count n: Int, levels nmax: Int, _ x: UnsafePointer<Float>, into L: UnsafeMutablePointer<Int8>, rmseType: Int,
        importance qw: UnsafePointer<Float>?
    ) -> Float {
        var maximum: Float = 0
        var amax: Float = 0
        for i in 0..<n {
            let ax = abs(x[i])
            if ax > amax {
                amax = ax
                maximum = x[i]
            }
        }
        if amax < groupMaxEpsilon {
            for i in 0..<n { L[i] = 0 }
            return 0
        }
        var iscale = -Float(nmax) / maximum
        if rmseType == 0 {
            for i in 0..<n {
                let l = nearestInt(iscale * x[i])
                L[i] = Int8(truncatingIfNeeded: nmax + max(-nmax, min(nmax - 1, l)))
            }
            return 1 / iscale
        }
        let returnEarly = rmseType < 0
        let type = abs(rmseType)
        func weight(_ i: Int) -> Float { qw.map { $0[i] } ?? errorWeight(x[i], rmseType: type) }
        var sumlx: Float = 0
        var suml2: Float = 0
        for i in 0..<n {
            var l = nearestInt(iscale * x[i])
            l = max(-nmax, min(nmax - 1, l))
            L[i] = Int8(truncatingIfNeeded: l + nmax)
            let w = weight(i)
            let fl = Float(l)
            sumlx += w * x[i] * fl
            suml2 += w * fl * fl
        }
        var scale = suml2 != 0 ? sumlx / suml2 : 0
        if returnEarly { return suml2 > 0 ? 0.5 * (scale + 1 / iscale) : 1 / iscale }
        var best = scale * sumlx
        for step in -9...9 where step != 0 {
            iscale = -(Float(nmax) + 0.1 * Float(step)) / maximum
            sumlx = 0
            suml2 = 0
            for i in 0..<n {
                let l = Float(max(-nmax, min(nmax - 1, nearestInt(iscale * x[i]))))
                let w = weight(i)
                sumlx += w * x[i] * l
                suml2 += w * l * l
            }
            if suml2 > 0 && sumlx * sumlx > best * suml2 {
                for i in 0..<n {
                    let l = nearestInt(iscale * x[i])
                    L[i] = Int8(truncatingIfNeeded: nmax + max(-nmax, min(nmax - 1, l)))
                }
                scale = sumlx / suml2
                best = scale * sumlx
            }
        }
        return scale
    }

    /// `make_q3_quants`: a symmetric scale for `n` values with levels −nmax…nmax−1 (stored
    /// plus nmax), refined by up to five passes that move single levels while the
    /// |x|²-weighted fit improves.
    @inlinable
    static func q3Scale(
        count n: Int, levels nmax: Int, _ x: UnsafePointer<Float>, into L: UnsafeMutablePointer<Int8>, refine: Bool
    ) -> Float {
        var maximum: Float = 0
        var amax: Float = 0
        for i in 0..<n {
            let ax = abs(x[i])
            if ax > amax {
                amax = ax
                maximum = x[i]
            }
        }
        if amax < groupMaxEpsilon {
            for i in 0..<n { L[i] = 0 }
            return 0
        }
        let iscale = -Float(nmax) / maximum
        guard refine else {
            for i in 0..<n {
                let l = max(-nmax, min(nmax - 1, nearestInt(iscale * x[i])))
                L[i] = Int8(truncatingIfNeeded: l + nmax)
            }
            return 1 / iscale
        }
        var sumlx: Float = 0
        var suml2: Float = 0
        for i in 0..<n {
            let l = max(-nmax, min(nmax - 1, nearestInt(iscale * x[i])))
            L[i] = Int8(truncatingIfNeeded: l)
            let w = x[i] * x[i]
            let fl = Float(l)
            sumlx += w * x[i] * fl
            suml2 += w * fl * fl
        }
        for _ in 0..<5 {
            var changed = 0
            for i in 0..<n {
                let w = x[i] * x[i]
                let current = Float(L[i])
                var slx = sumlx - w * x[i] * current
                if slx > 0 {
                    var sl2 = suml2 - w * current * current
                    var newL = nearestInt(x[i] * sl2 / slx)
                    newL = max(-nmax, min(nmax - 1, newL))
                    if newL != Int(L[i]) {
                        let fl = Float(newL)
                        slx += w * x[i] * fl
                        sl2 += w * fl * fl
                        if sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2 {
                            L[i] = Int8(truncatingIfNeeded: newL)
                            sumlx = slx
                            suml2 = sl2
                            changed += 1
                        }
                    }
                }
            }
            if changed == 0 { break }
        }
        for i in 0..<n { L[i] = L[i] &+ Int8(truncatingIfNeeded: nmax) }
        return suml2 > 0 ? sumlx / suml2 : 0
    }

    /// `make_qkx2_quants`: a scale and a minimum for `n` values with levels 0…nmax
    /// (value ≈ scale·L − minimum), searched over `steps + 1` scales from
    /// `(rmin + nmax)/(max − min)` in steps of `rdelta`, each fitted by weighted least
    /// squares; the fit with the least weighted error (absolute with `absoluteError`,
    /// else squared) is kept. Returns the scale and the minimum (as a positive number to
    /// subtract). `scratch` holds `n` levels.
    @inlinable
    static func affineScale(
        count n: Int, levels nmax: Int, _ x: UnsafePointer<Float>, weights: UnsafePointer<Float>,
        into L: UnsafeMutablePointer<UInt8>, scratch Laux: UnsafeMutablePointer<UInt8>,
        rmin: Float, rdelta: Float, steps: Int, absoluteError: Bool
    ) -> (scale: Float, minimum: Float) {
        affineSearch(
            count: n, levels: nmax, x, weights: weights, into: L, scratch: Laux, rmin: rmin, rdelta: rdelta, steps: steps,
            absoluteError: absoluteError, flatUnlessAbove: false)
    }

    /// `make_qkx3_quants`: as ``affineScale(count:levels:_:weights:into:scratch:rmin:rdelta:steps:absoluteError:)``
    /// (ggml's importance-matrix variant): the weights default to x², and a block whose
    /// maximum is not above its minimum is all zeros.
    @inlinable
    static func affineScaleWeighted(
        count n: Int, levels nmax: Int, _ x: UnsafePointer<Float>, weights: UnsafePointer<Float>?,
        into L: UnsafeMutablePointer<UInt8>, scratch Laux: UnsafeMutablePointer<UInt8>,
        rmin: Float, rdelta: Float, steps: Int, absoluteError: Bool
    ) -> (scale: Float, minimum: Float) {
        affineSearch(
            count: n, levels: nmax, x, weights: weights, into: L, scratch: Laux, rmin: rmin, rdelta: rdelta, steps: steps,
            absoluteError: absoluteError, flatUnlessAbove: true)
    }

    /// The search of `make_qkx2_quants` and `make_qkx3_quants`, which differ only in the
    /// default weights (x², for the latter) and in the test for a flat block: qkx2 treats
    /// `max == min` as flat, qkx3 `max <= min` (`flatUnlessAbove`).
    @inlinable
    static func affineSearch(
        count n: Int, levels nmax: Int, _ x: UnsafePointer<Float>, weights: UnsafePointer<Float>?,
        into L: UnsafeMutablePointer<UInt8>, scratch Laux: UnsafeMutablePointer<UInt8>,
        rmin: Float, rdelta: Float, steps: Int, absoluteError: Bool, flatUnlessAbove: Bool
    ) -> (scale: Float, minimum: Float) {
        func weight(_ i: Int) -> Float { weights.map { $0[i] } ?? x[i] * x[i] }
        var minimum = x[0]
        var maximum = x[0]
        var sumW = weight(0)
        var sumX = sumW * x[0]
        for i in 1..<n {
            if x[i] < minimum { minimum = x[i] }
            if x[i] > maximum { maximum = x[i] }
            let w = weight(i)
            sumW += w
            sumX += w * x[i]
        }
        if minimum > 0 { minimum = 0 }
        if flatUnlessAbove ? maximum <= minimum : maximum == minimum {
            for i in 0..<n { L[i] = 0 }
            return (0, -minimum)
        }
        let levels = Float(nmax)
        var iscale = levels / (maximum - minimum)
        var scale = 1 / iscale
        func error(_ diff: Float) -> Float { absoluteError ? abs(diff) : diff * diff }
        var bestError: Float = 0
        for i in 0..<n {
            let l = nearestInt(iscale * (x[i] - minimum))
            L[i] = UInt8(truncatingIfNeeded: max(0, min(nmax, l)))
            let diff = scale * Float(L[i]) + minimum - x[i]
            bestError += weight(i) * error(diff)
        }
        if steps < 1 { return (scale, -minimum) }
        for step in 0...steps {
            iscale = (rmin + rdelta * Float(step) + levels) / (maximum - minimum)
            var sumL: Float = 0
            var sumL2: Float = 0
            var sumXL: Float = 0
            for i in 0..<n {
                let l = max(0, min(nmax, nearestInt(iscale * (x[i] - minimum))))
                Laux[i] = UInt8(truncatingIfNeeded: l)
                let w = weight(i)
                let fl = Float(l)
                sumL += w * fl
                sumL2 += w * fl * fl
                sumXL += w * fl * x[i]
            }
            let D = sumW * sumL2 - sumL * sumL
            if D > 0 {
                var thisScale = (sumW * sumXL - sumX * sumL) / D
                var thisMinimum = (sumL2 * sumX - sumL * sumXL) / D
                if thisMinimum > 0 {
                    thisMinimum = 0
                    thisScale = sumXL / sumL2
                }
                var currentError: Float = 0
                for i in 0..<n {
                    let diff = thisScale * Float(Laux[i]) + thisMinimum - x[i]
                    currentError += weight(i) * error(diff)
                }
                if currentError < bestError {
                    for i in 0..<n { L[i] = Laux[i] }
                    bestError = currentError
                    scale = thisScale
                    minimum = thisMinimum
                }
            }
        }
        return (scale, -minimum)
    }

    /// `make_qp_quants`: a scale for `n` non-negative values (a block's group scales or
    /// minimums) with levels 0…nmax, chosen among 9 candidates by `weights`-weighted squared
    /// error and refined by moving single levels for up to five passes.
    @inlinable
    static func positiveScale(
        count n: Int, levels nmax: Int, _ x: UnsafePointer<Float>, into L: UnsafeMutablePointer<UInt8>,
        weights: UnsafePointer<Float>
    ) -> Float {
        var maximum: Float = 0
        for i in 0..<n { maximum = max(maximum, x[i]) }
        if maximum < groupMaxEpsilon {
            for i in 0..<n { L[i] = 0 }
            return 0
        }
        var iscale = Float(nmax) / maximum
        for i in 0..<n { L[i] = UInt8(truncatingIfNeeded: nearestInt(iscale * x[i])) }
        let scale = 1 / iscale
        var bestError: Float = 0
        for i in 0..<n {
            let diff = x[i] - scale * Float(L[i])
            bestError += weights[i] * diff * diff
        }
        for step in -4...4 where step != 0 {
            let candidate = (0.1 * Float(step) + Float(nmax)) / maximum
            let candidateScale = 1 / candidate
            var error: Float = 0
            for i in 0..<n {
                let l = min(nmax, nearestInt(candidate * x[i]))
                let diff = x[i] - candidateScale * Float(l)
                error += weights[i] * diff * diff
            }
            if error < bestError {
                bestError = error
                iscale = candidate
            }
        }
        var sumlx: Float = 0
        var suml2: Float = 0
        for i in 0..<n {
            let l = min(nmax, nearestInt(iscale * x[i]))
            L[i] = UInt8(truncatingIfNeeded: l)
            let w = weights[i]
            let fl = Float(l)
            sumlx += w * x[i] * fl
            suml2 += w * fl * fl
        }
        for _ in 0..<5 {
            var changed = 0
            for i in 0..<n {
                let w = weights[i]
                let current = Float(L[i])
                var slx = sumlx - w * x[i] * current
                var sl2 = suml2 - w * current * current
                if slx > 0 && sl2 > 0 {
                    let newL = min(nmax, nearestInt(x[i] * sl2 / slx))
                    if newL != Int(L[i]) {
                        let fl = Float(newL)
                        slx += w * x[i] * fl
                        sl2 += w * fl * fl
                        if slx * slx * suml2 > sumlx * sumlx * sl2 {
                            L[i] = UInt8(truncatingIfNeeded: newL)
                            sumlx = slx
                            suml2 = sl2
                            changed += 1
                        }
                    }
                }
            }
            if changed == 0 { break }
        }
        return suml2 > 0 ? sumlx / suml2 : 0
    }
}
