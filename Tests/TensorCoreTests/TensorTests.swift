import Testing
@testable import TensorCore

struct TensorTests {
    @Test func valuesRoundTripAndViewsShareStorage() throws {
        let x = try Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        #expect(x.floats() == [1, 2, 3, 4, 5, 6])
        #expect(x.rowCount == 2 && x.rowLength == 3 && x.byteCount == 24)
        let second = try x.rows(1..<2)
        #expect(second.shape == [1, 3])
        #expect(second.floats() == [4, 5, 6])
        second.mutableFloatPointer[0] = 40
        #expect(x.floats() == [1, 2, 3, 40, 5, 6])
        let flat = try x.reshaped([6])
        #expect(flat.floats() == [1, 2, 3, 40, 5, 6])
    }

    @Test func copyFloatsFillsOrResizesTheArray() throws {
        let q = try Tensor(converting: Tensor(shape: [2, 32], values: (0..<64).map { Float($0) / 8 - 4 }), to: .q8_0)
        var values = [Float](repeating: 9, count: 3)
        q.copyFloats(into: &values)  // another count: resized
        #expect(values == q.floats())
        let again = try Tensor(shape: [2, 32], values: (0..<64).map { Float($0) })
        again.copyFloats(into: &values)  // the same count: overwritten
        #expect(values == (0..<64).map { Float($0) })
    }

    @Test func invalidShapesThrowNamingTheShape() {
        #expect(throws: TensorError.self) { try Tensor(zeros: [], elementType: .f32) }
        #expect(throws: TensorError.self) { try Tensor(zeros: [2, -1]) }
        #expect(throws: TensorError.self) { try Tensor(zeros: [Int.max, 4]) }
        do {
            _ = try Tensor(zeros: [4, 33], elementType: .q8_0)
            Issue.record("a q8_0 row of 33 values must be rejected")
        } catch {
            #expect("\(error)".contains("[4, 33]"))
            #expect("\(error)".contains("block length 32"))
        }
        #expect(throws: TensorError.self) { try Tensor(shape: [2, 2], values: [1, 2, 3]) }
        #expect(throws: TensorError.self) { try Tensor(zeros: [2, 3]).reshaped([4]) }
        #expect(throws: TensorError.self) { try Tensor(zeros: [2, 3]).rows(1..<3) }
    }

    @Test func quantizedShapesUseBlockBytes() throws {
        let q = try Tensor(zeros: [3, 64], elementType: .q4_0)
        #expect(q.rowByteCount == 36 && q.byteCount == 108)
        let k = try Tensor(zeros: [2, 512], elementType: .q6_K)
        #expect(k.rowByteCount == 420)
        #expect(ElementType.q6_K.description == "Q6_K" && ElementType.bf16.description == "BF16")
        #expect(ElementType(name: "Q4_K") == .q4_K)
    }

    @Test func viewsOfForeignMemoryAreReadOnlyAndChecked() throws {
        let bytes: [Float] = [1, 2, 3, 4]
        try bytes.withUnsafeBytes { raw in
            let view = try Tensor(shape: [2, 2], elementType: .f32, viewing: raw.baseAddress!, byteCount: raw.count, owner: nil)
            #expect(!view.isWritable)
            #expect(view.floats() == [1, 2, 3, 4])
            #expect(throws: TensorError.readOnlyOutput(operation: "add")) {
                try NaiveBackend().add(view, view, into: view)
            }
            #expect(throws: TensorError.self) {
                try Tensor(shape: [3, 2], elementType: .f32, viewing: raw.baseAddress!, byteCount: raw.count, owner: nil)
            }
        }
    }

    @Test func registryCreatesBackendsByName() throws {
        var registry = BackendRegistry()
        #expect(registry.names == ["naive"])
        #expect(try registry.makeBackend(named: "naive").name == "naive")
        #expect(throws: BackendRegistryError.unknownBackend("gpu", available: ["naive"])) {
            try registry.makeBackend(named: "gpu")
        }
        registry.register(name: "alias") { NaiveBackend(configuration: $0) }
        #expect(registry.names == ["alias", "naive"])
    }
}
