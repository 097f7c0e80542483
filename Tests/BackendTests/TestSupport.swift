@testable import BLASBackend
import Foundation
import TensorCore
import TestSupport

/// The backends every test runs on, by name. `blas` is the BLAS backend as users get
/// it (int16 activations for quantized weights when decoding, `f16` activations for
/// `f16` and `bf16` weights where the processor is faster with them, the processor's
/// best instruction set). The other `blas-…` variants are generated from the kernel table
/// (`KernelTable.c`), so that every kernel the table lists for an instruction set this
/// processor runs is tested: for each (activation precision, instruction set) column with
/// a kernel written for it, `blas-<isa>-<activation>` pins that instruction set and
/// chooses that precision with the weight prefetch and block pairs off; for each option
/// a kernel of that column reads, `blas-<isa>-<activation>-<option>` turns it on.
enum TestBackends {
    /// The BLAS variants: name → backend options.
    static let blasVariants: [(name: String, options: [String: String])] = [("blas", [:])] + KernelTable.testVariants()

    static let names = ["naive"] + blasVariants.map(\.name)

    static let registry: BackendRegistry = {
        var registry = BackendRegistry()
        registry.register(BLASBackend.self)
        for (name, options) in blasVariants where name != BLASBackend.name {
            registry.register(name: name) { configuration in
                var configuration = configuration
                configuration.options.merge(options) { _, new in new }
                return try BLASBackend(configuration: configuration)
            }
        }
        return registry
    }()

    static func make(_ name: String) throws -> any Backend {
        try registry.makeBackend(named: name, configuration: BackendConfiguration(threadCount: 2))
    }

    static let naive = NaiveBackend()
    /// The BLAS variants compared with the naive backend.
    static let candidates: [(name: String, backend: any Backend)] = blasVariants.map { ($0.name, try! make($0.name)) }
}

/// How closely two backends must agree, judged by the normalised mean squared error
/// NMSE = Σ(a − b)² / Σb² over all elements of an output (b from the naive backend).
/// Every tolerance of the agreement tests is here.
///
/// - ``exact``, 1e-10, for `f32` arithmetic in another order: a dot product of length k
///   accumulated in `Float` instead of `Double` has a relative error of about
///   √k · 2⁻²⁴ (4·10⁻⁶ for k = 4096), so the NMSE is about 10⁻¹¹; 1e-10 leaves a
///   factor of ten and still catches any indexing mistake (which gives an NMSE near 1).
/// - ``reordered``, 1e-6, for products with `f16`, `bf16` or quantized weights where a
///   backend reorders the arithmetic or rounds the activations to int16 per block of 32
///   (a relative error of about 3·10⁻⁵ per value, an NMSE of about 10⁻⁹).
/// - Matrix products whose activations a backend rounds more coarsely
///   (``ActivationRounding``) are held to the bound of that rounding, output by output
///   (`BackendAgreementTests.expectMatmulAgreement`): a fixed NMSE fails by chance when a
///   few outputs nearly cancel — 5e-4 (llama.cpp's test-backend-ops) did for int8, and
///   1e-6 did for `f16` (2⁻¹¹ per value, an NMSE of about 10⁻⁷ typically, 1.7·10⁻⁶
///   drawn once for 6 outputs of length 380).
enum AgreementTolerance {
    static let exact = 1e-10
    static let reordered = 1e-6

    /// The tolerance for a matrix product with `type` weights on backend `name` (not for
    /// int8 activations: see above).
    static func forWeight(_ type: ElementType, backend name: String) -> Double {
        type == .f32 ? exact : reordered
    }
}

/// How a BLAS variant rounds the activations of a matrix product more coarsely than
/// `f32`, when it does: to int8 per block of 32 for quantized weights (`activations=int8`),
/// or to `f16` for `f16` and `bf16` weights (``BLASBackend/halfActivations``, on by
/// default on AMD processors, with integer activations for the quantized types).
enum ActivationRounding: CustomStringConvertible {
    case int8PerBlock, half

    init?(of backend: any Backend, name: String, weightType: ElementType) {
        if weightType.isQuantized, let blas = backend as? BLASBackend, blas.activationPrecision == .int8 {
            self = .int8PerBlock
        } else if weightType == .f16 || weightType == .bf16, let blas = backend as? BLASBackend,
            blas.halfActivations && blas.activationPrecision != .float
        {
            self = .half
        } else {
            return nil
        }
    }

    var description: String { self == .int8PerBlock ? "int8" : "f16" }
}

/// Random tensors for the agreement tests.
struct TensorFactory {
    var random: SeededRandom

    init(seed: Int) { random = SeededRandom(seed: seed) }

    /// A random magnitude between 10⁻⁴ and 10⁴ (one per tensor), so that tiny and
    /// large values are both exercised.
    mutating func magnitude() -> Float {
        Float(pow(10, Double.random(in: -4...4, using: &random)))
    }

    /// Values uniform in ±magnitude.
    mutating func values(_ count: Int, magnitude: Float? = nil) -> [Float] {
        let m = magnitude ?? self.magnitude()
        return (0..<count).map { _ in Float.random(in: -1...1, using: &random) * m }
    }

    mutating func f32(_ shape: [Int], magnitude: Float? = nil) throws -> Tensor {
        try Tensor(shape: shape, values: values(shape.reduce(1, *), magnitude: magnitude))
    }

    /// A weight matrix of any element type. Types that can be encoded are quantized
    /// from random values; the others (`q8_K`, an activation type) are random bytes with
    /// their f16 scales set to small finite values.
    mutating func weight(_ type: ElementType, rows: Int, length: Int) throws -> Tensor {
        if type.canEncode {
            return try Tensor(converting: f32([rows, length]), to: type)
        }
        let tensor = try Tensor(zeros: [rows, length], elementType: type)
        let bytes = tensor.mutableRawPointer
        for i in 0..<tensor.byteCount { bytes.storeBytes(of: UInt8.random(in: 0...255, using: &random), toByteOffset: i, as: UInt8.self) }
        let scaleOffsets: [Int] = switch type {
        case .q2_K: [80, 82]
        case .q3_K: [108]
        case .q4_K, .q5_K: [0, 2]
        case .q6_K: [208]
        default: []
        }
        for block in 0..<tensor.byteCount / type.blockByteCount {
            for offset in scaleOffsets {
                let scale = HalfPrecision.f16Bits(from: Float.random(in: -0.05...0.05, using: &random))
                bytes.storeBytes(of: scale, toByteOffset: block * type.blockByteCount + offset, as: UInt16.self)
            }
        }
        if type == .q8_K {
            for block in 0..<tensor.byteCount / type.blockByteCount {
                bytes.storeBytes(of: Float.random(in: -0.01...0.01, using: &random), toByteOffset: block * type.blockByteCount, as: Float.self)
            }
        }
        return try tensor.reshaped([rows, length])
    }
}
