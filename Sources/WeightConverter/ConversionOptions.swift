import ModelFormats
import TensorCore

/// What a conversion writes.
public struct ConversionOptions: Sendable {
    /// The file type: the type of the weight matrices, and for the quantized types
    /// llama-quantize's rules for the tensors that get another type (the output
    /// projection, some `attn_v` and `ffn_down` layers). Norms and other 1-D tensors stay
    /// `f32`.
    public var fileType: QuantizationFileType
    /// Replace an existing output file.
    public var overwrite: Bool
    /// `general.name`; by default the input's folder or file name.
    public var name: String?
    /// An importance matrix (llama.cpp's `imatrix` file): the quantized types then weigh
    /// each weight's rounding error by the mean squared activation of its input column,
    /// as llama-quantize does with `--imatrix`, and `Q4_0`/`Q5_0` give the first eighth of
    /// the `ffn_down` layers `q4_1`/`q5_1`.
    public var importanceMatrix: ImportanceMatrix?
    /// GPTQ: quantize the weights whose input statistics it has column by column, spreading
    /// each rounding error over the columns not yet quantized (see ``ErrorCompensation``).
    public var errorCompensation: ErrorCompensation?
    /// An element type no file type has, kept to be reported by the conversion.
    private var unsupportedType: ElementType?

    public init(fileType: QuantizationFileType = .f16, overwrite: Bool = false, name: String? = nil) {
        self.fileType = fileType
        self.overwrite = overwrite
        self.name = name
    }

    /// Options for the file type whose weights are `outputType` (for `q3_K`, `q4_K` and
    /// `q5_K` the `_M` mix, as llama-quantize's aliases say).
    public init(outputType: ElementType, overwrite: Bool = false, name: String? = nil) {
        self.init(fileType: QuantizationFileType(elementType: outputType) ?? .f16, overwrite: overwrite, name: name)
        if QuantizationFileType(elementType: outputType) == nil { unsupportedType = outputType }
    }

    /// The element type most weight matrices get.
    public var outputType: ElementType { fileType.baseType }

    func validate() throws {
        if let unsupportedType {
            throw ConversionError.unsupported(
                "output type \(unsupportedType) is not supported; choose one of \(QuantizationFileType.names.joined(separator: ", "))")
        }
    }
}

/// GPTQ's inputs (Frantar et al., 2022): for each weight, the second moments H = Σ x xᵀ of
/// its input rows over a calibration text (`ActivationRecorder` with
/// `collectsSecondMoments` collects them), and how strongly H is damped. A weight without
/// them, or of a type without levels (`f16`), is quantized as without GPTQ.
public struct ErrorCompensation: Sendable {
    /// The second moments of the inputs of the weight named (columns × columns, row-major)
    /// and how many rows they sum, or nil.
    public var secondMoments: @Sendable (String) -> (values: [Float], count: Int)?
    /// Added to H's diagonal, as a fraction of its mean, before it is inverted.
    public var dampening: Double

    public init(dampening: Double = 0.01, secondMoments: @escaping @Sendable (String) -> (values: [Float], count: Int)?) {
        self.dampening = dampening
        self.secondMoments = secondMoments
    }
}

/// Progress of a conversion, reported after each tensor.
public struct ConversionProgress: Sendable {
    public var tensorName: String
    public var tensorIndex: Int
    public var tensorCount: Int
    public var bytesWritten: Int
    public var totalBytes: Int
    /// Seconds since the conversion started.
    public var elapsed: Double

    public init(tensorName: String, tensorIndex: Int, tensorCount: Int, bytesWritten: Int, totalBytes: Int, elapsed: Double) {
        self.tensorName = tensorName
        self.tensorIndex = tensorIndex
        self.tensorCount = tensorCount
        self.bytesWritten = bytesWritten
        self.totalBytes = totalBytes
        self.elapsed = elapsed
    }

    /// Bytes per second so far.
    public var rate: Double { Double(bytesWritten) / max(elapsed, 1e-9) }
    /// Seconds left at the current rate.
    public var estimatedRemaining: Double { Double(totalBytes - bytesWritten) / max(rate, 1) }
}

/// An error of the converter.
public enum ConversionError: Error, CustomStringConvertible, Equatable {
    case unsupported(String)
    case invalidInput(file: String, problem: String)

    public var description: String {
        switch self {
        case let .unsupported(message): message
        case let .invalidInput(file, problem): "\(file): \(problem)"
        }
    }
}
