import Testing
@testable import SwiftletMachinery

/// Label selector strings, with what upstream's labels.Parse prints back or fails with.
struct SelectorParseTests {
    @Test(arguments: [
        ("x=a,y=b,z=c", "x=a,y=b,z=c"),
        ("", ""),
        ("x!=a,y=b", "x!=a,y=b"),
        ("x=", "x="),
        ("x= ,z= ", "x=,z="),
        ("!x", "!x"),
        ("x>1,z<5", "x>1,z<5"),
        ("b=2,a=1", "a=1,b=2"),
        ("x==a", "x==a"),
        ("  app = web , tier!=db ", "app=web,tier!=db"),
        ("x in (b,a),!y,z notin (c)", "x in (a,b),!y,z notin (c)"),
        ("x in (in)", "x in (in)"),
        ("notin=in", "notin=in"),
        ("x in ()", "x in ()"),
        ("x in (a,,b)", "x in (,a,b)"),
        ("example.com/app=web", "example.com/app=web"),
    ])
    func parsesAndPrints(input: String, printed: String) throws {
        #expect(try LabelSelector.parse(input).description == printed)
    }

    static let qualifiedNameDetail = "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
    static let labelValueDetail = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"

    @Test(arguments: [
        ("a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"),
        ("x=a||y=b", "unable to parse requirement: values[0][x]: Invalid value: \"a||y\": " + labelValueDetail),
        ("x==a==b", "found '==', expected: ',' or 'end of string'"),
        ("!x=a", "found '=', expected: ',' or 'end of string'"),
        ("x<a", "unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', 'Lt' operators, the value must be an integer"),
        ("a,", "found '', expected: identifier after ','"),
        (",a", "found ',', expected: !, identifier, or 'end of string'"),
        ("a in (x", "unable to parse requirement: found '', expected: ',' or ')'"),
        ("a in x", "unable to parse requirement: found 'x' expected: '('"),
        ("a (x)", "unable to parse requirement: found '(', expected: in, notin, =, ==, !=, gt, lt"),
        ("a in (x y)", "unable to parse requirement: found 'y', expected: ',' or ')'"),
        ("a=(x)", "unable to parse requirement: found '(', expected: identifier"),
        ("A/b/c=d", "unable to parse requirement: <nil>: Invalid value: \"A/b/c\": " + qualifiedNameDetail),
        ("-x", "unable to parse requirement: <nil>: Invalid value: \"-x\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"),
    ])
    func rejects(input: String, message: String) {
        #expect(throws: SelectorParseError(message)) { try LabelSelector.parse(input) }
    }

    @Test func parsingIsDeterministic() throws {
        #expect(try LabelSelector.parse("x=a,a=x") == LabelSelector.parse("a=x,x=a"))
    }

    @Test(arguments: [
        ("", ["x": "y"], true),
        ("x=y", ["x": "y"], true),
        ("x=y,z=w", ["x": "y", "z": "w"], true),
        ("x!=y,z!=w", ["x": "z", "z": "a"], true),
        ("notin=in", ["notin": "in"], true),
        ("x", ["x": "z"], true),
        ("!x", ["y": "z"], true),
        ("x>1", ["x": "2"], true),
        ("x<1", ["x": "0"], true),
        ("x in (a,b)", ["x": "b"], true),
        ("x notin (a,b)", ["y": "b"], true),
        ("x=z", [:], false),
        ("x=y", ["x": "z"], false),
        ("x=y,z=w", ["x": "w", "z": "w"], false),
        ("x!=y,z!=w", ["x": "z", "z": "w"], false),
        ("x", ["y": "z"], false),
        ("!x", ["x": "z"], false),
        ("x>1", ["x": "0"], false),
        ("x<1", ["x": "2"], false),
        ("x>1", ["x": "two"], false),
        ("x in (a,b)", ["y": "a"], false),
        ("x notin (a,b)", ["x": "a"], false),
    ] as [(String, [String: String], Bool)])
    func matches(selector: String, labels: [String: String], expected: Bool) throws {
        #expect(try LabelSelector.parse(selector).matches(labels) == expected)
    }

    @Test func matchesStoredLabels() throws {
        let labels: JSONValue = ["app": "web", "replicas": 3]
        #expect(try LabelSelector.parse("app=web").matches(labels.objectValue))
        #expect(try !LabelSelector.parse("replicas").matches(labels.objectValue))
        #expect(try !LabelSelector.parse("app").matches(nil))
    }

    @Test func everythingAndNothing() throws {
        #expect(try LabelSelector.parse("").isEverything)
        #expect(LabelSelector.everything.matches(["x": "y"]))
        #expect(!LabelSelector.nothing.matches([:]))
        #expect(!LabelSelector.nothing.isEverything)
        #expect(try !LabelSelector.parse("x").isEverything)
    }

    @Test func fromSetSortsKeys() {
        let selector = LabelSelector(matching: ["tier": "web", "app": "shop"])
        #expect(selector.description == "app=shop,tier=web")
        #expect(selector.matches(["app": "shop", "tier": "web", "extra": "1"]))
        #expect(LabelSelector(matching: [:]).isEverything)
    }

    @Test func requiredValue() throws {
        let selector = try LabelSelector.parse("a=1,b in (2),c in (3,4),!d")
        #expect(selector.requiredValue(for: "a") == "1")
        #expect(selector.requiredValue(for: "b") == "2")
        #expect(selector.requiredValue(for: "c") == nil)
        #expect(selector.requiredValue(for: "d") == nil)
    }
}
