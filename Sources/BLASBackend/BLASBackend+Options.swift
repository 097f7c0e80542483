import CPUKernels
import Logging
import TensorCore

extension BLASBackend {
    /// The backend's settings read from `BackendConfiguration.options`, with the
    /// defaults of the `auto` values taken from the processor policy
    /// (`ProcessorPolicy.swift`) and the rule behind each of them kept for the log.
    struct Options {
        var matrixRowThreshold = 16, panelRowThreshold = 32, blockAttentionRowThreshold = 8, panelByteCount = 16 << 20
        var activationPrecision = ActivationPrecision.int16
        var halfActivations = false, prefetchesFloatWeights = false, prefetchesQuantizedWeights = false
        var takesBlockPairs = false
        var quantizedPrefill = QuantizedPrefill.int16
        var instructionSet = InstructionSet.detected
        var integerMatrixRowThreshold = 16
        var replacesFallbackCore = true
        /// Each processor-dependent setting: its value and why (the option, or the rule of `auto`).
        var decisions: [(setting: String, value: Bool, reason: String)] = []

        init(_ configuration: BackendConfiguration) throws {
            let options = configuration.options
            if let unknown = options.keys.sorted().first(where: { !BLASBackend.optionKeys.contains($0) }) {
                throw TensorError.invalidArgument(
                    operation: "blas backend",
                    details: "unknown option \(unknown); the options are \(BLASBackend.optionKeys.joined(separator: ", "))")
            }
            matrixRowThreshold = try Self.integer("gemm-min-rows", in: options, default: matrixRowThreshold)
            panelRowThreshold = try Self.integer("panel-min-rows", in: options, default: panelRowThreshold)
            blockAttentionRowThreshold = try Self.integer("block-attention-min-rows", in: options, default: blockAttentionRowThreshold)
            panelByteCount = try Self.integer("panel-bytes", in: options, default: panelByteCount)
            activationPrecision = try Self.choice("activations", in: options, default: .int16, "must be int8, int16 or float")
            halfActivations = try switchOption("half-activations", in: options, policy: ProcessorPolicy.halfActivations)
            prefetchesFloatWeights = try switchOption("weight-prefetch", in: options, policy: ProcessorPolicy.floatWeightPrefetch)
            prefetchesQuantizedWeights = try switchOption(
                "weight-prefetch", in: options, policy: ProcessorPolicy.quantizedWeightPrefetch)
            takesBlockPairs = try switchOption("block-pairs", in: options, policy: ProcessorPolicy.blockPairs)
            quantizedPrefill = try Self.choice("quantized-prefill", in: options, default: .int16, "must be int16 or panels")
            if options["instruction-set"] != nil {
                let requested: InstructionSet = try Self.choice(
                    "instruction-set", in: options, default: .avx512, "must be avx512, avx2 or portable")
                instructionSet = min(requested, InstructionSet.detected)
            }
            integerMatrixRowThreshold = try Self.integer(
                "integer-gemm-min-rows", in: options, default: BLASBackend.defaultIntegerMatrixRowThreshold(for: instructionSet))
            switch options["openblas-core"] ?? "auto" {
            case "auto": replacesFallbackCore = true
            case "keep": replacesFallbackCore = false
            case let other:
                throw TensorError.invalidArgument(operation: "blas backend", details: "option openblas-core=\(other) must be auto or keep")
            }
        }

        /// Logs the processor-dependent settings with the rule or option that decided each.
        func log(to logger: Logger) {
            for decision in decisions {
                logger.debug(
                    "processor policy", metadata: ["setting": "\(decision.setting)", "value": "\(decision.value)", "reason": "\(decision.reason)"])
            }
        }

        /// An `on`/`off` option whose default, `auto`, is the processor policy's answer.
        private mutating func switchOption(_ key: String, in options: [String: String], policy: ProcessorPolicy.Rule) throws -> Bool {
            let value: Bool, reason: String
            switch options[key] ?? "auto" {
            case "on": (value, reason) = (true, "\(key)=on")
            case "off": (value, reason) = (false, "\(key)=off")
            case "auto": (value, reason) = (policy.applies, "\(key)=auto: \(policy.applies ? "" : "not ")\(policy.description)")
            case let other:
                throw TensorError.invalidArgument(operation: "blas backend", details: "option \(key)=\(other) must be on, off or auto")
            }
            decisions.append((policy.setting, value, reason))
            return value
        }

        private static func integer(_ key: String, in options: [String: String], default value: Int) throws -> Int {
            guard let text = options[key] else { return value }
            guard let parsed = Int(text), parsed > 0 else {
                throw TensorError.invalidArgument(operation: "blas backend", details: "option \(key)=\(text) must be a positive integer")
            }
            return parsed
        }

        private static func choice<Value: RawRepresentable<String>>(
            _ key: String, in options: [String: String], default value: Value, _ requirement: String
        ) throws -> Value {
            guard let text = options[key] else { return value }
            guard let parsed = Value(rawValue: text) else {
                throw TensorError.invalidArgument(operation: "blas backend", details: "option \(key)=\(text) \(requirement)")
            }
            return parsed
        }
    }
}
