import Testing
@testable import SwiftletMachinery

/// metav1.LabelSelector objects as workloads store them.
struct SelectorJSONTests {
    @Test(arguments: [
        (#"{"matchLabels":{"app":"whoami-web"}}"#, "app=whoami-web"),
        (#"{"matchLabels":{"tier":"web","app":"x"},"matchExpressions":[{"key":"env","operator":"In","values":["prod","dev"]},{"key":"legacy","operator":"DoesNotExist"}]}"#,
         "app=x,env in (dev,prod),!legacy,tier=web"),
        (#"{"matchExpressions":[{"key":"b","operator":"Exists"},{"key":"a","operator":"NotIn","values":["z"]}]}"#, "a notin (z),b"),
        ("{}", ""),
    ])
    func printsLikeUpstream(json: String, printed: String) throws {
        #expect(try LabelSelector.fromJSON(JSONParser.parse(json)).description == printed)
    }

    @Test func emptyAndMissingSelectors() throws {
        #expect(try LabelSelector.fromJSON(["matchLabels": [:]]).isEverything)
        #expect(try LabelSelector.fromJSON(nil) == .nothing)
        #expect(try LabelSelector.fromJSON(.null) == .nothing)
        #expect(LabelSelector.formatted(nil) == "<none>")
        #expect(LabelSelector.formatted([:]) == "<none>")
        #expect(LabelSelector.formatted(["matchLabels": ["app": "web"]]) == "app=web")
        #expect(LabelSelector.formatted(["matchExpressions": [["key": "a", "operator": "Near"]]]) == "<error>")
    }

    @Test(arguments: [
        (#"{"matchExpressions":[{"key":"a","operator":"Near"}]}"#, #""Near" is not a valid label selector operator"#),
        (#"{"matchExpressions":[{"key":"a","operator":"In"}]}"#, "values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty"),
        (#"{"matchExpressions":[{"key":"a","operator":"Exists","values":["x"]}]}"#, #"values: Invalid value: ["x"]: values set must be empty for exists and does not exist"#),
        (#"{"matchLabels":{"a b":"c"}}"#, #"key: Invalid value: "a b": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"#),
    ])
    func rejectsInvalid(json: String, message: String) throws {
        let value = try JSONParser.parse(json)
        #expect(throws: SelectorParseError(message)) { try LabelSelector.fromJSON(value) }
    }

    @Test func validatesWithFieldPaths() throws {
        let selector = try JSONParser.parse(#"""
            {"matchLabels":{"app":"-bad"},"matchExpressions":[
              {"key":"a","operator":"In"},
              {"key":"b","operator":"Exists","values":["x"]},
              {"key":"c","operator":"Near"},
              {"key":"d","operator":"In","values":["ok","no way"]}]}
            """#)
        let errors = LabelSelector.validate(selector, path: "spec.selector")
        #expect(errors.map(\.message) == [
            #"spec.selector.matchLabels: Invalid value: "-bad": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"#,
            "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
            "spec.selector.matchExpressions[1].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            #"spec.selector.matchExpressions[2].operator: Invalid value: "Near": not a valid selector operator"#,
            #"spec.selector.matchExpressions[3].values[1]: Invalid value: "no way": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"#,
        ])
        #expect(LabelSelector.validate(["matchLabels": ["app": "web"]], path: "spec.selector").isEmpty)
    }
}
