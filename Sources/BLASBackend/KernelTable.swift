import CPUKernels
import TensorCore

/// The C kernel table (`KernelTable.c`) seen from Swift, and the kernels a ``BLASBackend``
/// resolves from it once, when it is created: for every weight type, which
/// matrix–vector kernel decodes with which activations, which integer matrix–matrix
/// kernel and which dequantizer serve prompts, each with the instruction set it is
/// written for. The matrix products dispatch only through what was resolved.
enum KernelTable {
    /// The activation precisions of the table's matrix–vector kernels.
    enum Activation: CaseIterable {
        case f32, f16, int16, int8

        var kernelValue: ck_activation {
            switch self {
            case .f32: CK_ACT_F32
            case .f16: CK_ACT_F16
            case .int16: CK_ACT_INT16
            case .int8: CK_ACT_INT8
            }
        }
    }

    /// The options a table entry reads (`CK_OPTION_…`).
    struct Options: OptionSet, CustomStringConvertible {
        let rawValue: Int32
        static let prefetch = Options(rawValue: Int32(CK_OPTION_PREFETCH))
        static let blockPairs = Options(rawValue: Int32(CK_OPTION_BLOCK_PAIRS))

        var description: String {
            let all: [(Options, String)] = [(.prefetch, "prefetch"), (.blockPairs, "block-pairs")]
            let names = all.filter { contains($0.0) }.map(\.1)
            return names.isEmpty ? "none" : names.joined(separator: ", ")
        }
    }

    /// The options the entry for exactly (`type`, `activation`, `isa`) reads, or `nil` where
    /// the table has no kernel.
    static func entry(_ type: ElementType, _ activation: Activation, _ isa: BLASBackend.InstructionSet) -> Options? {
        let entry = ck_matvec_kernel_at(type.kernelType, activation.kernelValue, isa.kernelValue)
        return entry.kernel == nil ? nil : Options(rawValue: entry.options)
    }

    /// Whether this processor runs the table's code for `isa` with `activation`.
    static func processorRuns(_ isa: BLASBackend.InstructionSet, _ activation: Activation) -> Bool {
        ck_processor_runs(isa.kernelValue, activation.kernelValue, 0) != 0
    }

    /// The instruction set of the integer matrix–matrix tiles when `allowed` caps it: the
    /// highest one, at most `allowed`, for which the table has tiles that this processor runs.
    static func gemmInstructionSet(allowed: BLASBackend.InstructionSet) -> BLASBackend.InstructionSet? {
        var best: BLASBackend.InstructionSet?
        for type in ElementType.allCases {
            var isa = CK_ISA_PORTABLE
            guard ck_resolve_gemm(type.kernelType, allowed.kernelValue, &isa) != nil else { continue }
            best = max(best ?? .portable, BLASBackend.InstructionSet(isa))
        }
        return best
    }

    /// The values and bytes per block of `type` in the C kernels' one definition
    /// (`BlockLayouts.h`), and its name there.
    static func blockLayout(_ type: ElementType) -> (name: String, values: Int, bytes: Int)? {
        var values: Int32 = 0, bytes: Int32 = 0
        guard let name = ck_block_layout(type.kernelType, &values, &bytes) else { return nil }
        return (String(cString: name), Int(values), Int(bytes))
    }
}

/// How the fused path meets a weight type: float dot products, `f16` ones with the input
/// rounded to `f16`, or integer ones with the input quantized to int16 or int8.
enum DotKind: String { case float, half, int16, int8 }

/// The kernels one weight type runs on one backend, resolved from the table when the
/// backend is created.
struct ResolvedKernels {
    /// The decode path: its activations, kernel, the instruction set it is written for and
    /// the options passed to it.
    let dot: DotKind
    let matvec: ck_matvec_kernel
    let matvecInstructionSet: BLASBackend.InstructionSet
    let options: Int32
    /// The integer matrix–matrix kernel for prompts, where it is used (else `nil`).
    let gemm: ck_gemm_kernel?
    let gemmInstructionSet: BLASBackend.InstructionSet
    /// The dequantizer of the panel path.
    let dequantize: ck_dequantize_kernel
    let dequantizeInstructionSet: BLASBackend.InstructionSet
}

/// The resolved kernels of every weight type, indexed by the C type number: a lookup in a
/// small array on the hot path.
struct ResolvedKernelTable {
    private var byKernelType: [ResolvedKernels?]

    init() { byKernelType = Array(repeating: nil, count: 32) }

    subscript(type: ElementType) -> ResolvedKernels {
        get { byKernelType[Int(type.kernelType.rawValue)]! }
        set { byKernelType[Int(type.kernelType.rawValue)] = newValue }
    }
}

extension BLASBackend {
    /// Resolves the kernels of `type` for this backend's settings from the table.
    static func resolveKernels(
        for type: ElementType, instructionSet: InstructionSet, activationPrecision: ActivationPrecision, halfActivations: Bool,
        quantizedPrefill: QuantizedPrefill, floatPrefetch: Bool, quantizedPrefetch: Bool, blockPairs: Bool
    ) -> ResolvedKernels {
        let ck = type.kernelType, allowed = instructionSet.kernelValue
        func resolve(_ activation: KernelTable.Activation) -> (entry: ck_matvec_entry, isa: InstructionSet)? {
            var isa = CK_ISA_PORTABLE
            let entry = ck_resolve_matvec(ck, activation.kernelValue, allowed, &isa)
            return entry.kernel == nil ? nil : (entry, InstructionSet(isa))
        }
        // Every type has a portable kernel with f32 activations; the others are taken where
        // the table has them and the settings ask for them.
        let float = (DotKind.float, resolve(.f32)!)
        let (dot, (entry, matvecISA)): (DotKind, (entry: ck_matvec_entry, isa: InstructionSet)) =
            if activationPrecision == .float {
                float
            } else if let half = resolve(.f16) {
                halfActivations ? (.half, half) : float
            } else if let integer = resolve(activationPrecision == .int8 ? .int8 : .int16) {
                (activationPrecision == .int8 ? .int8 : .int16, integer)
            } else {
                float
            }
        let wanted: Int32 = switch dot {
        case .float, .half: floatPrefetch ? Int32(CK_OPTION_PREFETCH) : 0
        case .int16:
            (quantizedPrefetch ? Int32(CK_OPTION_PREFETCH) : 0) | (blockPairs ? Int32(CK_OPTION_BLOCK_PAIRS) : 0)
        case .int8: quantizedPrefetch ? Int32(CK_OPTION_PREFETCH) : 0
        }
        var gemmISA = CK_ISA_PORTABLE
        let gemm = quantizedPrefill == .int16 && activationPrecision != .float ? ck_resolve_gemm(ck, allowed, &gemmISA) : nil
        var dequantizeISA = CK_ISA_PORTABLE
        let dequantize = ck_resolve_dequantize(ck, allowed, &dequantizeISA)!
        return ResolvedKernels(
            dot: dot, matvec: entry.kernel!, matvecInstructionSet: matvecISA, options: wanted & entry.options, gemm: gemm,
            gemmInstructionSet: InstructionSet(gemmISA), dequantize: dequantize, dequantizeInstructionSet: InstructionSet(dequantizeISA))
    }
}

extension KernelTable {
    /// The option that selects `activation` on a backend, as the tests set it.
    static func options(selecting activation: Activation) -> [String: String] {
        switch activation {
        case .f32: ["activations": "float"]
        case .f16: ["activations": "int16", "half-activations": "on"]
        case .int16: ["activations": "int16", "half-activations": "off"]
        case .int8: ["activations": "int8", "half-activations": "off"]
        }
    }

    /// Backend variants that between them run every kernel of the table that this
    /// processor runs: one per (activation precision, instruction set) column with a
    /// kernel written for it, with the options off, and one more per option a kernel of
    /// that column reads, with it on. Names are `blas-<isa>-<activation>[-<option>]`.
    static func testVariants() -> [(name: String, options: [String: String])] {
        var variants: [(name: String, options: [String: String])] = []
        for isa in BLASBackend.InstructionSet.allCases.reversed() {
            for activation in Activation.allCases where processorRuns(isa, activation) {
                let entries = ElementType.allCases.compactMap { entry($0, activation, isa) }
                guard !entries.isEmpty else { continue }
                let base = "blas-\(isa.rawValue)-\(activation)"
                var options = self.options(selecting: activation)
                options["instruction-set"] = isa.rawValue
                options["weight-prefetch"] = "off"
                options["block-pairs"] = "off"
                variants.append((base, options))
                let read = entries.reduce(Options()) { $0.union($1) }
                if read.contains(.prefetch) { variants.append(("\(base)-prefetch", options.merging(["weight-prefetch": "on"]) { $1 })) }
                if read.contains(.blockPairs) { variants.append(("\(base)-pairs", options.merging(["block-pairs": "on"]) { $1 })) }
            }
        }
        return variants
    }
}
