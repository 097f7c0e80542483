import Testing
@testable import TensorCore

/// ``TensorShape``: an inline collection of dimensions that behaves like the array it
/// replaces.
struct TensorShapeTests {
    @Test func literalsCollectionsAndFixedRankInitializersAgree() throws {
        let literal: TensorShape = [2, 3, 4]
        #expect(Array(literal) == [2, 3, 4])
        #expect(try TensorShape([2, 3, 4]) == literal)
        #expect(TensorShape(2, 3, 4) == literal)
        #expect(Array(TensorShape(7)) == [7])
        #expect(Array(TensorShape(5, 6)) == [5, 6])
        #expect(Array(TensorShape(1, 2, 3, 4)) == [1, 2, 3, 4])
        #expect(try TensorShape([Int]()).isEmpty)
        #expect(literal.description == "[2, 3, 4]")
        #expect(literal.description == [2, 3, 4].description)
    }

    @Test func equalityAndHashingSeeRankAndEveryDimension() throws {
        #expect(TensorShape(2, 3) != TensorShape(2, 3, 1))
        #expect(TensorShape(2, 3) != TensorShape(3, 2))
        #expect(Set([TensorShape(2, 3), TensorShape(2, 3), TensorShape(3, 2), [2, 3, 1]]).count == 3)
        let eight = Array(1...8)
        #expect(Array(try TensorShape(eight)) == eight)
    }

    @Test func aDimensionCanBeChangedInPlace() {
        var shape: TensorShape = [4, 5]
        shape[0] = 9
        #expect(Array(shape) == [9, 5])
    }

    @Test func moreThanTheMaximumRankThrows() {
        #expect(throws: TensorError.self) { try TensorShape(Array(repeating: 1, count: TensorShape.maximumRank + 1)) }
        #expect(throws: TensorError.self) { try Tensor(zeros: Array(repeating: 1, count: 9)) }
    }

    @Test func viewsKeepTheShape() throws {
        let x = try Tensor(zeros: [6, 4])
        #expect(try x.rows(2..<5).shape == [3, 4])
        #expect(try x.reshaped(TensorShape(3, 2, 4)).shape == [3, 2, 4])
        #expect(throws: TensorError.self) { try x.reshaped([5, 5]) }
    }
}
