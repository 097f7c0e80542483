import Foundation
import Jinja
import Testing
import TestSupport

/// The interpreter on small templates, each a piece of the language, against jinja2's
/// output (`Scripts/generate_jinja_semantics_fixtures.py`), and its bounds and errors.
struct InterpreterTests {
    struct Case: Decodable { let template: String; let output: String }

    static let cases = (try? Fixtures.json([Case].self, "jinja/semantics.json")) ?? []

    @Test func everyCaseIsThere() { #expect(Self.cases.count == 24) }

    @Test(arguments: cases.indices)
    func rendersAsJinja2(index: Int) throws {
        let item = Self.cases[index]
        #expect(try JinjaTemplate(item.template).render([:]) == item.output, "\(item.template)")
    }

    /// Untrusted templates stay bounded: a huge range, endless recursion, a loop of loops,
    /// an output that keeps growing; each is an error naming the line, quickly.
    @Test func resourcesAreBounded() throws {
        for (source, message) in [
            ("{% for i in range(100000000) %}{% endfor %}", "exceeds"),
            ("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}\n{{ f(0) }}", "nested deeper"),
            ("{% for i in range(1000) %}{% for j in range(1000) %}{% for k in range(10) %}{% endfor %}{% endfor %}{% endfor %}", "loop iterations"),
            ("{% for i in range(1000) %}{{ 'x' * 100000 }}{% endfor %}", "output exceeds"),
            ("{{ 'x' * 10000000000 }}", "exceeds"),
            ("{% set ns = namespace(x=1) %}{% for i in range(1000000) %}{% set ns.x = [ns.x] %}{% endfor %}{{ ns.x }}", "nested deeper"),
            ("{% set ns = namespace(x={}) %}{% for i in range(1000000) %}{% set ns.x = {'a': ns.x} %}{% endfor %}", "nested deeper"),
            ("{% set ns = namespace(x=[1]) %}{% for i in range(1000000) %}{% set ns.x = ns.x|batch(1)|list %}{% endfor %}", "nested deeper"),
            ("{% set ns = namespace(x=range(100000)|list) %}{% for i in range(100000) %}{% set y = [ns.x] %}{% endfor %}", "loop iterations"),
        ] {
            let error = #expect(throws: JinjaError.self, "\(source)") { _ = try JinjaTemplate(source).render([:]) }
            #expect(error?.message.contains(message) == true, "\(source): \(String(describing: error))")
            #expect((error?.line ?? 0) > 0, "\(source)")
        }
    }

    /// Deep nesting is refused when parsing, before it can exhaust the stack.
    @Test func deepNestingIsAnError() {
        for source in [
            "{{ " + String(repeating: "-", count: 20000) + "1 }}", "{{ " + String(repeating: "not ", count: 20000) + "x }}",
            "{{ " + String(repeating: "(", count: 20000) + "1" + String(repeating: ")", count: 20000) + " }}",
            "{{ " + String(repeating: "[", count: 20000) + String(repeating: "]", count: 20000) + " }}",
            String(repeating: "{% if true %}", count: 5000) + String(repeating: "{% endif %}", count: 5000),
        ] {
            #expect(throws: JinjaError.self) { _ = try JinjaTemplate(source) }
        }
    }

    /// Errors name the template line; `raise_exception` is the template's own message.
    @Test func errorsNameTheLine() throws {
        let undefined = #expect(throws: JinjaError.self) { _ = try JinjaTemplate("a\nb\n{{ nothing.attribute }}").render([:]) }
        #expect(undefined?.line == 3 && undefined?.description.contains("'nothing' is undefined") == true)
        let raised = #expect(throws: JinjaError.self) {
            _ = try JinjaTemplate("{% if true %}\n{{ raise_exception('Only user and assistant roles are supported') }}{% endif %}").render([:])
        }
        #expect(raised?.raisedByTemplate == true && raised?.line == 2 && raised?.message == "Only user and assistant roles are supported")
        let syntax = #expect(throws: JinjaError.self) { _ = try JinjaTemplate("x\n{% if true %}\nno end") }
        #expect(syntax?.description.contains("endif") == true)
        let unknown = #expect(throws: JinjaError.self) { _ = try JinjaTemplate("{{ 1 | nosuchfilter }}").render([:]) }
        #expect(unknown?.message.contains("nosuchfilter") == true)
        // %-formatting refuses what Python refuses.
        for (source, message) in [
            ("{{ '%s %s' % (1,) }}", "not enough arguments"), ("{{ '%s' % (1, 2) }}", "not all arguments converted"),
            ("{{ 'x' % 5 }}", "not all arguments converted"), ("{{ '%d' % 'a' }}", "real number is required"),
            ("{{ '%(k)s' % {'j': 1} }}", "KeyError"), ("{{ '%y' % 1 }}", "unsupported format character"),
            ("{{ '%*d' % (1, 2) }}", "not supported"), ("{{ '%s'|format(1, a=2) }}", "at the same time"),
        ] {
            let error = #expect(throws: JinjaError.self, "\(source)") { _ = try JinjaTemplate(source).render([:]) }
            #expect(error?.message.contains(message) == true, "\(source): \(String(describing: error))")
        }
        // A recursive loop that never ends is stopped by the call depth.
        let endless = #expect(throws: JinjaError.self) {
            _ = try JinjaTemplate("{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}").render([:])
        }
        #expect(endless?.message.contains("nested deeper") == true)
        // The immutable sandbox: a template cannot change the caller's lists.
        #expect(throws: JinjaError.self) { _ = try JinjaTemplate("{% set x = [1] %}{{ x.append(2) }}").render([:]) }
    }

    /// Variables given as JSON keep their key order, and ints stay ints.
    @Test func jsonVariables() throws {
        let messages = try Value(json: Data(#"[{"role": "user", "content": "Hi", "n": 3, "x": 1.5, "ok": true, "none": null}]"#.utf8))
        let rendered = try JinjaTemplate("{{ messages[0] | tojson }} {{ messages[0].n + 1 }}").render(["messages": messages])
        #expect(rendered == #"{"role": "user", "content": "Hi", "n": 3, "x": 1.5, "ok": true, "none": null} 4"#)
    }
}
