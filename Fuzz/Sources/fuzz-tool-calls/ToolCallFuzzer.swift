import FuzzSupport
import LLM

/// Tools whose schemas type the XML form's parameters.
let tools = [
    try! ToolDefinition(
        name: "edit", description: "Edits a file",
        parameters: #"{"type": "object", "properties": {"file": {"type": "string"}, "line": {"type": "integer"}}}"#),
    try! ToolDefinition(name: "f", description: "No parameters"),
]

/// A model's reply (the input, as UTF-8 text) parsed for tool calls in every format, with
/// and without tools: a reply is text the model chose, so each parser must return calls or
/// text, never crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let reply = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    for format in ToolCallFormat.allCases {
        for given in [[], tools] {
            let (_, calls) = format.parse(reply, tools: given)
            for call in calls where call.name.isEmpty { fatalError("a call without a name") }
        }
    }
    return 0
}
