import SwiftletMachinery
import Testing

@Suite struct MergePatchTests {
    /// RFC 7386 Appendix A: (original, patch, result).
    static let rfcExamples: [(String, String, String)] = [
        (#"{"a":"b"}"#, #"{"a":"c"}"#, #"{"a":"c"}"#),
        (#"{"a":"b"}"#, #"{"b":"c"}"#, #"{"a":"b","b":"c"}"#),
        (#"{"a":"b"}"#, #"{"a":null}"#, #"{}"#),
        (#"{"a":"b","b":"c"}"#, #"{"a":null}"#, #"{"b":"c"}"#),
        (#"{"a":["b"]}"#, #"{"a":"c"}"#, #"{"a":"c"}"#),
        (#"{"a":"c"}"#, #"{"a":["b"]}"#, #"{"a":["b"]}"#),
        (#"{"a":{"b":"c"}}"#, #"{"a":{"b":"d","c":null}}"#, #"{"a":{"b":"d"}}"#),
        (#"{"a":[{"b":"c"}]}"#, #"{"a":[1]}"#, #"{"a":[1]}"#),
        (#"["a","b"]"#, #"["c","d"]"#, #"["c","d"]"#),
        (#"{"a":"b"}"#, #"["c"]"#, #"["c"]"#),
        (#"{"a":"foo"}"#, "null", "null"),
        (#"{"a":"foo"}"#, #""bar""#, #""bar""#),
        (#"{"e":null}"#, #"{"a":1}"#, #"{"e":null,"a":1}"#),
        ("[1,2]", #"{"a":"b","c":null}"#, #"{"a":"b"}"#),
        ("{}", #"{"a":{"bb":{"ccc":null}}}"#, #"{"a":{"bb":{}}}"#),
    ]

    @Test(arguments: rfcExamples)
    func rfc7386(original: String, patch: String, expected: String) throws {
        #expect(MergePatch.apply(try jsonFixture(patch), to: try jsonFixture(original)) == (try jsonFixture(expected)))
    }

    static let kubernetesCases: [(String, String, String, String)] = [
        ("kubectl label",
         #"{"metadata":{"name":"web","labels":{"app":"web"}},"spec":{"replicas":1}}"#,
         #"{"metadata":{"labels":{"kiamol":"ch06"}}}"#,
         #"{"metadata":{"name":"web","labels":{"app":"web","kiamol":"ch06"}},"spec":{"replicas":1}}"#),
        ("kubectl label with a trailing dash",
         #"{"metadata":{"labels":{"app":"web","kiamol":"ch06"}}}"#,
         #"{"metadata":{"labels":{"kiamol":null}}}"#,
         #"{"metadata":{"labels":{"app":"web"}}}"#),
        ("kubectl scale",
         #"{"metadata":{"name":"web"},"spec":{"replicas":1,"template":{}}}"#,
         #"{"spec":{"replicas":4}}"#,
         #"{"metadata":{"name":"web"},"spec":{"replicas":4,"template":{}}}"#),
        ("labels created where there were none",
         #"{"metadata":{"name":"web"}}"#,
         #"{"metadata":{"labels":{"a":"1","b":null}}}"#,
         #"{"metadata":{"name":"web","labels":{"a":"1"}}}"#),
        ("lists are replaced whole",
         #"{"spec":{"containers":[{"name":"a","image":"x"},{"name":"b"}]}}"#,
         #"{"spec":{"containers":[{"name":"a","image":"y"}]}}"#,
         #"{"spec":{"containers":[{"name":"a","image":"y"}]}}"#),
        ("nulls in objects inside set lists are pruned",
         #"{"spec":{}}"#,
         #"{"spec":{"containers":[{"name":"a","image":null,"env":[{"name":"X","value":null}]}],"tags":[null,1]}}"#,
         #"{"spec":{"containers":[{"name":"a","env":[{"name":"X"}]}],"tags":[null,1]}}"#),
        ("a patch object replaces a scalar",
         #"{"spec":"none"}"#,
         #"{"spec":{"a":1,"b":null}}"#,
         #"{"spec":{"a":1}}"#),
        ("deleting a missing member is a no-op",
         #"{"a":1}"#,
         #"{"b":null}"#,
         #"{"a":1}"#),
        ("empty patch", #"{"a":{"b":1}}"#, "{}", #"{"a":{"b":1}}"#),
    ]

    @Test(arguments: kubernetesCases)
    func kubernetesPatches(name: String, original: String, patch: String, expected: String) throws {
        #expect(MergePatch.apply(try jsonFixture(patch), to: try jsonFixture(original)) == (try jsonFixture(expected)), "\(name)")
    }

    @Test func keepsMemberOrder() throws {
        let result = MergePatch.apply(try jsonFixture(#"{"c":30,"b":null,"d":4}"#), to: try jsonFixture(#"{"a":1,"b":2,"c":3}"#))
        #expect(JSONWriter.string(result) == #"{"a":1,"c":30,"d":4}"#)
    }

    @Test(arguments: ["null", #""bar""#, "1", "true", "[]", #"[{"a":1}]"#])
    func validateRejectsNonObjects(body: String) throws {
        let patch = try jsonFixture(body)
        let error = #expect(throws: PatchError.self) { try MergePatch.validate(patch) }
        #expect(error == .malformed("Invalid JSON Patch"))
        #expect(error?.apiError == APIError(code: 400, reason: "BadRequest", message: "Invalid JSON Patch"))
    }

    @Test func validateAcceptsObjects() throws {
        try MergePatch.validate(jsonFixture("{}"))
        try MergePatch.validate(jsonFixture(#"{"spec":{"replicas":4}}"#))
    }
}
