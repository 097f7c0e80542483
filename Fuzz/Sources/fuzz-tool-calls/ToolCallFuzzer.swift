import FuzzSupport
import LLM

/// A model's reply (the input, as UTF-8 text) parsed for tool calls in every format: a
/// reply is text the model chose, so each parser must return calls or text, never crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let reply = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    for format in ToolCallFormat.allCases {
        let (_, calls) = format.parse(reply)
        for call in calls where call.name.isEmpty { fatalError("a call without a name") }
    }
    return 0
}
