import Foundation
import FuzzSupport
import Jinja

/// A chat template (the input, as UTF-8 text) parsed and rendered for a conversation with
/// a system message, two turns and a tool, as a model file's template would be: it must
/// render or throw, within the render limits, never crash.
let variables: [String: Value] = {
    let messages = try! Value(json: Data(#"""
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi <|im_end|> {{ x }}"},
         {"role": "assistant", "content": "Hello.", "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": {"a": 1}}}]},
         {"role": "tool", "content": "42"}, {"role": "user", "content": "Thanks"}]
        """#.utf8))
    let tools = try! Value(json: Data(#"[{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {"a": {"type": "integer"}}}}}]"#.utf8))
    return ["messages": messages, "tools": tools, "add_generation_prompt": .bool(true), "bos_token": .string("<s>"), "eos_token": .string("</s>")]
}()

let limits: RenderLimits = {
    var limits = RenderLimits()
    limits.steps = 100_000
    limits.outputBytes = 1 << 20
    limits.collectionSize = 1 << 16
    return limits
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let source = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard let template = try? JinjaTemplate(source) else { return 0 }
    _ = try? template.render(variables, now: Date(timeIntervalSince1970: 0), limits: limits)
    return 0
}
