import Foundation
import Synchronization
import Testing
import SwiftletMachinery
import SwiftletStorage
@testable import SwiftletAPIServer

@Suite struct ResourceLifecycleTests {
    @Test func systemObjectsExistFromTheStart() async throws {
        let t = try TestServer()
        let namespaces = await t.request(.GET, "/api/v1/namespaces")
        let names = namespaces.json["items"]?.arrayValue?.compactMap { $0[path: "metadata", "name"]?.stringValue }
        #expect(names == ["default", "kube-node-lease", "kube-public", "kube-system"])
        let svc = await t.request(.GET, "/api/v1/namespaces/default/services/kubernetes")
        #expect(svc.json[path: "spec", "clusterIP"] == "10.43.0.1")
        #expect(await t.request(.GET, "/api/v1/namespaces/default/endpoints/kubernetes").status == 200)
        let slice = await t.request(.GET, "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes")
        #expect(slice.json[path: "metadata", "labels", "kubernetes.io/service-name"] == "kubernetes")
        #expect(slice.json["ports"]?.arrayValue?.first?["name"] == "https")
        let dns = await t.request(.GET, "/api/v1/namespaces/kube-system/services/kube-dns")
        #expect(dns.json[path: "spec", "clusterIP"] == "10.43.0.10")
        #expect(dns.json[path: "spec", "ports"]?.arrayValue?.compactMap { $0["protocol"]?.stringValue } == ["UDP", "TCP"])
        // The DNS address is allocated: a Service asking for it is refused.
        let again = await t.request(.POST, "/api/v1/namespaces/default/services", body: [
            "metadata": ["name": "taken"], "spec": ["clusterIP": "10.43.0.10", "ports": [["port": 80]]],
        ])
        #expect(again.status == 422)
    }

    @Test func createSetsIdentityAndGeneration() async throws {
        let t = try TestServer()
        let r = await t.request(.POST, "/apis/apps/v1/namespaces/default/deployments", body: TestServer.deployment("web"))
        #expect(r.status == 201)
        let metadata = try #require(r.json["metadata"])
        #expect(metadata["uid"]?.stringValue?.count == 36)
        #expect(metadata["resourceVersion"]?.stringValue != nil)
        #expect(metadata["creationTimestamp"]?.stringValue?.hasSuffix("Z") == true)
        #expect(metadata["generation"] == 1)
        #expect(metadata["namespace"] == "default")
        // Defaults as Kubernetes applies them.
        #expect(r.json[path: "spec", "strategy", "type"] == "RollingUpdate")
        #expect(r.json[path: "spec", "revisionHistoryLimit"] == 10)
        #expect(r.json[path: "spec", "progressDeadlineSeconds"] == 600)
    }

    @Test func generateNameMakesAName() async throws {
        let t = try TestServer()
        let r = await t.request(.POST, "/api/v1/namespaces/default/configmaps",
                                body: ["metadata": ["generateName": "cfg-"], "data": ["a": "b"]])
        #expect(r.status == 201)
        let name = try #require(r.json[path: "metadata", "name"]?.stringValue)
        #expect(name.hasPrefix("cfg-") && name.count == 9)
    }

    @Test func duplicateCreateIsAlreadyExists() async throws {
        let t = try TestServer()
        _ = await t.request(.POST, "/api/v1/namespaces/default/configmaps", body: TestServer.configMap("a"))
        let again = await t.request(.POST, "/api/v1/namespaces/default/configmaps", body: TestServer.configMap("a"))
        #expect(again.status == 409)
        #expect(again.json["reason"] == "AlreadyExists")
        #expect(again.json["message"] == "configmaps \"a\" already exists")
    }

    @Test func createInMissingNamespaceIsNotFound() async throws {
        let t = try TestServer()
        let r = await t.request(.POST, "/api/v1/namespaces/nope/configmaps", body: TestServer.configMap("a"))
        #expect(r.status == 404)
        #expect(r.json["message"] == "namespaces \"nope\" not found")
    }

    @Test func updateWithStaleResourceVersionConflicts() async throws {
        let t = try TestServer()
        let created = await t.request(.POST, "/api/v1/namespaces/default/configmaps", body: TestServer.configMap("a")).json
        var first = created
        first["data"] = ["k": "first"]
        #expect(await t.request(.PUT, "/api/v1/namespaces/default/configmaps/a", body: first).status == 200)
        var stale = created
        stale["data"] = ["k": "stale"]
        let r = await t.request(.PUT, "/api/v1/namespaces/default/configmaps/a", body: stale)
        #expect(r.status == 409)
        #expect(r.json["reason"] == "Conflict")
        let now = await t.request(.GET, "/api/v1/namespaces/default/configmaps/a").json
        #expect(now[path: "data", "k"] == "first")
    }

    @Test func generationCountsSpecChangesOnly() async throws {
        let t = try TestServer()
        let base = "/apis/apps/v1/namespaces/default/deployments/web"
        _ = await t.request(.POST, "/apis/apps/v1/namespaces/default/deployments", body: TestServer.deployment("web"))
        let labelled = await t.request(.PATCH, base, body: ["metadata": ["labels": ["x": "y"]]], contentType: "application/merge-patch+json")
        #expect(labelled.json[path: "metadata", "generation"] == 1)
        let scaled = await t.request(.PATCH, base, body: ["spec": ["replicas": 3]], contentType: "application/merge-patch+json")
        #expect(scaled.json[path: "metadata", "generation"] == 2)
        // A status write changes status only, and no generation.
        var status = scaled.json
        status["status"] = ["replicas": 3]
        status["spec"] = ["replicas": 9]
        let written = await t.request(.PUT, base + "/status", body: status)
        #expect(written.json[path: "status", "replicas"] == 3)
        #expect(written.json[path: "spec", "replicas"] == 3)
        #expect(written.json[path: "metadata", "generation"] == 2)
        // And a main-resource write cannot change status.
        var spec = written.json
        spec["status"] = ["replicas": 100]
        let kept = await t.request(.PUT, base, body: spec)
        #expect(kept.json[path: "status", "replicas"] == 3)
    }

    @Test func noOpPatchDoesNotWrite() async throws {
        let t = try TestServer()
        let created = await t.request(.POST, "/api/v1/namespaces/default/configmaps", body: TestServer.configMap("a")).json
        let patched = await t.request(.PATCH, "/api/v1/namespaces/default/configmaps/a", body: [:], contentType: "application/merge-patch+json")
        #expect(patched.json[path: "metadata", "resourceVersion"] == created[path: "metadata", "resourceVersion"])
    }

    @Test func strategicMergePatchUsesMergeKeys() async throws {
        let t = try TestServer()
        let base = "/apis/apps/v1/namespaces/default/deployments/web"
        _ = await t.request(.POST, "/apis/apps/v1/namespaces/default/deployments", body: TestServer.deployment("web"))
        let patch: JSONValue = ["spec": ["template": ["spec": ["containers": [["name": "web", "env": [["name": "A", "value": "1"]]]]]]]]
        let r = await t.request(.PATCH, base, body: patch, contentType: "application/strategic-merge-patch+json")
        #expect(r.status == 200)
        let container = r.json[path: "spec", "template", "spec", "containers"]?[0]
        #expect(container?["image"] == "nginx")  // merged by name, not replaced
        #expect(container?["env"]?[0]?["name"] == "A")
    }

    @Test func jsonPatchAndScaleSubresource() async throws {
        let t = try TestServer()
        let base = "/apis/apps/v1/namespaces/default/deployments/web"
        _ = await t.request(.POST, "/apis/apps/v1/namespaces/default/deployments", body: TestServer.deployment("web"))
        let r = await t.request(.PATCH, base, body: [["op": "replace", "path": "/spec/replicas", "value": 2]], contentType: "application/json-patch+json")
        #expect(r.json[path: "spec", "replicas"] == 2)
        let scale = await t.request(.PATCH, base + "/scale", body: ["spec": ["replicas": 4]], contentType: "application/merge-patch+json")
        #expect(scale.json["kind"] == "Scale")
        #expect(scale.json[path: "spec", "replicas"] == 4)
        #expect(scale.json[path: "status", "selector"] == "app=web")
        #expect(await t.request(.GET, base).json[path: "spec", "replicas"] == 4)
        let negative = await t.request(.PATCH, base + "/scale", body: ["spec": ["replicas": -1]], contentType: "application/merge-patch+json")
        #expect(negative.status == 422)
    }

    @Test func dryRunChangesNothing() async throws {
        let t = try TestServer()
        let r = await t.request(.POST, "/api/v1/namespaces/default/configmaps?dryRun=All", body: TestServer.configMap("a"))
        #expect(r.status == 201)
        #expect(await t.request(.GET, "/api/v1/namespaces/default/configmaps/a").status == 404)
    }

    @Test func invalidObjectsAreRefusedWith422NamingTheField() async throws {
        let t = try TestServer()
        let r = await t.request(.POST, "/api/v1/namespaces/default/configmaps", body: TestServer.configMap("Bad_Name"))
        #expect(r.status == 422)
        #expect(r.json["reason"] == "Invalid")
        #expect(r.json[path: "details", "causes"]?[0]?["field"] == "metadata.name")
        #expect(r.json["message"]?.stringValue?.hasPrefix("ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\"") == true)
    }

    @Test func strictFieldValidationRefusesUnknownFields() async throws {
        let t = try TestServer()
        var body = TestServer.deployment("web")
        body[path: "spec", "replicaz"] = 3
        let strict = await t.request(.POST, "/apis/apps/v1/namespaces/default/deployments?fieldValidation=Strict", body: body)
        #expect(strict.status == 400)
        #expect(strict.json["message"] == "Deployment in version \"v1\" cannot be handled as a Deployment: strict decoding error: unknown field \"spec.replicaz\"")
        let warned = await t.request(.POST, "/apis/apps/v1/namespaces/default/deployments", body: body)
        #expect(warned.status == 201)
        #expect(warned.headers.first(name: "Warning") == "299 - \"unknown field \\\"spec.replicaz\\\"\"")
        #expect(warned.json[path: "spec", "replicaz"] == nil)
    }

    @Test func wrongTypesAreRefusedWhateverTheValidation() async throws {
        let t = try TestServer()
        var body = TestServer.deployment("web")
        body[path: "spec", "replicas"] = "three"
        let r = await t.request(.POST, "/apis/apps/v1/namespaces/default/deployments?fieldValidation=Ignore", body: body)
        #expect(r.status == 400)
        #expect(r.json["message"]?.stringValue?.contains("cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32") == true)
    }

    @Test func malformedJSONIsBadRequest() async throws {
        let t = try TestServer()
        let r = await t.request(.POST, "/api/v1/namespaces/default/configmaps", rawBody: Array("{\"metadata\":".utf8))
        #expect(r.status == 400)
        #expect(r.json["kind"] == "Status")
    }

    @Test func unauthenticatedRequestsAre401ButHealthIsOpen() async throws {
        let t = try TestServer()
        #expect(await t.request(.GET, "/api/v1/namespaces", authorized: false).status == 401)
        #expect(await t.request(.GET, "/readyz", authorized: false).status == 200)
        #expect(await t.request(.GET, "/version", authorized: false).json["major"] == "1")
    }

    @Test func aGeneratedNameThatIsTakenIsGeneratedAgain() async throws {
        let suffixes = Mutex(["aaaaa", "aaaaa", "bbbbb"] + Array(repeating: "ccccc", count: 20))
        let t = try TestServer(configure: { config in
            config.nameSuffix = { suffixes.withLock { $0.removeFirst() } }
        })
        func create() async -> TestServer.Reply {
            await t.request(.POST, "/api/v1/namespaces/default/configmaps", body: ["metadata": ["generateName": "web-"], "data": ["k": "v"]])
        }
        #expect(await create().json[path: "metadata", "name"] == "web-aaaaa")
        #expect(await create().json[path: "metadata", "name"] == "web-bbbbb")
        #expect(await create().json[path: "metadata", "name"] == "web-ccccc")
        // When every try is taken, the conflict is the client's to see.
        let exhausted = await create()
        #expect(exhausted.status == 409)
        #expect(exhausted.json["message"] == "configmaps \"web-ccccc\" already exists")
        // Eight tries for the last create: 19 suffixes were left before it.
        #expect(suffixes.withLock { $0.count } == 19 - 8)
    }
}
