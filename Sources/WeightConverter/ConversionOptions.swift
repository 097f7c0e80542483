import TensorCore

/// What a conversion writes.
public struct ConversionOptions: Sendable {
    /// The type of the weight matrices: `f32`, `f16`, `bf16`, `q8_0`, `q4_0`, `q4_1`,
    /// `q5_0` or `q5_1`. Norms and other 1-D tensors are always written as `f32`.
    public var outputType: ElementType
    /// Replace an existing output file.
    public var overwrite: Bool
    /// `general.name`; by default the input's folder or file name.
    public var name: String?

    public init(outputType: ElementType = .f16, overwrite: Bool = false, name: String? = nil) {
        self.outputType = outputType
        self.overwrite = overwrite
        self.name = name
    }

    /// The output types the converter writes.
    public static let supportedTypes: [ElementType] = [.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1]

    func validate() throws {
        guard Self.supportedTypes.contains(outputType) else {
            throw ConversionError.unsupported(
                "output type \(outputType) is not supported; choose one of \(Self.supportedTypes.map(\.rawValue).joined(separator: ", "))")
        }
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
