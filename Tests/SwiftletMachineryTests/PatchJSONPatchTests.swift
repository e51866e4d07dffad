import SwiftletMachinery
import Testing

@Suite struct JSONPatchTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let document: String
        let patch: String
        /// The expected document; nil when the patch must fail with `inapplicable`.
        let expected: String?
        var testDescription: String { name }
    }

    /// RFC 6902 Appendix A, minus A.13 (a duplicate "op" member is the JSON parser's business).
    static let rfcExamples: [Case] = [
        Case(name: "A.1 add an object member", document: #"{"foo":"bar"}"#,
             patch: #"[{"op":"add","path":"/baz","value":"qux"}]"#, expected: #"{"baz":"qux","foo":"bar"}"#),
        Case(name: "A.2 add an array element", document: #"{"foo":["bar","baz"]}"#,
             patch: #"[{"op":"add","path":"/foo/1","value":"qux"}]"#, expected: #"{"foo":["bar","qux","baz"]}"#),
        Case(name: "A.3 remove an object member", document: #"{"baz":"qux","foo":"bar"}"#,
             patch: #"[{"op":"remove","path":"/baz"}]"#, expected: #"{"foo":"bar"}"#),
        Case(name: "A.4 remove an array element", document: #"{"foo":["bar","qux","baz"]}"#,
             patch: #"[{"op":"remove","path":"/foo/1"}]"#, expected: #"{"foo":["bar","baz"]}"#),
        Case(name: "A.5 replace a value", document: #"{"baz":"qux","foo":"bar"}"#,
             patch: #"[{"op":"replace","path":"/baz","value":"boo"}]"#, expected: #"{"baz":"boo","foo":"bar"}"#),
        Case(name: "A.6 move a value", document: #"{"foo":{"bar":"baz","waldo":"fred"},"qux":{"corge":"grault"}}"#,
             patch: #"[{"op":"move","from":"/foo/waldo","path":"/qux/thud"}]"#,
             expected: #"{"foo":{"bar":"baz"},"qux":{"corge":"grault","thud":"fred"}}"#),
        Case(name: "A.7 move an array element", document: #"{"foo":["all","grass","cows","eat"]}"#,
             patch: #"[{"op":"move","from":"/foo/1","path":"/foo/3"}]"#, expected: #"{"foo":["all","cows","eat","grass"]}"#),
        Case(name: "A.8 test a value: success", document: #"{"baz":"qux","foo":["a",2,"c"]}"#,
             patch: #"[{"op":"test","path":"/baz","value":"qux"},{"op":"test","path":"/foo/1","value":2}]"#,
             expected: #"{"baz":"qux","foo":["a",2,"c"]}"#),
        Case(name: "A.9 test a value: error", document: #"{"baz":"qux"}"#,
             patch: #"[{"op":"test","path":"/baz","value":"bar"}]"#, expected: nil),
        Case(name: "A.10 add a nested member object", document: #"{"foo":"bar"}"#,
             patch: #"[{"op":"add","path":"/child","value":{"grandchild":{}}}]"#,
             expected: #"{"foo":"bar","child":{"grandchild":{}}}"#),
        Case(name: "A.11 ignore unrecognized elements", document: #"{"foo":"bar"}"#,
             patch: #"[{"op":"add","path":"/baz","value":"qux","xyz":123}]"#, expected: #"{"foo":"bar","baz":"qux"}"#),
        Case(name: "A.12 add to a nonexistent target", document: #"{"foo":"bar"}"#,
             patch: #"[{"op":"add","path":"/baz/bat","value":"qux"}]"#, expected: nil),
        Case(name: "A.14 ~ escape ordering", document: #"{"/":9,"~1":10}"#,
             patch: #"[{"op":"test","path":"/~01","value":10}]"#, expected: #"{"/":9,"~1":10}"#),
        Case(name: "A.15 comparing strings and numbers", document: #"{"/":9,"~1":10}"#,
             patch: #"[{"op":"test","path":"/~01","value":"10"}]"#, expected: nil),
        Case(name: "A.16 add an array value", document: #"{"foo":["bar"]}"#,
             patch: #"[{"op":"add","path":"/foo/-","value":["abc","def"]}]"#, expected: #"{"foo":["bar",["abc","def"]]}"#),
    ]

    /// Every operation's edge cases, with evanphx/json-patch v4's answers (what Kubernetes uses).
    static let operationCases: [Case] = [
        // add
        Case(name: "add replaces an existing member", document: #"{"a":1}"#,
             patch: #"[{"op":"add","path":"/a","value":2}]"#, expected: #"{"a":2}"#),
        Case(name: "add appends with -", document: #"{"a":[1]}"#,
             patch: #"[{"op":"add","path":"/a/-","value":2}]"#, expected: #"{"a":[1,2]}"#),
        Case(name: "add at index == count appends", document: #"{"a":[1]}"#,
             patch: #"[{"op":"add","path":"/a/1","value":2}]"#, expected: #"{"a":[1,2]}"#),
        Case(name: "add at index 0 prepends", document: #"{"a":[1]}"#,
             patch: #"[{"op":"add","path":"/a/0","value":0}]"#, expected: #"{"a":[0,1]}"#),
        Case(name: "add at -1 appends (v4 negative index)", document: #"{"a":[1,2]}"#,
             patch: #"[{"op":"add","path":"/a/-1","value":3}]"#, expected: #"{"a":[1,2,3]}"#),
        Case(name: "add past the end fails", document: #"{"a":[1]}"#,
             patch: #"[{"op":"add","path":"/a/2","value":2}]"#, expected: nil),
        Case(name: "add with a non-numeric index fails", document: #"{"a":[1]}"#,
             patch: #"[{"op":"add","path":"/a/x","value":2}]"#, expected: nil),
        Case(name: "add too negative fails", document: #"{"a":[1]}"#,
             patch: #"[{"op":"add","path":"/a/-3","value":2}]"#, expected: nil),
        Case(name: "add at the root fails", document: #"{"a":1}"#,
             patch: #"[{"op":"add","path":"","value":{}}]"#, expected: nil),
        Case(name: "add under a scalar fails", document: #"{"a":1}"#,
             patch: #"[{"op":"add","path":"/a/b","value":2}]"#, expected: nil),
        Case(name: "add under a null fails", document: #"{"a":null}"#,
             patch: #"[{"op":"add","path":"/a/b","value":2}]"#, expected: nil),
        Case(name: "add without value adds null", document: #"{}"#,
             patch: #"[{"op":"add","path":"/a"}]"#, expected: #"{"a":null}"#),
        Case(name: "add to the empty-named member", document: #"{}"#,
             patch: #"[{"op":"add","path":"/","value":1}]"#, expected: #"{"":1}"#),
        Case(name: "add through escaped keys", document: #"{"metadata":{"labels":{}}}"#,
             patch: #"[{"op":"add","path":"/metadata/labels/app.kubernetes.io~1name","value":"web"},{"op":"add","path":"/metadata/labels/a~0b","value":"x"}]"#,
             expected: #"{"metadata":{"labels":{"app.kubernetes.io/name":"web","a~b":"x"}}}"#),
        Case(name: "add through an array index", document: #"{"spec":{"containers":[{"name":"a"},{"name":"b"}]}}"#,
             patch: #"[{"op":"add","path":"/spec/containers/1/image","value":"nginx"}]"#,
             expected: #"{"spec":{"containers":[{"name":"a"},{"name":"b","image":"nginx"}]}}"#),
        Case(name: "add through a negative array index", document: #"{"c":[{"n":1},{"n":2}]}"#,
             patch: #"[{"op":"add","path":"/c/-1/x","value":true}]"#, expected: #"{"c":[{"n":1},{"n":2,"x":true}]}"#),
        Case(name: "add through - fails", document: #"{"c":[{"n":1}]}"#,
             patch: #"[{"op":"add","path":"/c/-/x","value":true}]"#, expected: nil),
        Case(name: "add with a pointer lacking the leading slash fails", document: #"{"a":{}}"#,
             patch: #"[{"op":"add","path":"a/b","value":1}]"#, expected: nil),

        // remove
        Case(name: "remove a missing member fails", document: #"{"a":1}"#,
             patch: #"[{"op":"remove","path":"/b"}]"#, expected: nil),
        Case(name: "remove a null member", document: #"{"a":null,"b":1}"#,
             patch: #"[{"op":"remove","path":"/a"}]"#, expected: #"{"b":1}"#),
        Case(name: "remove past the end fails", document: #"{"a":[1]}"#,
             patch: #"[{"op":"remove","path":"/a/1"}]"#, expected: nil),
        Case(name: "remove the last element with -1", document: #"{"a":[1,2]}"#,
             patch: #"[{"op":"remove","path":"/a/-1"}]"#, expected: #"{"a":[1]}"#),
        Case(name: "remove with - fails", document: #"{"a":[1]}"#,
             patch: #"[{"op":"remove","path":"/a/-"}]"#, expected: nil),
        Case(name: "remove the root fails", document: #"{"a":1}"#,
             patch: #"[{"op":"remove","path":""}]"#, expected: nil),
        Case(name: "remove under a missing parent fails", document: #"{"a":1}"#,
             patch: #"[{"op":"remove","path":"/x/y"}]"#, expected: nil),

        // replace
        Case(name: "replace a missing member adds it (v4)", document: #"{"metadata":{}}"#,
             patch: #"[{"op":"replace","path":"/metadata/annotations","value":{"a":"b"}}]"#,
             expected: #"{"metadata":{"annotations":{"a":"b"}}}"#),
        Case(name: "replace under a missing parent fails", document: #"{"a":1}"#,
             patch: #"[{"op":"replace","path":"/x/y","value":1}]"#, expected: nil),
        Case(name: "replace an array element", document: #"{"a":[1,2]}"#,
             patch: #"[{"op":"replace","path":"/a/0","value":9}]"#, expected: #"{"a":[9,2]}"#),
        Case(name: "replace past the end fails", document: #"{"a":[1]}"#,
             patch: #"[{"op":"replace","path":"/a/1","value":9}]"#, expected: nil),
        Case(name: "replace with - fails", document: #"{"a":[1]}"#,
             patch: #"[{"op":"replace","path":"/a/-","value":9}]"#, expected: nil),
        Case(name: "replace the root with an object", document: #"{"a":1}"#,
             patch: #"[{"op":"replace","path":"","value":{"b":2}}]"#, expected: #"{"b":2}"#),
        Case(name: "replace the root with a scalar fails", document: #"{"a":1}"#,
             patch: #"[{"op":"replace","path":"","value":3}]"#, expected: nil),

        // move
        Case(name: "move a missing member fails", document: #"{"a":1}"#,
             patch: #"[{"op":"move","from":"/b","path":"/c"}]"#, expected: nil),
        Case(name: "move into its own child fails", document: #"{"a":{"b":1}}"#,
             patch: #"[{"op":"move","from":"/a","path":"/a/c"}]"#, expected: nil),
        Case(name: "move to the same place", document: #"{"a":1}"#,
             patch: #"[{"op":"move","from":"/a","path":"/a"}]"#, expected: #"{"a":1}"#),
        Case(name: "move renames a member", document: #"{"a":{"x":1},"b":2}"#,
             patch: #"[{"op":"move","from":"/a","path":"/c"}]"#, expected: #"{"b":2,"c":{"x":1}}"#),
        Case(name: "move to a missing destination parent fails", document: #"{"a":1}"#,
             patch: #"[{"op":"move","from":"/a","path":"/x/y"}]"#, expected: nil),
        Case(name: "move without from fails", document: #"{"a":1}"#,
             patch: #"[{"op":"move","path":"/b"}]"#, expected: nil),

        // copy
        Case(name: "copy a member", document: #"{"a":{"x":[1]}}"#,
             patch: #"[{"op":"copy","from":"/a","path":"/b"}]"#, expected: #"{"a":{"x":[1]},"b":{"x":[1]}}"#),
        Case(name: "copy an array element to the end", document: #"{"a":[1,2]}"#,
             patch: #"[{"op":"copy","from":"/a/0","path":"/a/-"}]"#, expected: #"{"a":[1,2,1]}"#),
        Case(name: "copy a missing member copies null (v4)", document: #"{"a":1}"#,
             patch: #"[{"op":"copy","from":"/b","path":"/c"}]"#, expected: #"{"a":1,"c":null}"#),
        Case(name: "copy a missing array element fails", document: #"{"a":[1]}"#,
             patch: #"[{"op":"copy","from":"/a/5","path":"/c"}]"#, expected: nil),
        Case(name: "copy to a missing destination parent fails", document: #"{"a":1}"#,
             patch: #"[{"op":"copy","from":"/a","path":"/x/y"}]"#, expected: nil),

        // test
        Case(name: "test the whole document", document: #"{"a":[1,{"b":2}]}"#,
             patch: #"[{"op":"test","path":"","value":{"a":[1,{"b":2}]}}]"#, expected: #"{"a":[1,{"b":2}]}"#),
        Case(name: "test ignores member order", document: #"{"a":{"x":1,"y":2}}"#,
             patch: #"[{"op":"test","path":"/a","value":{"y":2,"x":1}}]"#, expected: #"{"a":{"x":1,"y":2}}"#),
        Case(name: "test a missing member against null passes (v4)", document: #"{"a":1}"#,
             patch: #"[{"op":"test","path":"/b","value":null}]"#, expected: #"{"a":1}"#),
        Case(name: "test a missing member against a value fails", document: #"{"a":1}"#,
             patch: #"[{"op":"test","path":"/b","value":1}]"#, expected: nil),
        Case(name: "test a null member against a value fails", document: #"{"a":null}"#,
             patch: #"[{"op":"test","path":"/a","value":0}]"#, expected: nil),
        Case(name: "test array order matters", document: #"{"a":[1,2]}"#,
             patch: #"[{"op":"test","path":"/a","value":[2,1]}]"#, expected: nil),
        Case(name: "test a missing array element fails", document: #"{"a":[1]}"#,
             patch: #"[{"op":"test","path":"/a/3","value":1}]"#, expected: nil),
        Case(name: "a failed test undoes nothing but stops the patch", document: #"{"a":1}"#,
             patch: #"[{"op":"add","path":"/b","value":2},{"op":"test","path":"/a","value":2}]"#, expected: nil),

        // malformed operations, still 422 upstream
        Case(name: "unknown op", document: #"{}"#, patch: #"[{"op":"merge","path":"/a"}]"#, expected: nil),
        Case(name: "missing op", document: #"{}"#, patch: #"[{"path":"/a","value":1}]"#, expected: nil),
        Case(name: "null operation", document: #"{}"#, patch: #"[null]"#, expected: nil),
        Case(name: "missing path", document: #"{}"#, patch: #"[{"op":"add","value":1}]"#, expected: nil),
        Case(name: "non-string path", document: #"{}"#, patch: #"[{"op":"add","path":1,"value":1}]"#, expected: nil),

        // sequences
        Case(name: "operations apply in order", document: #"{"a":[]}"#,
             patch: #"[{"op":"add","path":"/a/-","value":1},{"op":"add","path":"/a/-","value":2},{"op":"move","from":"/a/0","path":"/a/-"},{"op":"test","path":"/a","value":[2,1]}]"#,
             expected: #"{"a":[2,1]}"#),
        Case(name: "empty patch", document: #"{"a":1}"#, patch: "[]", expected: #"{"a":1}"#),
        Case(name: "null patch is empty", document: #"{"a":1}"#, patch: "null", expected: #"{"a":1}"#),
    ]

    @Test(arguments: rfcExamples + operationCases)
    func applies(_ c: Case) throws {
        let document = try jsonFixture(c.document)
        let patch = try jsonFixture(c.patch)
        if let expected = c.expected {
            let result = try JSONPatch.apply(patch, to: document)
            #expect(result == (try jsonFixture(expected)))
        } else {
            let error = #expect(throws: PatchError.self) { try JSONPatch.apply(patch, to: document) }
            guard case .inapplicable? = error else {
                Issue.record("expected an inapplicable patch, got \(String(describing: error))")
                return
            }
        }
    }

    @Test func keepsMemberOrder() throws {
        let result = try JSONPatch.apply(
            jsonFixture(#"[{"op":"replace","path":"/b","value":20},{"op":"add","path":"/d","value":4}]"#),
            to: jsonFixture(#"{"a":1,"b":2,"c":3}"#))
        #expect(JSONWriter.string(result) == #"{"a":1,"b":20,"c":3,"d":4}"#)
    }

    /// What `kubectl rollout undo` sends: replace the pod template and the annotations.
    @Test func rolloutUndo() throws {
        let deployment = try jsonFixture("""
            {"apiVersion":"apps/v1","kind":"Deployment",
             "metadata":{"name":"web","annotations":{"deployment.kubernetes.io/revision":"2"}},
             "spec":{"replicas":2,"template":{"metadata":{"labels":{"app":"web"}},
                     "spec":{"containers":[{"name":"web","image":"nginx:1.27"}]}}}}
            """)
        let patch = try jsonFixture("""
            [{"op":"replace","path":"/spec/template","value":{"metadata":{"labels":{"app":"web","pod-template-hash":"abc"}},
               "spec":{"containers":[{"name":"web","image":"nginx:1.25"}]}}},
             {"op":"replace","path":"/metadata/annotations","value":{"deployment.kubernetes.io/revision":"1"}}]
            """)
        let result = try JSONPatch.apply(patch, to: deployment)
        #expect(result[path: "spec", "template", "spec", "containers"] == [["name": "web", "image": "nginx:1.25"]])
        #expect(result[path: "spec", "template", "metadata", "labels", "pod-template-hash"] == "abc")
        #expect(result[path: "metadata", "annotations"] == ["deployment.kubernetes.io/revision": "1"])
        #expect(result[path: "spec", "replicas"] == 2)
        #expect(result[path: "metadata", "name"] == "web")
    }

    @Test(arguments: [
        (#"{"op":"add","path":"/a","value":1}"#, "json: cannot unmarshal object into Go value of type jsonpatch.Patch"),
        (#""add""#, "json: cannot unmarshal string into Go value of type jsonpatch.Patch"),
        ("3", "json: cannot unmarshal number into Go value of type jsonpatch.Patch"),
        (#"[{"op":"add","path":"/a","value":1},"remove"]"#, "json: cannot unmarshal string into Go value of type jsonpatch.Operation"),
        (#"[[{"op":"add"}]]"#, "json: cannot unmarshal array into Go value of type jsonpatch.Operation"),
    ])
    func rejectsBodiesThatAreNotPatches(body: String, message: String) throws {
        let patch = try jsonFixture(body)
        let error = #expect(throws: PatchError.self) { try JSONPatch.apply(patch, to: jsonFixture("{}")) }
        #expect(error == .malformed(message))
        #expect(error?.apiError.code == 400)
    }

    @Test(arguments: [
        (#"[{"op":"test","path":"/a","value":2}]"#, "testing value /a failed: test failed"),
        (#"[{"op":"remove","path":"/b"}]"#, "error in remove for path: '/b': Unable to remove nonexistent key: b: missing value"),
        (#"[{"op":"add","path":"/x/y","value":1}]"#, #"add operation does not apply: doc is missing path: "/x/y": missing value"#),
        (#"[{"op":"add","path":"/l/5","value":1}]"#, "error in add for path: '/l/5': Unable to access invalid index: 5: invalid index referenced"),
        (#"[{"op":"remove","path":"/l/x"}]"#, #"error in remove for path: '/l/x': strconv.Atoi: parsing "x": invalid syntax"#),
        (#"[{"op":"add","path":"/l/x","value":1}]"#, "error in add for path: '/l/x': value was not a proper array index: 'x'"),
        (#"[{"op":"copy","from":"/x/y","path":"/b"}]"#, #"copy operation does not apply: doc is missing from path: "/x/y": missing value"#),
        (#"[{"op":"move","from":"/a","path":"/x/y"}]"#, #"move operation does not apply: doc is missing destination path: "/x/y": missing value"#),
        (#"[{"op":"copy","path":"/b"}]"#, "copy operation failed to decode from: operation missing from field: missing value"),
        (#"[{"op":"frobnicate","path":"/b"}]"#, "Unexpected kind: frobnicate"),
        (#"[{"path":"/b"}]"#, "Unexpected kind: unknown"),
    ])
    func explainsFailures(body: String, message: String) throws {
        let patch = try jsonFixture(body)
        let error = #expect(throws: PatchError.self) { try JSONPatch.apply(patch, to: jsonFixture(#"{"a":1,"l":[0]}"#)) }
        #expect(error == .inapplicable(message))
    }

    @Test func copiesThatWouldGrowTheObjectWithoutEndAreRefused() throws {
        // Each copy doubles the list: 18 of them would make 262,144 finalizers from one.
        var operations: [JSONValue] = [["op": "add", "path": "/metadata/finalizers", "value": [.string(String(repeating: "f", count: 100))]]]
        for _ in 0..<18 { operations.append(["op": "copy", "from": "/metadata/finalizers", "path": "/metadata/finalizers/-"]) }
        let limits = JSONPatch.Limits(maxOperations: 10_000, maxCopiedBytes: 64 * 1024)
        let error = #expect(throws: PatchError.self) { try JSONPatch.apply(.array(operations), to: ["metadata": [:]], limits: limits) }
        guard case .tooLarge(let message)? = error else { Issue.record("\(String(describing: error))"); return }
        #expect(message.hasPrefix("Unable to complete the copy, the accumulated size increase of copy is "))
        #expect(message.hasSuffix("exceeding the limit 65536"))
        #expect(error?.apiError.code == 413)
        // Within the limit, copies work.
        let small = try JSONPatch.apply(.array(Array(operations.prefix(3))), to: ["metadata": [:]], limits: limits)
        #expect(small[path: "metadata", "finalizers"]?.arrayValue?.count == 3)
    }

    @Test func tooManyOperationsAreRefused() {
        let operations = JSONValue.array(Array(repeating: ["op": "test", "path": "/a", "value": 1], count: 11))
        let error = #expect(throws: PatchError.self) {
            try JSONPatch.apply(operations, to: ["a": 1], limits: JSONPatch.Limits(maxOperations: 10, maxCopiedBytes: 100))
        }
        #expect(error == .tooLarge("The allowed maximum operations in a JSON patch is 10, got 11"))
    }
}
