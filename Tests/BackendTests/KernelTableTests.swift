@testable import BLASBackend
import Testing
import TensorCore

/// The kernel table and the Swift side agree: block layouts are defined once in C
/// (`BlockLayouts.h`) and once in TensorCore, and must match; every type has a kernel to
/// fall back on; and the generated test variants cover every kernel this processor runs.
struct KernelTableTests {
    @Test(arguments: ElementType.allCases)
    func blockLayoutsAgree(type: ElementType) throws {
        let layout = try #require(KernelTable.blockLayout(type), "\(type) has no C block layout")
        #expect(layout.values == type.blockLength, "\(type): C \(layout.values) values per block, Swift \(type.blockLength)")
        #expect(layout.bytes == type.blockByteCount, "\(type): C \(layout.bytes) bytes per block, Swift \(type.blockByteCount)")
    }

    /// Every type has a portable kernel with f32 activations, and a portable dequantizer.
    @Test(arguments: ElementType.allCases)
    func everyTypeHasAPortableKernel(type: ElementType) {
        #expect(KernelTable.entry(type, .f32, .portable) != nil)
    }

    /// A kernel that exists is a kernel that is tested: every (type, activation, isa) entry
    /// this processor runs is the resolved kernel of some generated variant.
    @Test func variantsCoverTheTable() throws {
        var covered = Set<String>()
        for (_, options) in KernelTable.testVariants() {
            var configuration = BackendConfiguration(threadCount: 1)
            configuration.options = options
            let backend = try BLASBackend(configuration: configuration)
            for type in ElementType.allCases {
                let resolved = backend.kernels[type]
                covered.insert("\(type) \(resolved.dot) \(resolved.matvecInstructionSet)")
            }
        }
        for isa in BLASBackend.InstructionSet.allCases where isa <= BLASBackend.InstructionSet.detected {
            for activation in KernelTable.Activation.allCases where KernelTable.processorRuns(isa, activation) {
                let dot: DotKind = switch activation {
                case .f32: .float
                case .f16: .half
                case .int16: .int16
                case .int8: .int8
                }
                for type in ElementType.allCases where KernelTable.entry(type, activation, isa) != nil {
                    #expect(covered.contains("\(type) \(dot) \(isa)"), "\(type) with \(activation) activations on \(isa) is not tested")
                }
            }
        }
    }
}
