import Foundation
import Jinja
import Testing
import TestSupport

/// Real chat templates rendered for five or six conversations each, against jinja2 set up as
/// transformers' `apply_chat_template` sets it up: every rendering byte-identical, and an
/// error wherever jinja2 raised one (or could not parse the template).
/// - the 20 templates of `../shared/fixtures/chat-templates` with its `expected.json`;
/// - all 70 of llama.cpp's `models/templates` (llama.cpp 0c1e570, from the llama-cpp-python
///   0.3.36 source package; `Scripts/fetch-llama-cpp-vocabularies.sh` puts them in the
///   cache folder, `make test` runs it), with the renderings of the same jinja2 script,
///   `Tests/Fixtures/chat-templates/llama-cpp-0c1e570-expected.json`.
struct ChatTemplateConformanceTests {
    static let shared = Fixtures.shared("chat-templates")
    static let llamaCpp = Fixtures.cacheFolder.appendingPathComponent("llama-cpp-templates")

    /// The conversations, as `Scripts/generate_chat_template_references.py` wrote them:
    /// the five of `render_with_jinja2.py` and a tool call's round trip.
    static let conversations: Value.Dictionary = {
        guard case let .dict(d)? = try? Value(json: Data(contentsOf: Fixtures.url("chat-templates/conversations.json"))) else { return Value.Dictionary() }
        return d
    }()
    /// The cases of `render_with_jinja2.py` (the shared `expected.json` has these).
    static let sharedCases = ["user", "system_user", "multi_turn", "no_generation_prompt", "tools"]

    static let now = Fixtures.chatTemplateReferenceTime

    static func templates(_ folder: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasSuffix(".jinja") }.sorted()
    }

    static func references(_ url: URL) throws -> Value.Dictionary {
        guard case let .dict(d) = try Value(json: Data(contentsOf: url)) else { throw CocoaError(.fileReadCorruptFile) }
        return d
    }

    @Test func everyTemplateIsThere() throws {
        #expect(Self.templates(Self.shared).count == 20)
        #expect(Self.templates(Self.llamaCpp).count == 70, "run Scripts/fetch-llama-cpp-vocabularies.sh")
        #expect(Self.conversations.count == 6)
    }

    @Test(arguments: templates(shared))
    func sharedTemplatesRenderAsJinja2(template name: String) throws {
        try check(name, in: Self.shared, references: Self.references(Self.shared.appendingPathComponent("expected.json")), cases: Self.sharedCases)
    }

    @Test(arguments: templates(llamaCpp))
    func llamaCppTemplatesRenderAsJinja2(template name: String) throws {
        try check(name, in: Self.llamaCpp, references: Self.references(Fixtures.url("chat-templates/llama-cpp-0c1e570-expected.json")),
            cases: Self.conversations.pairs.map(\.0.text))
    }

    func check(_ name: String, in folder: URL, references: Value.Dictionary, cases: [String]) throws {
        let source = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
        guard case let .dict(expected)? = references[name] else { Issue.record("\(name) has no reference"); return }
        if expected["parse_error"] != nil {
            #expect(throws: JinjaError.self, "\(name): jinja2 could not parse it") { _ = try JinjaTemplate(source) }
            return
        }
        let template = try JinjaTemplate(source)
        for caseName in cases {
            guard case let .dict(arguments)? = Self.conversations[caseName] else { Issue.record("no conversation \(caseName)"); continue }
            var variables: [String: Value] = ["bos_token": .string("<s>"), "eos_token": .string("</s>")]
            for (key, value) in arguments.pairs { variables[key.text] = value }
            switch expected[caseName] {
            case let .string(text)?:
                let rendered = try template.render(variables, now: Self.now)
                #expect(rendered == text, "\(name) \(caseName)")
            case .dict?:
                #expect(throws: JinjaError.self, "\(name) \(caseName): jinja2 raised") { _ = try template.render(variables, now: Self.now) }
            default:
                Issue.record("\(name) \(caseName): no reference")
            }
        }
    }
}
