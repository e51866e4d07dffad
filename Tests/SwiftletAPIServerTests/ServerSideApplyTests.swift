import Foundation
import Testing
import SwiftletAPI
import SwiftletMachinery
@testable import SwiftletAPIServer

/// Server-side apply and managedFields through the API, as kubectl and Helm 4 use them.
@Suite struct ServerSideApplyTests {
    static let deployments = "/apis/apps/v1/namespaces/default/deployments"
    static let apply = "application/apply-patch+yaml"

    static func managers(_ object: JSONValue) -> [String] {
        (object[path: "metadata", "managedFields"]?.arrayValue ?? []).map {
            "\($0["manager"]?.stringValue ?? "")/\($0["operation"]?.stringValue ?? "")\($0["subresource"].flatMap(\.stringValue).map { "/" + $0 } ?? "")"
        }
    }

    @Test func anApplyCreatesThenUpdatesWithOwnership() async throws {
        let t = try TestServer()
        let created = await t.request(.PATCH, "\(Self.deployments)/web?fieldManager=kubectl", body: TestServer.deployment("web"),
                                      contentType: Self.apply)
        #expect(created.status == 201)
        #expect(Self.managers(created.json) == ["kubectl/Apply"])
        #expect(created.json[path: "spec", "progressDeadlineSeconds"] == 600)  // defaulted, as any create

        // The same apply with a change is an update; another manager's different value conflicts.
        let scaled = await t.request(.PATCH, "\(Self.deployments)/web?fieldManager=kubectl",
                                     body: TestServer.deployment("web", replicas: 2), contentType: Self.apply)
        #expect(scaled.status == 200)
        #expect(scaled.json[path: "spec", "replicas"] == 2)
        #expect(scaled.json[path: "metadata", "generation"] == 2)
        let conflict = await t.request(.PATCH, "\(Self.deployments)/web?fieldManager=ci",
                                       body: TestServer.deployment("web", replicas: 3), contentType: Self.apply)
        #expect(conflict.status == 409)
        #expect(conflict.json["message"] == #"Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas"#)
        let forced = await t.request(.PATCH, "\(Self.deployments)/web?fieldManager=ci&force=true",
                                     body: TestServer.deployment("web", replicas: 3), contentType: Self.apply)
        #expect(forced.status == 200)
        #expect(forced.json[path: "spec", "replicas"] == 3)
        #expect(Set(Self.managers(forced.json)) == ["kubectl/Apply", "ci/Apply"])
    }

    @Test func everyWriteRecordsItsManager() async throws {
        let t = try TestServer()
        let created = await t.request(.POST, "\(Self.deployments)?fieldManager=kubectl-create", body: TestServer.deployment("web"))
        #expect(Self.managers(created.json) == ["kubectl-create/Update"])
        var status = created.json
        status["status"] = ["replicas": 1]
        let reported = await t.request(.PUT, "\(Self.deployments)/web/status?fieldManager=controller", body: status)
        #expect(Set(Self.managers(reported.json)) == ["kubectl-create/Update", "controller/Update/status"])
        let patched = await t.request(.PATCH, "\(Self.deployments)/web?fieldManager=kubectl-edit", body: ["spec": ["replicas": 5]],
                                      contentType: "application/merge-patch+json")
        #expect(Set(Self.managers(patched.json)) == ["kubectl-create/Update", "controller/Update/status", "kubectl-edit/Update"])
        // A client cannot rewrite ownership by sending managedFields of its own.
        var forged = patched.json
        forged[path: "metadata", "managedFields"] = [["manager": "me", "operation": "Apply", "fieldsType": "FieldsV1", "fieldsV1": [:]]]
        forged[path: "metadata", "labels"] = ["x": "y"]
        let replaced = await t.request(.PUT, "\(Self.deployments)/web?fieldManager=kubectl-replace", body: forged)
        #expect(!Self.managers(replaced.json).contains("me/Apply"))
        #expect(Self.managers(replaced.json).contains("kubectl-replace/Update"))
    }

    @Test func applyRequestsAreChecked() async throws {
        let t = try TestServer()
        let noManager = await t.request(.PATCH, "\(Self.deployments)/web", body: TestServer.deployment("web"), contentType: Self.apply)
        #expect(noManager.status == 400)
        #expect(noManager.json["message"] == "fieldManager is required for apply requests")
        var wrongName = TestServer.deployment("other")
        wrongName[path: "metadata", "namespace"] = "default"
        #expect(await t.request(.PATCH, "\(Self.deployments)/web?fieldManager=m", body: wrongName, contentType: Self.apply).status == 400)
        var noKind = TestServer.deployment("web")
        noKind["kind"] = nil
        #expect(await t.request(.PATCH, "\(Self.deployments)/web?fieldManager=m", body: noKind, contentType: Self.apply).status == 400)
        let junk = await t.request(.PATCH, "\(Self.deployments)/web?fieldManager=m", rawBody: Array("- just\n- a list\n".utf8), contentType: Self.apply)
        #expect(junk.status == 400)
        // Nothing was created by any of them.
        #expect(await t.request(.GET, "\(Self.deployments)/web").status == 404)
    }

    @Test func yamlBodiesAndDryRuns() async throws {
        let t = try TestServer()
        let yaml = """
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: settings
            data:
              mode: "on"
              count: "3"
            """
        let uri = "/api/v1/namespaces/default/configmaps/settings?fieldManager=me"
        let dry = await t.request(.PATCH, uri + "&dryRun=All", rawBody: Array(yaml.utf8), contentType: Self.apply)
        #expect(dry.status == 201)
        #expect(await t.request(.GET, "/api/v1/namespaces/default/configmaps/settings").status == 404)
        let created = await t.request(.PATCH, uri, rawBody: Array(yaml.utf8), contentType: Self.apply)
        #expect(created.status == 201)
        #expect(created.json["data"] == ["mode": "on", "count": "3"])
    }

    @Test func streamingListsEndTheirInitialEventsWithAMarkedBookmark() async throws {
        let t = try TestServer()
        _ = await t.request(.POST, "/api/v1/namespaces/default/configmaps", body: TestServer.configMap("a"))
        let refused = await t.request(.GET, "/api/v1/namespaces/default/configmaps?watch=true&sendInitialEvents=true&allowWatchBookmarks=true")
        #expect(refused.status == 422)
        #expect(refused.json["message"]?.stringValue?.contains("sendInitialEvents requires setting resourceVersionMatch to NotOlderThan") == true)
        let events = await t.watch("/api/v1/namespaces/default/configmaps?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan")
        var iterator = events.makeAsyncIterator()
        let added = await iterator.next()
        #expect(added?["type"] == "ADDED")
        #expect(added?[path: "object", "metadata", "name"] == "a")
        let bookmark = await iterator.next()
        #expect(bookmark?["type"] == "BOOKMARK")
        #expect(bookmark?[path: "object", "metadata", "annotations", "k8s.io/initial-events-end"] == "true")
        #expect(bookmark?[path: "object", "metadata", "resourceVersion"] == added?[path: "object", "metadata", "resourceVersion"])
    }

    @Test func hostileApplyBodiesAreRefusedBoundedly() async throws {
        let t = try TestServer()
        let uri = "/api/v1/namespaces/default/configmaps/bomb?fieldManager=m"
        // A billion laughs: nine levels of ten aliases each.
        var lines = ["apiVersion: v1", "kind: ConfigMap", "metadata: {name: bomb}", #"a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]"#]
        for i in 1...8 { lines.append("a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 10).joined(separator: ",") + "]") }
        lines.append("data: {k: *a8}")
        let bomb = await t.request(.PATCH, uri, rawBody: Array(lines.joined(separator: "\n").utf8), contentType: Self.apply)
        #expect(bomb.status == 400)
        #expect(bomb.json["message"] == "error decoding YAML: yaml: document contains excessive aliasing")
        // Nesting deeper than the JSON parser allows, in flow and in block style.
        let flow = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep}\na: " + String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000)
        #expect(await t.request(.PATCH, uri, rawBody: Array(flow.utf8), contentType: Self.apply).status == 400)
        let block = "apiVersion: v1\nkind: ConfigMap\na:\n" + String(repeating: "- ", count: 3000) + "x\n"
        let deep = await t.request(.PATCH, uri, rawBody: Array(block.utf8), contentType: Self.apply)
        #expect(deep.status == 400)
        #expect(deep.json["message"] == "error decoding YAML: the document nests more than 128 levels deep")
        // A field manager name is bounded.
        let long = await t.request(.PATCH, "/api/v1/namespaces/default/configmaps/x?fieldManager=" + String(repeating: "m", count: 129),
                                   body: TestServer.configMap("x"), contentType: Self.apply)
        #expect(long.status == 422)
        #expect(long.json["message"] == #"PatchOptions.meta.k8s.io "" is invalid: fieldManager: Too long: may not be more than 128 bytes"#)
        // Aliases within the budget are expanded, as go-yaml does.
        let fine = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine}\ndata: &d {a: b}\n"
        #expect(await t.request(.PATCH, "/api/v1/namespaces/default/configmaps/fine?fieldManager=m", rawBody: Array(fine.utf8), contentType: Self.apply).status == 201)
    }
}
