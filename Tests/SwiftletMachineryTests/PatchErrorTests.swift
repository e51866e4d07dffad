import SwiftletMachinery
import Testing

@Suite struct PatchErrorTests {
    @Test func malformedIsBadRequestWithTheMessage() {
        let error = PatchError.malformed("invalid patch format of retainKeys")
        #expect(error.apiError == APIError(code: 400, reason: "BadRequest", message: "invalid patch format of retainKeys"))
        #expect(error.message == "invalid patch format of retainKeys")
        #expect("\(error)" == "invalid patch format of retainKeys")
    }

    /// Upstream's NewGenericServerResponse(422, ...) replaces the detail with a fixed sentence
    /// and sets an empty (non-nil) StatusDetails.
    @Test func inapplicableIsTheGenericInvalidResponse() {
        let error = PatchError.inapplicable("testing value /a failed: test failed")
        #expect(error.apiError == APIError(code: 422, reason: "Invalid",
                                           message: "the server rejected our request due to an error in our request",
                                           details: .object(JSONObject())))
        #expect(error.message == "testing value /a failed: test failed")
        #expect(JSONWriter.string(error.apiError.status) ==
            #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"the server rejected our request due to an error in our request","reason":"Invalid","details":{},"code":422}"#)
    }

    /// A plain Go error reaches ErrorToAPIStatus: code 500, reason Unknown (""), raw message.
    @Test func unmergeableIsAnUnclassifiedServerError() {
        let error = PatchError.unmergeable("map: map[image:x] does not contain declared merge key: name")
        #expect(error.apiError == APIError(code: 500, reason: "",
                                           message: "map: map[image:x] does not contain declared merge key: name"))
    }

    @Test func jsonPatchFailuresAnswer422() throws {
        let error = #expect(throws: PatchError.self) {
            try JSONPatch.apply(jsonFixture(#"[{"op":"remove","path":"/missing"}]"#), to: jsonFixture("{}"))
        }
        #expect(error?.apiError.code == 422)
    }
}
