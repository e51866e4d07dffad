import Testing
@testable import SwiftletMachinery

/// Field selectors, as k8s.io/apimachinery/pkg/fields parses and matches them.
struct SelectorFieldTests {
    @Test(arguments: [
        ("metadata.name=foo", "metadata.name=foo"),
        ("status.phase==Running,spec.nodeName!=", "spec.nodeName!=,status.phase=Running"),
        (#"a=b\,c"#, #"a=b\,c"#),
        (#"a=b\=c\\d"#, #"a=b\=c\\d"#),
        ("a=b,", "a=b"),
        ("", ""),
    ])
    func parsesAndPrints(input: String, printed: String) throws {
        #expect(try FieldSelector.parse(input).description == printed)
    }

    @Test func exposesRequirements() throws {
        let selector = try FieldSelector.parse("status.phase==Running,spec.nodeName!=node-1,metadata.name=web")
        #expect(selector.fields == ["metadata.name", "spec.nodeName", "status.phase"])
        #expect(selector.requirements == [
            .init(field: "metadata.name", value: "web"),
            .init(field: "spec.nodeName", negated: true, value: "node-1"),
            .init(field: "status.phase", value: "Running"),
        ])
        #expect(selector.requiredValue(for: "metadata.name") == "web")
        #expect(selector.requiredValue(for: "spec.nodeName") == nil)
        #expect(try FieldSelector.parse("").isEverything)
    }

    @Test(arguments: [
        ("foo", "invalid selector: 'foo'; can't understand 'foo'"),
        ("a=b,c", "invalid selector: 'a=b,c'; can't understand 'c'"),
        ("a=b=c", "invalid field selector: unescaped character in value: 61"),
        ("a==b,c", "invalid selector: 'a==b,c'; can't understand 'c'"),
        (#"a=b\x"#, #"invalid field selector: invalid escape sequence: \x"#),
        (#"a=b\"#, #"invalid field selector: invalid escape sequence: \"#),
    ])
    func rejects(input: String, message: String) {
        #expect(throws: SelectorParseError(message)) { try FieldSelector.parse(input) }
    }

    @Test(arguments: [
        ("spec.nodeName=", [:], true),
        ("spec.nodeName=n1", ["spec.nodeName": "n1"], true),
        ("spec.nodeName!=n1", ["spec.nodeName": "n2"], true),
        ("spec.nodeName!=n1", [:], true),
        ("spec.nodeName=n1,status.phase=Running", ["spec.nodeName": "n1", "status.phase": "Running"], true),
        ("spec.nodeName=n1", [:], false),
        ("spec.nodeName!=", [:], false),
        ("spec.nodeName=n1,status.phase=Running", ["spec.nodeName": "n1", "status.phase": "Pending"], false),
    ] as [(String, [String: String], Bool)])
    func matches(selector: String, fields: [String: String], expected: Bool) throws {
        #expect(try FieldSelector.parse(selector).matches(fields) == expected)
    }
}
