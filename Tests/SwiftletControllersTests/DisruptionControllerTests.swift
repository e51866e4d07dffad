import Foundation
import SwiftletTestSupport
import Testing
import SwiftletAPI
import SwiftletAPIServer
@testable import SwiftletClient
@testable import SwiftletControllers
import SwiftletMachinery

/// PodDisruptionBudget status as upstream's disruption controller computes it.
@Suite struct DisruptionControllerTests {
    struct Harness {
        let client: APIClient
        let clock = ManualClock()
        let informers: SharedInformerFactory
        let controller: DisruptionController

        init() throws {
            let api = try InProcessAPI()
            client = api.client
            informers = SharedInformerFactory(client: client, clock: clock, log: ClientLog.discard)
            controller = DisruptionController(context: ControllerContext(client: client, informers: informers, clock: clock, log: ClientLog.discard))
        }

        func pod(_ name: String, ready: Bool, owner: JSONValue? = nil) async throws {
            var pod: JSONValue = ["metadata": ["name": .string(name), "labels": ["app": "web"]],
                                  "spec": ["containers": [["name": "c", "image": "nginx"]]]]
            if let owner { pod[path: "metadata", "ownerReferences"] = [owner] }
            let created = try await client.create(Resources.pods, namespace: "default", pod)
            var status = created
            status["status"] = ["phase": "Running", "conditions": [["type": "Ready", "status": ready ? "True" : "False"]]]
            _ = try await client.update(Resources.pods, status, subresource: "status")
        }

        /// Pods whose status the informer has seen written.
        var runningPods: Int {
            informers.informer(for: Resources.pods).list().filter { $0[path: "status", "phase"] == "Running" }.count
        }

        func budget(_ spec: JSONValue) async throws -> JSONValue {
            var spec = spec
            spec["selector"] = ["matchLabels": ["app": "web"]]
            return try await client.create(Resources.poddisruptionbudgets, namespace: "default", ["metadata": ["name": "web"], "spec": spec])
        }

        func statusAfterSync() async throws -> JSONValue {
            _ = await eventually { informers.informer(for: Resources.poddisruptionbudgets).list().count == 1 }
            try await controller.sync(ObjectKey(namespace: "default", name: "web"))
            return try await client.get(Resources.poddisruptionbudgets, namespace: "default", name: "web")["status"] ?? .null
        }
    }

    @Test func aCountNeedsThatManyHealthyPods() async throws {
        let h = try Harness()
        h.informers.start()
        defer { h.informers.shutDown() }
        #expect(await h.informers.waitForSync())
        try await h.pod("a", ready: true)
        try await h.pod("b", ready: true)
        try await h.pod("c", ready: false)
        _ = try await h.budget(["minAvailable": 2])
        #expect(await eventually { h.runningPods == 3 })
        let status = try await h.statusAfterSync()
        #expect(status["currentHealthy"] == 2)
        #expect(status["desiredHealthy"] == 2)
        #expect(status["expectedPods"] == 3)
        #expect(status["disruptionsAllowed"] == 0)
        #expect(status["observedGeneration"] == 1)
        #expect(status["conditions"]?[0]?["reason"] == "InsufficientPods")
    }

    @Test func aPercentageIsOfTheControllersScale() async throws {
        let h = try Harness()
        h.informers.start()
        defer { h.informers.shutDown() }
        #expect(await h.informers.waitForSync())
        let rs = try await h.client.create(Resources.replicasets, namespace: "default", [
            "metadata": ["name": "web"],
            "spec": ["replicas": 4, "selector": ["matchLabels": ["app": "web"]],
                     "template": ["metadata": ["labels": ["app": "web"]], "spec": ["containers": [["name": "c", "image": "nginx"]]]]],
        ])
        let owner: JSONValue = ["apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": rs[path: "metadata", "uid"] ?? "", "controller": true]
        for name in ["a", "b", "c"] { try await h.pod(name, ready: true, owner: owner) }
        _ = try await h.budget(["maxUnavailable": "25%"])
        #expect(await eventually { h.runningPods == 3 && h.informers.informer(for: Resources.replicasets).list().count == 1 })
        let status = try await h.statusAfterSync()
        // 4 expected (the ReplicaSet's scale), 25% of 4 may be unavailable: 3 must be healthy.
        #expect(status["expectedPods"] == 4)
        #expect(status["desiredHealthy"] == 3)
        #expect(status["disruptionsAllowed"] == 0)
    }
}
