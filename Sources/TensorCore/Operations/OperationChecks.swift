/// Argument checks shared by the operation types. Each throws a ``TensorError``
/// that names the operation and the offending argument.
enum OperationChecks {
    static func requireF32(_ tensor: Tensor, _ argument: String, in operation: String) throws {
        guard tensor.elementType == .f32 else {
            throw TensorError.unsupportedElementType(
                operation: operation, argument: argument, tensor.elementType, expected: "f32")
        }
    }

    static func requireWritable(_ output: Tensor, in operation: String) throws {
        guard output.isWritable else { throw TensorError.readOnlyOutput(operation: operation) }
    }

    static func requireSameShape(
        _ a: Tensor, _ aName: String, _ b: Tensor, _ bName: String, in operation: String
    ) throws {
        guard a.shape == b.shape else {
            throw TensorError.shapeMismatch(
                operation: operation, details: "\(aName) has shape \(a.shape) but \(bName) has shape \(b.shape)")
        }
    }

    static func requireRank(_ tensor: Tensor, _ rank: Int, _ argument: String, in operation: String) throws {
        guard tensor.rank == rank else {
            throw TensorError.shapeMismatch(
                operation: operation, details: "\(argument) must have \(rank) dimensions, but has shape \(tensor.shape)")
        }
    }
}
