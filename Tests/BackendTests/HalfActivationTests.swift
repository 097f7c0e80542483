import BLASBackend
import CPUKernels
import Foundation
import TensorCore
import Testing
import TestSupport

/// f16 and bf16 weights meet activations rounded to f16 (`ck_half_convert`,
/// `ck_matvec_half`): the rounding is exactly Swift's `Float16(_:)` of the activations
/// scaled by a power of two, on every instruction set, and the BLAS backend's f16 and
/// bf16 products are the products with those rounded activations where its
/// `halfActivations` is on (except with `activations=float`), and with the activations as
/// they are where it is off.
struct HalfActivationTests {
    /// The instruction sets this processor can run.
    static let instructionSets: [ck_isa] = [CK_ISA_PORTABLE, CK_ISA_AVX2, CK_ISA_AVX512].filter {
        $0.rawValue <= ck_detected_isa().rawValue
    }

    /// `x` converted by `ck_half_convert` with `isa`: the f16 bit patterns and the
    /// factor a dot product is multiplied by.
    static func convert(_ x: [Float], isa: ck_isa) -> (values: [UInt16], unscale: Float) {
        let bytes = ck_half_activation_bytes(Int64(x.count))
        let memory = UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 64), alignment: 64)
        defer { memory.deallocate() }
        var activation = ck_half_activation()
        ck_half_convert(isa, x, Int64(x.count), memory, &activation)
        let values = Array(UnsafeBufferPointer(start: activation.values, count: x.count))
        return (values, activation.unscale)
    }

    /// The scale the conversion must choose: the power of two that brings the largest
    /// magnitude into [2^14, 2^15); 1 when there is an infinity or a NaN, or only zeros.
    static func expectedScale(_ x: [Float]) -> Float {
        guard x.allSatisfy(\.isFinite) else { return 1 }
        let largest = x.map(abs).max() ?? 0
        guard largest > 0 else { return 1 }
        // largest is in [2^e, 2^(e+1)); the kernel clamps e at -101 so that 2^(14 - e) stays finite.
        return Float(sign: .plus, exponent: 14 - max(Int(largest.exponent), -101), significand: 1)
    }

    /// Values that exercise the rounding: ties between neighbouring f16 values (both
    /// directions of round-to-even), values that become f16 subnormals or zero after
    /// scaling, and random values of every magnitude relative to the largest.
    static func testVector(seed: Int, magnitude: Float) -> [Float] {
        var random = SeededRandom(seed: seed)
        var x: [Float] = [magnitude]
        for step in 0..<64 {
            // 1 + (2j + 1) · 2^-11: exactly between two f16 neighbours of 1 (scaled by the same power of two).
            x.append(magnitude / 2 * (1 + Float(2 * step + 1) * 0x1p-11))
        }
        for exponent in stride(from: -40, through: 0, by: 1) {
            x.append(magnitude * Float(sign: .plus, exponent: exponent, significand: Float.random(in: 1..<2, using: &random)))
        }
        for _ in 0..<900 {
            let relative = Float(pow(2, Double.random(in: -45...0, using: &random)))
            x.append(magnitude * relative * (Bool.random(using: &random) ? 1 : -1))
        }
        return x
    }

    @Test(arguments: [Float(1), 3.7e-9, 6.1e4, 2.5e11, 1e-30, 3e37])
    func roundingIsFloat16OfTheScaledValues(magnitude: Float) {
        let x = Self.testVector(seed: Int(magnitude.bitPattern), magnitude: magnitude)
        let scale = Self.expectedScale(x)
        let expected = x.map { Float16($0 * scale).bitPattern }
        for isa in Self.instructionSets {
            let (values, unscale) = Self.convert(x, isa: isa)
            #expect(unscale == 1 / scale, "isa \(isa.rawValue) magnitude \(magnitude)")
            let differing = zip(values, expected).filter { $0 != $1 }.count
            #expect(differing == 0, "isa \(isa.rawValue) magnitude \(magnitude): \(differing) of \(x.count) values differ")
            let largest = x.map { abs($0 * scale) }.max()!
            #expect(largest >= 0x1p14 && largest < 0x1p15)
        }
    }

    /// With an infinity or a NaN among the activations nothing is scaled: the rounding
    /// of values near f16's largest (65504; 65520 and above become infinities) is checked
    /// there, and infinities and NaNs stay what they are.
    @Test func nonFiniteActivationsAreNotScaled() {
        let x: [Float] = [.infinity, -.infinity, .nan, 65504, 65519.99, 65520, -70000, 1e-8, -3e-6, 2.9802322e-8, 0, -0.0]
        let expected = x.map { Float16($0).bitPattern }
        for isa in Self.instructionSets {
            let (values, unscale) = Self.convert(x, isa: isa)
            #expect(unscale == 1)
            for (index, (value, wanted)) in zip(values, expected).enumerated() {
                if x[index].isNaN {
                    #expect(Float16(bitPattern: value).isNaN, "isa \(isa.rawValue): NaN became \(value)")
                } else {
                    #expect(value == wanted, "isa \(isa.rawValue): \(x[index]) → \(value), Float16 gives \(wanted)")
                }
            }
        }
    }

    /// On every BLAS variant an f16 or bf16 product equals, up to the order of float
    /// additions, the product with the activations rounded as above (`activations=int16`
    /// or `int8` with `halfActivations` on) or with the activations as they are
    /// (`activations=float`, or `halfActivations` off), for decode and small prompt row
    /// counts.
    @Test(arguments: [ElementType.f16, .bf16])
    func blasProductsUseTheRoundedActivations(weightType: ElementType) throws {
        var factory = TensorFactory(seed: 7)
        for (n, k, m) in [(1, 2048, 64), (3, 1000, 37), (8, 96, 5)] {
            let weight = try factory.weight(weightType, rows: m, length: k)
            let input = try factory.f32([n, k])
            let w = try Tensor(converting: weight, to: .f32).floats(), x = input.floats()
            func product(_ x: [Float]) -> [Float] {
                var y = [Float](repeating: 0, count: n * m)
                for j in 0..<n {
                    for r in 0..<m {
                        var sum = 0.0
                        for i in 0..<k { sum += Double(w[r * k + i]) * Double(x[j * k + i]) }
                        y[j * m + r] = Float(sum)
                    }
                }
                return y
            }
            var rounded = [Float]()
            for j in 0..<n {
                let row = Array(x[(j * k)..<((j + 1) * k)])
                let scale = Self.expectedScale(row)
                rounded += row.map { Float(Float16($0 * scale)) / scale }
            }
            let withRounding = product(rounded), withoutRounding = product(x)
            for (name, backend) in TestBackends.candidates {
                let output = try backend.matmul(input, weight: weight).floats()
                let blas = try #require(backend as? BLASBackend)
                let rounds = blas.halfActivations && blas.activationPrecision != .float
                let reference = rounds ? withRounding : withoutRounding
                let other = rounds ? withoutRounding : withRounding
                let error = normalizedMeanSquaredError(output, reference)
                #expect(error <= AgreementTolerance.exact, "\(weightType) \(name) n=\(n) k=\(k): NMSE \(error)")
                // The rounding is visible: the other reference is much further away.
                #expect(normalizedMeanSquaredError(output, other) > 100 * max(error, 1e-14), "\(weightType) \(name) n=\(n) k=\(k)")
            }
        }
    }

    /// `half-activations` decides whether f16 and bf16 weights meet f16 activations;
    /// `auto` (the default) follows the processor, and `activations=float` wins over `on`.
    @Test func halfActivationsOption() throws {
        func make(_ options: [String: String]) throws -> BLASBackend {
            var configuration = BackendConfiguration(threadCount: 1)
            configuration.options = options
            return try BLASBackend(configuration: configuration)
        }
        #expect(try make([:]).halfActivations == BLASBackend.halfActivationsAreFaster)
        #expect(try make(["half-activations": "auto"]).halfActivations == BLASBackend.halfActivationsAreFaster)
        #expect(try make(["half-activations": "on"]).halfActivations)
        #expect(try !make(["half-activations": "off"]).halfActivations)
        // The processor's own answer: AMD with AVX2 only (the vendor CPUID reports).
        let vendorIsAMD = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?.contains("AuthenticAMD")
        if let vendorIsAMD {
            #expect(BLASBackend.halfActivationsAreFaster == (vendorIsAMD && ck_detected_isa().rawValue >= CK_ISA_AVX2.rawValue))
        }
    }
}
