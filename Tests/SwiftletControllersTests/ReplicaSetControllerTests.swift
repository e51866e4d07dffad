import Foundation
import Testing
import SwiftletAPI
@testable import SwiftletClient
@testable import SwiftletControllers
import SwiftletMachinery

@Suite struct ReplicaSetControllerTests {
    typealias H = ReplicaSetHarness

    @Test func createsReplicasFromTheTemplateWithOwnerReferencesAndEvents() async throws {
        let h = try H()
        let rs = try await h.create(H.replicaSet("web", replicas: 3))
        #expect(await h.start())
        defer { h.stop() }
        try await h.controller.sync(h.key("web"))
        #expect(await h.until { h.ownedPods("web").count == 3 })
        // A second sync right away must not create more: expectations or the cache stop it.
        try await h.controller.sync(h.key("web"))
        try await h.settle("web")
        let pods = try await h.client.list(Resources.pods, namespace: "default").items
        #expect(pods.count == 3)
        for pod in pods {
            let name = rsName(pod)
            #expect(name.hasPrefix("web-") && name.count == "web-".count + 5)
            #expect(pod[path: "metadata", "generateName"] == "web-")
            #expect(pod[path: "metadata", "labels"] == ["app": "web"])
            #expect(pod[path: "metadata", "ownerReferences"] == [[
                "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": rs[path: "metadata", "uid"]!,
                "controller": true, "blockOwnerDeletion": true,
            ]])
        }
        let events = try await h.events(reason: "SuccessfulCreate")
        #expect(Set(events.compactMap { $0["message"]?.stringValue }) == Set(pods.map { "Created pod: \(rsName($0))" }))
        #expect(events.allSatisfy { $0[path: "source", "component"] == "replicaset-controller" && $0["type"] == "Normal" })
        #expect(events.allSatisfy { $0[path: "involvedObject", "kind"] == "ReplicaSet" && $0[path: "involvedObject", "name"] == "web" })

        let status = try await h.client.get(Resources.replicasets, namespace: "default", name: "web")["status"]
        #expect(status?["replicas"] == 3)
        #expect(status?["fullyLabeledReplicas"] == 3)
        #expect(status?["observedGeneration"] == 1)
        #expect(status?["readyReplicas"] == nil)
    }

    @Test func deletedPodsAreReplaced() async throws {
        let h = try H()
        try await h.create(H.replicaSet("web", replicas: 3))
        #expect(await h.start())
        defer { h.stop() }
        try await h.controller.sync(h.key("web"))
        #expect(await h.until { h.ownedPods("web").count == 3 })
        let doomed = h.ownedPods("web").prefix(2).map(rsName)
        for name in doomed { try await h.client.delete(Resources.pods, namespace: "default", name: name) }
        #expect(await h.until { h.ownedPods("web").count == 1 })
        try await h.settle("web")
        #expect(await h.until { h.ownedPods("web").count == 3 })
        let names = Set(h.ownedPods("web").map(rsName))
        #expect(names.isDisjoint(with: doomed))
        #expect(try await h.events(reason: "SuccessfulCreate").count == 5)
    }

    @Test func scaleDownDeletesUnscheduledThenPendingAndKeepsTheReadyPod() async throws {
        let h = try H()
        try await h.create(H.replicaSet("web", replicas: 3))
        #expect(await h.start())
        defer { h.stop() }
        try await h.controller.sync(h.key("web"))
        #expect(await h.until { h.ownedPods("web").count == 3 })
        let pods = h.ownedPods("web")
        let (unscheduled, pending, ready) = (pods[0], pods[1], pods[2])
        try await h.runPod(pending, node: "node-1", phase: "Pending", ready: false)
        try await h.runPod(ready, node: "node-2", phase: "Running", ready: true)
        #expect(await h.until { h.ownedPods("web").filter(PodState.isReady).count == 1 })
        try await h.settle("web")

        _ = try await h.client.patch(Resources.replicasets, namespace: "default", name: "web", .merge(["spec": ["replicas": 1]]))
        #expect(await h.until { h.owners.get(h.key("web"))?[path: "spec", "replicas"] == 1 })
        try await h.settle("web")
        #expect(await h.until { h.ownedPods("web").count == 1 })
        #expect(h.ownedPods("web").map(rsName) == [rsName(ready)])
        let deleted = try await h.events(reason: "SuccessfulDelete").compactMap { $0["message"]?.stringValue }
        #expect(Set(deleted) == ["Deleted pod: \(rsName(unscheduled))", "Deleted pod: \(rsName(pending))"])
        // The unscheduled pod is gone at once; the bound one is terminating (grace period).
        let remaining = try await h.client.list(Resources.pods, namespace: "default").items
        #expect(remaining.first { rsName($0) == rsName(pending) }?[path: "metadata", "deletionTimestamp"] != nil)
        #expect(!remaining.contains { rsName($0) == rsName(unscheduled) })

        let status = try await h.client.get(Resources.replicasets, namespace: "default", name: "web")["status"]
        #expect(status?["replicas"] == 1)
        #expect(status?["readyReplicas"] == 1)
        #expect(status?["availableReplicas"] == 1)
        #expect(status?["observedGeneration"] == 2)
    }

    @Test func matchingOrphansAreAdoptedAndCount() async throws {
        let h = try H()
        _ = try await h.client.create(Resources.pods, namespace: "default", H.pod("orphan", labels: ["app": "web"]))
        _ = try await h.client.create(Resources.pods, namespace: "default", H.pod("stranger", labels: ["app": "other"]))
        let rs = try await h.create(H.replicaSet("web", replicas: 2))
        #expect(await h.start())
        defer { h.stop() }
        try await h.settle("web")
        #expect(await h.until { h.ownedPods("web").count == 2 })
        let orphan = try await h.client.get(Resources.pods, namespace: "default", name: "orphan")
        #expect(orphan[path: "metadata", "ownerReferences"] == [[
            "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": rs[path: "metadata", "uid"]!,
            "controller": true, "blockOwnerDeletion": true,
        ]])
        let stranger = try await h.client.get(Resources.pods, namespace: "default", name: "stranger")
        #expect(stranger[path: "metadata", "ownerReferences"] == nil)
        #expect(try await h.client.list(Resources.pods, namespace: "default").items.count == 3)
        #expect(try await h.events(reason: "SuccessfulCreate").count == 1)
    }

    @Test func aPodThatStopsMatchingIsReleasedAndReplaced() async throws {
        let h = try H()
        try await h.create(H.replicaSet("web", replicas: 2))
        #expect(await h.start())
        defer { h.stop() }
        try await h.settle("web")
        #expect(await h.until { h.ownedPods("web").count == 2 })
        let leaving = rsName(h.ownedPods("web")[0])
        _ = try await h.client.patch(Resources.pods, namespace: "default", name: leaving,
                                     .merge(["metadata": ["labels": ["app": "debug"]]]))
        #expect(await h.until { h.pods.get(h.key(leaving))?[path: "metadata", "labels", "app"] == "debug" })
        try await h.settle("web")
        #expect(await h.until { h.ownedPods("web").count == 2 && !h.ownedPods("web").map(rsName).contains(leaving) })
        let released = try await h.client.get(Resources.pods, namespace: "default", name: leaving)
        #expect(released[path: "metadata", "ownerReferences"] == nil)
        #expect(try await h.client.list(Resources.pods, namespace: "default").items.count == 3)
    }

    @Test func availabilityWaitsForMinReadySeconds() async throws {
        let h = try H()
        try await h.create(H.replicaSet("web", replicas: 2, minReadySeconds: 10))
        #expect(await h.start())
        defer { h.stop() }
        try await h.settle("web")
        #expect(await h.until { h.ownedPods("web").count == 2 })
        for (i, pod) in h.ownedPods("web").enumerated() {
            try await h.runPod(pod, node: "node-\(i)", phase: "Running", ready: true, readySince: h.clock.now)
        }
        #expect(await h.until { h.ownedPods("web").allSatisfy(PodState.isReady) })
        try await h.controller.sync(h.key("web"))
        var status = try await h.client.get(Resources.replicasets, namespace: "default", name: "web")["status"]
        #expect(status?["readyReplicas"] == 2)
        #expect(status?["availableReplicas"] == nil)

        h.clock.advance(by: .seconds(11))
        try await h.controller.sync(h.key("web"))
        status = try await h.client.get(Resources.replicasets, namespace: "default", name: "web")["status"]
        #expect(status?["availableReplicas"] == 2)
        #expect(status?["replicas"] == 2)
        #expect(status?["fullyLabeledReplicas"] == 2)
    }

    @Test func statusIsWrittenOnlyWhenItChanges() async throws {
        let h = try H()
        try await h.create(H.replicaSet("web", replicas: 1))
        #expect(await h.start())
        defer { h.stop() }
        try await h.settle("web")
        #expect(await h.until { h.owners.get(h.key("web"))?[path: "status", "replicas"] == 1 })
        let before = try await h.client.get(Resources.replicasets, namespace: "default", name: "web")
        try await h.controller.sync(h.key("web"))
        let after = try await h.client.get(Resources.replicasets, namespace: "default", name: "web")
        #expect(before[path: "metadata", "resourceVersion"] == after[path: "metadata", "resourceVersion"])
    }

    @Test func aReplicaSetBeingDeletedIsLeftAlone() async throws {
        let h = try H()
        var rs = H.replicaSet("web", replicas: 2)
        rs[path: "metadata", "finalizers"] = ["example.com/hold"]
        try await h.create(rs)
        try await h.client.delete(Resources.replicasets, namespace: "default", name: "web")
        #expect(await h.start())
        defer { h.stop() }
        #expect(h.owners.get(h.key("web"))?[path: "metadata", "deletionTimestamp"] != nil)
        try await h.controller.sync(h.key("web"))
        #expect(try await h.client.list(Resources.pods, namespace: "default").items.isEmpty)
    }

    @Test func replicationControllersUseTheirMapSelector() async throws {
        let h = try H(kind: .replicationController)
        #expect(h.controller.name == "replicationcontroller")
        _ = try await h.client.create(Resources.pods, namespace: "default", H.pod("orphan", labels: ["app": "rc"]))
        let rc = try await h.create(H.replicationController("rc", replicas: 3))
        #expect(await h.start())
        defer { h.stop() }
        try await h.settle("rc")
        #expect(await h.until { h.ownedPods("rc").count == 3 })
        try await h.settle("rc")
        let pods = try await h.client.list(Resources.pods, namespace: "default").items
        #expect(pods.count == 3)
        for pod in pods {
            #expect(pod[path: "metadata", "ownerReferences"] == [[
                "apiVersion": "v1", "kind": "ReplicationController", "name": "rc", "uid": rc[path: "metadata", "uid"]!,
                "controller": true, "blockOwnerDeletion": true,
            ]])
        }
        let created = pods.filter { rsName($0) != "orphan" }
        #expect(created.allSatisfy { $0[path: "metadata", "labels"] == ["app": "rc", "extra": "yes"] })
        let events = try await h.events(reason: "SuccessfulCreate")
        #expect(events.count == 2)
        #expect(events.allSatisfy { $0[path: "source", "component"] == "replication-controller" })
        let status = try await h.client.get(Resources.replicationcontrollers, namespace: "default", name: "rc")["status"]
        #expect(status?["replicas"] == 3)
        #expect(status?["fullyLabeledReplicas"] == 2)  // the adopted orphan lacks the template's "extra" label
        #expect(status?["observedGeneration"] == 1)
    }

    /// The controller as the manager runs it: handlers enqueue, workers sync.
    @Test func theRunningControllerConverges() async throws {
        let h = try H()
        #expect(h.controller.name == "replicaset")
        #expect(await h.start())
        defer { h.stop() }
        let running = Task { await h.controller.run(workers: 2) }
        defer { running.cancel() }
        try await h.create(H.replicaSet("web", replicas: 3))
        #expect(await h.until { h.ownedPods("web").count == 3 })
        try await h.client.delete(Resources.pods, namespace: "default", name: rsName(h.ownedPods("web")[0]))
        #expect(await h.until { h.ownedPods("web").count == 3 && h.owners.get(h.key("web"))?[path: "status", "replicas"] == 3 })
        _ = try await h.client.patch(Resources.replicasets, namespace: "default", name: "web", .merge(["spec": ["replicas": 1]]))
        #expect(await h.until { h.ownedPods("web").count == 1 && h.owners.get(h.key("web"))?[path: "status", "replicas"] == 1 })
        // Nothing more happens once it has converged.
        try await Task.sleep(for: .milliseconds(50))
        #expect(try await h.client.list(Resources.pods, namespace: "default").items.count == 1)
        running.cancel()
        await running.value
    }
}
