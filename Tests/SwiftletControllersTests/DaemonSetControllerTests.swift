import Foundation
import Testing
import SwiftletAPI
@testable import SwiftletClient
@testable import SwiftletControllers
import SwiftletMachinery

@Suite struct DaemonSetControllerTests {
    typealias H = DaemonSetHarness

    @Test func createsOnePodPerNodeBoundThroughNodeAffinity() async throws {
        let h = try H()
        for name in ["n1", "n2", "n3"] { try await h.createNode(name) }
        let ds = try await h.create(H.daemonSet("agent"))
        #expect(await h.start())
        defer { h.stop() }
        try await h.settle("agent")
        #expect(await h.until { h.ownedPods("agent").count == 3 })
        try await h.settle("agent")
        #expect(h.targetNodes("agent") == ["n1", "n2", "n3"])

        let revisions = try await h.revisions()
        #expect(revisions.count == 1)
        let hash = revisions.first?[path: "metadata", "labels", "controller-revision-hash"]?.stringValue ?? "?"
        let pods = try await h.client.list(Resources.pods, namespace: "default").items
        #expect(pods.count == 3)
        for pod in pods {
            #expect(dsName(pod).hasPrefix("agent-"))
            #expect(pod[path: "metadata", "generateName"] == "agent-")
            #expect(pod[path: "spec", "nodeName"] == nil)
            #expect(pod[path: "metadata", "labels"] == ["app": "agent", "controller-revision-hash": .string(hash),
                                                        "pod-template-generation": "1"])
            #expect(pod[path: "metadata", "ownerReferences"] == [[
                "apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent", "uid": ds[path: "metadata", "uid"]!,
                "controller": true, "blockOwnerDeletion": true,
            ]])
            let terms = pod[path: "spec", "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms"]
            #expect(terms?.arrayValue?.count == 1)
            #expect(terms?[0]?["matchFields"]?[0]?["key"] == "metadata.name")
            #expect(terms?[0]?["matchFields"]?[0]?["operator"] == "In")
            let tolerations = pod[path: "spec", "tolerations"]?.arrayValue ?? []
            #expect(tolerations.contains { $0["key"] == "node.kubernetes.io/not-ready" && $0["effect"] == "NoExecute" })
            #expect(tolerations.contains { $0["key"] == "node.kubernetes.io/unschedulable" && $0["effect"] == "NoSchedule" })
            #expect(!tolerations.contains { $0["key"] == "node.kubernetes.io/network-unavailable" })
        }
        let events = try await h.events(reason: "SuccessfulCreate")
        #expect(Set(events.compactMap { $0["message"]?.stringValue }) == Set(pods.map { "Created pod: \(dsName($0))" }))
        #expect(events.allSatisfy { $0[path: "source", "component"] == "daemonset-controller" })
    }

    @Test func nodeSelectorDecidesWhichNodesRunThePod() async throws {
        let h = try H()
        for name in ["n1", "n2"] { try await h.createNode(name) }
        try await h.create(H.daemonSet("agent"))
        #expect(await h.start())
        defer { h.stop() }
        try await h.settle("agent")
        #expect(await h.until { h.ownedPods("agent").count == 2 })

        // No node matches any more: the pods go.
        _ = try await h.client.patch(Resources.daemonsets, namespace: "default", name: "agent",
                                     .merge(["spec": ["template": ["spec": ["nodeSelector": ["disk": "ssd"]]]]]))
        #expect(await h.until { h.daemonSets.get(h.key("agent"))?[path: "metadata", "generation"] == 2 })
        try await h.settle("agent")
        #expect(await h.until { h.ownedPods("agent").isEmpty })
        #expect(try await h.events(reason: "SuccessfulDelete").count == 2)
        #expect(try await h.status("agent")?["desiredNumberScheduled"] == 0)

        // Labelling a node brings a pod there.
        _ = try await h.client.patch(Resources.nodes, name: "n2", .merge(["metadata": ["labels": ["disk": "ssd"]]]))
        #expect(await h.until { h.nodes.get(namespace: nil, name: "n2")?[path: "metadata", "labels", "disk"] == "ssd" })
        try await h.settle("agent")
        #expect(await h.until { h.targetNodes("agent") == ["n2"] })
        #expect(h.ownedPods("agent").first?[path: "metadata", "labels", "pod-template-generation"] == "2")
    }

    @Test func deletedAndFailedPodsAreReplaced() async throws {
        let h = try H()
        for name in ["n1", "n2"] { try await h.createNode(name) }
        try await h.create(H.daemonSet("agent"))
        #expect(await h.start())
        defer { h.stop() }
        try await h.settle("agent")
        #expect(await h.until { h.ownedPods("agent").count == 2 })
        let doomed = dsName(h.ownedPods("agent")[0])
        try await h.client.delete(Resources.pods, namespace: "default", name: doomed)
        #expect(await h.until { h.ownedPods("agent").count == 1 })
        try await h.settle("agent")
        #expect(await h.until { h.ownedPods("agent").count == 2 })
        #expect(h.targetNodes("agent") == ["n1", "n2"])
        #expect(!h.ownedPods("agent").map(dsName).contains(doomed))

        // A failed pod is deleted, then replaced.
        var failed = h.ownedPods("agent")[0]
        failed[path: "status", "phase"] = "Failed"
        _ = try await h.client.update(Resources.pods, failed, subresource: "status")
        #expect(await h.until { h.ownedPods("agent").count == 1 })
        try await h.settle("agent")
        try await h.settle("agent")
        #expect(await h.until { h.ownedPods("agent").count == 2 })
        #expect(h.targetNodes("agent") == ["n1", "n2"])
        #expect(try await h.events(reason: "FailedDaemonPod").count == 1)
    }

    @Test func extraPodsOnANodeAreDeletedKeepingTheOldest() async throws {
        let h = try H()
        try await h.createNode("n1")
        try await h.create(H.daemonSet("agent"))
        #expect(await h.start())
        defer { h.stop() }
        try await h.settle("agent")
        #expect(await h.until { h.ownedPods("agent").count == 1 })
        try await h.runReady(h.ownedPods("agent")[0])
        #expect(await h.until { h.ownedPods("agent").first.map(PodState.isReady) == true })
        let original = h.ownedPods("agent")[0]
        // A second pod for the same node, made as the controller would.
        var copy = original
        copy["metadata"] = ["generateName": "agent-", "namespace": "default",
                            "labels": original[path: "metadata", "labels"]!,
                            "ownerReferences": original[path: "metadata", "ownerReferences"]!]
        copy["status"] = nil
        copy[path: "spec", "nodeName"] = nil
        _ = try await h.client.create(Resources.pods, namespace: "default", copy)
        #expect(await h.until { h.ownedPods("agent").count == 2 })
        try await h.settle("agent")
        #expect(await h.until { h.ownedPods("agent").count == 1 })
        #expect(h.ownedPods("agent").map(dsName) == [dsName(original)])
    }

    @Test func orphanedPodsOfTheSameTemplateAreAdoptedNotReplaced() async throws {
        let h = try H()
        for name in ["n1", "n2"] { try await h.createNode(name) }
        let first = try await h.create(H.daemonSet("agent"))
        #expect(await h.start())
        defer { h.stop() }
        try await h.settle("agent")
        #expect(await h.until { h.ownedPods("agent").count == 2 })
        let podNames = Set(h.ownedPods("agent").map(dsName))
        let oldHash = try await h.revisions().first?[path: "metadata", "labels", "controller-revision-hash"]

        // `kubectl delete ds --cascade=orphan`: the DaemonSet goes, the garbage collector strips
        // the owner references from its pods and revisions.
        try await h.client.delete(Resources.daemonsets, namespace: "default", name: "agent")
        #expect(await h.until { h.daemonSets.get(h.key("agent")) == nil })
        for pod in try await h.client.list(Resources.pods, namespace: "default").items {
            _ = try await h.client.patch(Resources.pods, namespace: "default", name: dsName(pod),
                                         .json([["op": "remove", "path": "/metadata/ownerReferences"]]))
        }
        for revision in try await h.revisions() {
            _ = try await h.client.patch(Resources.controllerrevisions, namespace: "default", name: dsName(revision),
                                         .json([["op": "remove", "path": "/metadata/ownerReferences"]]))
        }

        // Re-applied: the same template adopts the pods and the revision.
        let second = try await h.create(H.daemonSet("agent"))
        #expect(second[path: "metadata", "uid"] != first[path: "metadata", "uid"])
        #expect(await h.until { h.daemonSets.get(h.key("agent"))?[path: "metadata", "uid"] == second[path: "metadata", "uid"] })
        #expect(await h.until { h.pods.list().allSatisfy { $0[path: "metadata", "ownerReferences"] == nil } })
        #expect(await h.until {
            h.informers.informer(for: Resources.controllerrevisions).list().allSatisfy { $0[path: "metadata", "ownerReferences"] == nil }
        })
        // Two syncs at once, the second on a cache that has not seen the first one's adoptions.
        async let one: Void = h.controller.sync(h.key("agent"))
        async let two: Void = h.controller.sync(h.key("agent"))
        _ = try await (one, two)
        try await h.settle("agent")
        #expect(await h.until { h.ownedPods("agent").count == 2 })
        try await h.settle("agent")
        #expect(Set(h.ownedPods("agent").map(dsName)) == podNames)
        #expect(try await h.client.list(Resources.pods, namespace: "default").items.count == 2)
        #expect(try await h.events(reason: "SuccessfulCreate").count == 2)
        let revisions = try await h.revisions()
        #expect(revisions.count == 1)
        #expect(revisions.first?[path: "metadata", "labels", "controller-revision-hash"] == oldHash)
        #expect(revisions.first?[path: "metadata", "ownerReferences"]?[0]?["uid"] == second[path: "metadata", "uid"])
        let status = try await h.status("agent")
        #expect(status?["updatedNumberScheduled"] == 2)
        #expect(status?["currentNumberScheduled"] == 2)
    }

    @Test func aRevisionStillOwnedByADeletedNamesakeIsWaitedForNotACollision() async throws {
        let h = try H()
        try await h.createNode("n1")
        try await h.create(H.daemonSet("agent"))
        #expect(await h.start())
        defer { h.stop() }
        try await h.settle("agent")
        #expect(await h.until { h.ownedPods("agent").count == 1 })
        try await h.client.delete(Resources.daemonsets, namespace: "default", name: "agent")
        #expect(await h.until { h.daemonSets.get(h.key("agent")) == nil })
        // Re-created before the garbage collector has orphaned the old revision and pod.
        try await h.create(H.daemonSet("agent"))
        #expect(await h.until { h.daemonSets.get(h.key("agent")) != nil })
        await #expect(throws: APIError.self) { try await h.controller.sync(h.key("agent")) }
        #expect(try await h.status("agent")?["collisionCount"] == nil)
        #expect(try await h.revisions().count == 1)
    }

    @Test func taintedNodesWithoutTolerationGetNoPod() async throws {
        let h = try H()
        try await h.createNode("n1")
        try await h.createNode("dedicated", taints: [["key": "dedicated", "value": "db", "effect": "NoSchedule"]])
        try await h.createNode("notready", taints: [["key": "node.kubernetes.io/not-ready", "effect": "NoExecute"]])
        try await h.createNode("cordoned", taints: [["key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"]])
        try await h.create(H.daemonSet("agent"))
        #expect(await h.start())
        defer { h.stop() }
        try await h.settle("agent")
        #expect(await h.until { h.ownedPods("agent").count == 3 })
        try await h.settle("agent")
        #expect(h.targetNodes("agent") == ["cordoned", "n1", "notready"])
        #expect(try await h.status("agent")?["desiredNumberScheduled"] == 3)

        // With a toleration, the dedicated node gets one too.
        _ = try await h.client.patch(Resources.daemonsets, namespace: "default", name: "agent", .merge(["spec": ["template": ["spec": [
            "tolerations": [["key": "dedicated", "operator": "Exists", "effect": "NoSchedule"]]]]]]))
        #expect(await h.until { h.daemonSets.get(h.key("agent"))?[path: "metadata", "generation"] == 2 })
        try await h.settle("agent")
        #expect(await h.until { h.targetNodes("agent").contains("dedicated") })
    }

    @Test func statusCountsScheduledReadyAndMisscheduledPods() async throws {
        let h = try H()
        try await h.createNode("n1", labels: ["role": "worker"])
        try await h.createNode("n2", labels: ["role": "worker"])
        try await h.createNode("n3")
        try await h.create(H.daemonSet("agent", nodeSelector: ["role": "worker"]))
        #expect(await h.start())
        defer { h.stop() }
        try await h.settle("agent")
        #expect(await h.until { h.ownedPods("agent").count == 2 })
        try await h.runReady(h.ownedPods("agent").first { DaemonSetController.Placement.targetNode(of: $0) == "n1" }!)
        #expect(await h.until { h.ownedPods("agent").contains(where: PodState.isReady) })
        try await h.settle("agent")
        var status = try await h.status("agent")
        #expect(status?["desiredNumberScheduled"] == 2)
        #expect(status?["currentNumberScheduled"] == 2)
        #expect(status?["numberMisscheduled"] == 0)
        #expect(status?["numberReady"] == 1)
        #expect(status?["numberAvailable"] == 1)
        #expect(status?["numberUnavailable"] == 1)
        #expect(status?["updatedNumberScheduled"] == 2)
        #expect(status?["observedGeneration"] == 1)

        // A NoSchedule taint keeps the running pod (misscheduled, not deleted).
        _ = try await h.client.patch(Resources.nodes, name: "n2", .merge(["spec": ["taints": [["key": "x", "effect": "NoSchedule"]]]]))
        #expect(await h.until { h.nodes.get(namespace: nil, name: "n2")?[path: "spec", "taints"] != nil })
        try await h.settle("agent")
        status = try await h.status("agent")
        #expect(status?["desiredNumberScheduled"] == 1)
        #expect(status?["numberMisscheduled"] == 1)
        #expect(h.ownedPods("agent").count == 2)
        // NoExecute evicts it.
        _ = try await h.client.patch(Resources.nodes, name: "n2", .merge(["spec": ["taints": [["key": "x", "effect": "NoExecute"]]]]))
        #expect(await h.until { h.nodes.get(namespace: nil, name: "n2")?[path: "spec", "taints"]?[0]?["effect"] == "NoExecute" })
        try await h.settle("agent")
        #expect(await h.until { h.targetNodes("agent") == ["n1"] })
    }

    @Test func revisionsFollowTheTemplateAndHistoryIsTrimmed() async throws {
        let h = try H()
        try await h.createNode("n1")
        var spec = H.daemonSet("agent", strategy: ["type": "OnDelete"])
        spec[path: "spec", "revisionHistoryLimit"] = 1
        let ds = try await h.create(spec)
        #expect(await h.start())
        defer { h.stop() }
        try await h.settle("agent")
        var revisions = try await h.revisions()
        #expect(revisions.count == 1)
        let first = try #require(revisions.first)
        let hash = first[path: "metadata", "labels", "controller-revision-hash"]?.stringValue ?? ""
        #expect(dsName(first) == "agent-\(hash)")
        #expect(first["revision"] == 1)
        #expect(first[path: "data", "spec", "template", "$patch"] == "replace")
        #expect(first[path: "data", "spec", "template", "spec", "containers"]?[0]?["image"] == "nginx")
        #expect(first[path: "metadata", "ownerReferences"]?[0]?["uid"] == ds[path: "metadata", "uid"])
        #expect(await h.until { h.ownedPods("agent").count == 1 })
        let oldPod = dsName(h.ownedPods("agent")[0])

        for (generation, image) in [(2, "nginx:2"), (3, "nginx:3")] {
            _ = try await h.client.patch(Resources.daemonsets, namespace: "default", name: "agent", .merge(["spec": ["template": ["spec": [
                "containers": [["name": "c", "image": .string(image)]]]]]]))
            #expect(await h.until { h.daemonSets.get(h.key("agent"))?[path: "metadata", "generation"] == .int(Int64(generation)) })
            try await h.settle("agent")
            #expect(await h.until { h.informers.informer(for: Resources.controllerrevisions).list().count >= 2 })
        }
        revisions = try await h.revisions()
        // Revision 1 is kept (the running pod carries its hash); revision 2 is trimmed.
        #expect(Set(revisions.compactMap { $0["revision"]?.intValue }) == [1, 3])
        // OnDelete: the old pod stays until deleted by hand.
        #expect(h.ownedPods("agent").map(dsName) == [oldPod])
        #expect(try await h.status("agent")?["updatedNumberScheduled"] == nil)

        // Rolling back to the first template reuses revision 1, renumbered.
        _ = try await h.client.patch(Resources.daemonsets, namespace: "default", name: "agent", .merge(["spec": ["template": ["spec": [
            "containers": [["name": "c", "image": "nginx"]]]]]]))
        #expect(await h.until { h.daemonSets.get(h.key("agent"))?[path: "metadata", "generation"] == 4 })
        try await h.settle("agent")
        revisions = try await h.revisions()
        #expect(revisions.first { dsName($0) == "agent-\(hash)" }?["revision"] == 4)
        #expect(try await h.status("agent")?["updatedNumberScheduled"] == 1)
    }

    @Test func rollingUpdateReplacesOldPodsOneAtATime() async throws {
        let h = try H()
        for name in ["n1", "n2", "n3"] { try await h.createNode(name) }
        try await h.create(H.daemonSet("agent"))
        #expect(await h.start())
        defer { h.stop() }
        try await h.settle("agent")
        #expect(await h.until { h.ownedPods("agent").count == 3 })
        for pod in h.ownedPods("agent") { try await h.runReady(pod) }
        #expect(await h.until { h.ownedPods("agent").allSatisfy(PodState.isReady) })
        let oldHash = h.ownedPods("agent")[0][path: "metadata", "labels", "controller-revision-hash"]

        _ = try await h.client.patch(Resources.daemonsets, namespace: "default", name: "agent", .merge(["spec": ["template": ["spec": [
            "containers": [["name": "c", "image": "nginx:2"]]]]]]))
        #expect(await h.until { h.daemonSets.get(h.key("agent"))?[path: "metadata", "generation"] == 2 })
        func oldPods() -> [JSONValue] { h.ownedPods("agent").filter { $0[path: "metadata", "labels", "controller-revision-hash"] == oldHash } }

        for remaining in [2, 1, 0] {
            try await h.settle("agent")  // deletes one old pod (maxUnavailable 1)
            #expect(await h.until { oldPods().count == remaining })
            // While it terminates, no other old pod goes.
            try await h.settle("agent")
            #expect(oldPods().count == remaining)
            try await h.finishTerminating()
            try await h.settle("agent")  // creates its replacement
            #expect(await h.until { h.ownedPods("agent").count == 3 })
            // The replacement is not ready: nothing more is deleted.
            try await h.settle("agent")
            #expect(oldPods().count == remaining)
            for pod in h.ownedPods("agent") where !PodState.isReady(pod) { try await h.runReady(pod) }
            #expect(await h.until { h.ownedPods("agent").allSatisfy(PodState.isReady) })
        }
        try await h.settle("agent")
        #expect(h.targetNodes("agent") == ["n1", "n2", "n3"])
        #expect(h.ownedPods("agent").allSatisfy { $0[path: "spec", "containers"]?[0]?["image"] == "nginx:2" })
        let status = try await h.status("agent")
        #expect(status?["updatedNumberScheduled"] == 3)
        #expect(status?["numberAvailable"] == 3)
        #expect(status?["observedGeneration"] == 2)
    }
}
