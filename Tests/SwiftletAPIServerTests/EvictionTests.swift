import Foundation
import Testing
import SwiftletAPI
import SwiftletMachinery
import SwiftletTestSupport
@testable import SwiftletAPIServer

/// The eviction subresource against PodDisruptionBudgets, as kubectl drain uses it.
@Suite struct EvictionTests {
    static let pods = "/api/v1/namespaces/default/pods"
    static let pdbs = "/apis/policy/v1/namespaces/default/poddisruptionbudgets"

    static func pod(_ name: String, labels: JSONValue = ["app": "web"]) -> JSONValue {
        ["metadata": ["name": .string(name), "labels": labels], "spec": ["containers": [["name": "c", "image": "nginx"]]]]
    }

    /// A running pod (on no node, so its deletion is immediate).
    func running(_ t: TestServer, _ name: String) async {
        _ = await t.request(.POST, Self.pods, body: Self.pod(name))
        let pod = await t.request(.GET, "\(Self.pods)/\(name)").json
        var status = pod
        status["status"] = ["phase": "Running"]
        _ = await t.request(.PUT, "\(Self.pods)/\(name)/status", body: status)
    }

    func budget(_ t: TestServer, allowed: Int64) async {
        let created = await t.request(.POST, Self.pdbs, body: [
            "metadata": ["name": "web"], "spec": ["minAvailable": 1, "selector": ["matchLabels": ["app": "web"]]],
        ])
        var status = created.json
        status["status"] = ["observedGeneration": 1, "disruptionsAllowed": .int(allowed), "currentHealthy": 2, "desiredHealthy": 1, "expectedPods": 2]
        _ = await t.request(.PUT, "\(Self.pdbs)/web/status", body: status)
    }

    static let eviction: JSONValue = ["apiVersion": "policy/v1", "kind": "Eviction", "metadata": ["name": "a"]]

    @Test func anEvictionTakesADisruptionFromTheBudgetAndDeletesThePod() async throws {
        let t = try TestServer()
        await running(t, "a")
        await running(t, "b")
        await budget(t, allowed: 1)
        let evicted = await t.request(.POST, "\(Self.pods)/a/eviction", body: Self.eviction)
        #expect(evicted.status == 201)
        #expect(evicted.json["status"] == "Success")
        #expect(await t.request(.GET, "\(Self.pods)/a").status == 404)
        let pdb = await t.request(.GET, "\(Self.pdbs)/web").json
        #expect(pdb[path: "status", "disruptionsAllowed"] == 0)
        #expect(pdb[path: "status", "disruptedPods", "a"] != nil)

        // The budget is spent: 429, naming it.
        var second = Self.eviction
        second[path: "metadata", "name"] = "b"
        let refused = await t.request(.POST, "\(Self.pods)/b/eviction", body: second)
        #expect(refused.status == 429)
        #expect(refused.json["message"] == "Cannot evict pod as it would violate the pod's disruption budget.")
        #expect(refused.json[path: "details", "causes"] == [["reason": "DisruptionBudget", "message": "The disruption budget web needs 1 healthy pods and has 2 currently"]])
        #expect(await t.request(.GET, "\(Self.pods)/b").status == 200)
    }

    @Test func evictionsComeAsProtobufAndPodsThatAreNotRunningIgnoreBudgets() async throws {
        let t = try TestServer()
        _ = await t.request(.POST, Self.pods, body: Self.pod("pending"))
        await budget(t, allowed: 0)
        // policy/v1 Eviction{metadata{name}} as kubectl drain sends it.
        let body = PB.body("policy/v1", "Eviction", [.message(1, [.string(1, "pending")])])
        let evicted = await t.request(.POST, "\(Self.pods)/pending/eviction", rawBody: body, contentType: KubernetesProtobuf.mediaType)
        #expect(evicted.status == 201)
        #expect(await t.request(.GET, "\(Self.pods)/pending").status == 404)
        #expect(await t.request(.POST, "\(Self.pods)/gone/eviction", body: Self.eviction).status == 400)  // names differ
        var missing = Self.eviction
        missing[path: "metadata", "name"] = "gone"
        #expect(await t.request(.POST, "\(Self.pods)/gone/eviction", body: missing).status == 404)
    }

    @Test func budgetsAreValidatedAndPrinted() async throws {
        let t = try TestServer()
        let both = await t.request(.POST, Self.pdbs, body: [
            "metadata": ["name": "x"], "spec": ["minAvailable": 1, "maxUnavailable": "150%", "selector": [:]],
        ])
        #expect(both.status == 422)
        let messages = both.json["message"]?.stringValue ?? ""
        #expect(messages.contains("minAvailable and maxUnavailable cannot be both set"))
        #expect(messages.contains(#"spec.maxUnavailable: Invalid value: "150%": must not be greater than 100%"#))
        await budget(t, allowed: 1)
        let table = await t.request(.GET, Self.pdbs, accept: "application/json;as=Table;v=v1;g=meta.k8s.io")
        #expect(table.json["columnDefinitions"]?.arrayValue?.compactMap { $0["name"]?.stringValue }
                    == ["Name", "Min Available", "Max Unavailable", "Allowed Disruptions", "Age"])
        #expect(table.json["rows"]?[0]?["cells"]?.arrayValue?.prefix(4).map { $0 } == ["web", "1", "N/A", 1])
    }
}
