import Foundation
import Testing
import SwiftletMachinery
@testable import SwiftletAPIServer

@Suite struct DeletionTests {
    let rs = "/apis/apps/v1/namespaces/default/deployments"

    @Test func backgroundDeleteRemovesAtOnce() async throws {
        let t = try TestServer()
        _ = await t.request(.POST, rs, body: TestServer.deployment("web"))
        let r = await t.request(.DELETE, rs + "/web", body: ["propagationPolicy": "Background"])
        #expect(r.status == 200)
        #expect(r.json["status"] == "Success")
        #expect(r.json[path: "details", "name"] == "web")
        #expect(await t.request(.GET, rs + "/web").status == 404)
    }

    @Test func orphanAndForegroundAreRecordedAsFinalizers() async throws {
        let t = try TestServer()
        for (name, policy, finalizer) in [("a", "Orphan", "orphan"), ("b", "Foreground", "foregroundDeletion")] {
            _ = await t.request(.POST, rs, body: TestServer.deployment(name))
            let r = await t.request(.DELETE, rs + "/" + name, body: ["propagationPolicy": .string(policy)])
            // Not gone yet, and still 200: upstream keeps 202 for orphanDependents=false.
            #expect(r.status == 200)
            let obj = await t.request(.GET, rs + "/" + name).json
            #expect(obj[path: "metadata", "finalizers"] == [.string(finalizer)])
            #expect(obj[path: "metadata", "deletionTimestamp"] != nil)
            // Removing the finalizer (the garbage collector's job) completes the deletion.
            let done = await t.request(.PATCH, rs + "/" + name, body: ["metadata": ["finalizers": nil]], contentType: "application/merge-patch+json")
            #expect(done.status == 200)
            #expect(await t.request(.GET, rs + "/" + name).status == 404)
        }
    }

    @Test func onlyTheDeprecatedOrphanDependentsFalseIsAnsweredAccepted() async throws {
        let t = try TestServer()
        _ = await t.request(.POST, rs, body: TestServer.deployment("a"))
        let r = await t.request(.DELETE, rs + "/a", body: ["kind": "DeleteOptions", "apiVersion": "v1", "orphanDependents": false,
                                                           "propagationPolicy": "Foreground"])
        #expect(r.status == 202)
        #expect(r.json[path: "metadata", "finalizers"] == ["foregroundDeletion"])
    }

    @Test func finalizersCannotBeAddedDuringDeletion() async throws {
        let t = try TestServer()
        var body = TestServer.configMap("a")
        body[path: "metadata", "finalizers"] = ["example.com/hold"]
        _ = await t.request(.POST, "/api/v1/namespaces/default/configmaps", body: body)
        #expect(await t.request(.DELETE, "/api/v1/namespaces/default/configmaps/a").status == 200)
        let r = await t.request(.PATCH, "/api/v1/namespaces/default/configmaps/a",
                                body: ["metadata": ["finalizers": ["example.com/hold", "example.com/more"]]],
                                contentType: "application/merge-patch+json")
        #expect(r.status == 422)
    }

    @Test func preconditionsAreChecked() async throws {
        let t = try TestServer()
        _ = await t.request(.POST, "/api/v1/namespaces/default/configmaps", body: TestServer.configMap("a"))
        let r = await t.request(.DELETE, "/api/v1/namespaces/default/configmaps/a", body: ["preconditions": ["uid": "nope"]])
        #expect(r.status == 409)
        #expect(await t.request(.GET, "/api/v1/namespaces/default/configmaps/a").status == 200)
    }

    @Test func boundPodsAreDeletedGracefully() async throws {
        let t = try TestServer()
        let pod: JSONValue = ["metadata": ["name": "p"], "spec": ["containers": [["name": "c", "image": "busybox"]]]]
        _ = await t.request(.POST, "/api/v1/namespaces/default/pods", body: pod)
        let bound = await t.request(.POST, "/api/v1/namespaces/default/pods/p/binding",
                                    body: ["metadata": ["name": "p"], "target": ["kind": "Node", "name": "n1"]])
        #expect(bound.status == 201)
        let scheduled = await t.request(.GET, "/api/v1/namespaces/default/pods/p").json
        #expect(scheduled[path: "spec", "nodeName"] == "n1")
        #expect(scheduled[path: "status", "conditions"]?[0]?["type"] == "PodScheduled")
        #expect(scheduled[path: "status", "conditions"]?[0]?["status"] == "True")
        let again = await t.request(.POST, "/api/v1/namespaces/default/pods/p/binding",
                                    body: ["metadata": ["name": "p"], "target": ["kind": "Node", "name": "n2"]])
        #expect(again.status == 409)
        let deleting = await t.request(.DELETE, "/api/v1/namespaces/default/pods/p")
        #expect(deleting.json[path: "metadata", "deletionGracePeriodSeconds"] == 30)
        #expect(await t.request(.GET, "/api/v1/namespaces/default/pods/p").status == 200)
        // The node's agent finishes with grace period 0.
        _ = await t.request(.DELETE, "/api/v1/namespaces/default/pods/p", body: ["gracePeriodSeconds": 0])
        #expect(await t.request(.GET, "/api/v1/namespaces/default/pods/p").status == 404)
    }

    @Test func namespacesStayTerminatingUntilFinalized() async throws {
        let t = try TestServer()
        _ = await t.request(.POST, "/api/v1/namespaces", body: ["metadata": ["name": "team"]])
        let r = await t.request(.DELETE, "/api/v1/namespaces/team")
        #expect(r.status == 200)
        let ns = await t.request(.GET, "/api/v1/namespaces/team").json
        #expect(ns[path: "status", "phase"] == "Terminating")
        #expect(ns[path: "metadata", "deletionTimestamp"] != nil)
        // New content is refused while it terminates.
        let create = await t.request(.POST, "/api/v1/namespaces/team/configmaps", body: TestServer.configMap("a"))
        #expect(create.status == 403)
        // Finalizing (the namespace controller's last step) lets it go.
        var finalized = ns
        finalized[path: "spec", "finalizers"] = []
        #expect(await t.request(.PUT, "/api/v1/namespaces/team/finalize", body: finalized).status == 200)
        #expect(await t.request(.GET, "/api/v1/namespaces/team").status == 404)
    }

    @Test func systemNamespacesCannotBeDeleted() async throws {
        let t = try TestServer()
        let r = await t.request(.DELETE, "/api/v1/namespaces/default")
        #expect(r.status == 403)
    }
}
