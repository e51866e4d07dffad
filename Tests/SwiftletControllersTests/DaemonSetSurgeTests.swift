import Foundation
import Testing
import SwiftletAPI
@testable import SwiftletClient
@testable import SwiftletControllers
import SwiftletMachinery

/// The rolling-update and manage decisions of a DaemonSet, with and without maxSurge, on
/// pods bound to nodes `n1`… (`o` = old template, `u` = updated template).
@Suite struct DaemonSetSurgeTests {
    typealias C = DaemonSetController
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func ds(surge: JSONValue?, unavailable: JSONValue = 0, minReady: Int64 = 0, nodeSelector: JSONValue? = nil) -> JSONValue {
        var rolling: JSONValue = ["maxUnavailable": unavailable]
        if let surge { rolling["maxSurge"] = surge }
        var ds: JSONValue = ["metadata": ["name": "agent", "namespace": "default"],
                             "spec": ["updateStrategy": ["type": "RollingUpdate", "rollingUpdate": rolling],
                                      "template": ["spec": [:]]]]
        if minReady > 0 { ds[path: "spec", "minReadySeconds"] = .int(minReady) }
        if let nodeSelector { ds[path: "spec", "template", "spec", "nodeSelector"] = nodeSelector }
        return ds
    }

    static func nodes(_ count: Int, labels: JSONValue = ["role": "worker"]) -> [JSONValue] {
        (1...count).map { ["metadata": ["name": .string("n\($0)"), "labels": labels], "spec": [:]] }
    }

    /// A pod `<o|u>-<node>[suffix]` on `node`; ready `readyFor` seconds ago (nil: not ready).
    static func pod(_ updated: Bool, _ node: String, readyFor: Double? = 100, suffix: String = "",
                    terminating: Bool = false, age: Double = 1000) -> JSONValue {
        let name = "\(updated ? "u" : "o")-\(node)\(suffix)"
        var pod: JSONValue = [
            "metadata": ["name": .string(name), "namespace": "default",
                         "creationTimestamp": .string(RFC3339.string(from: now.addingTimeInterval(-age))),
                         "labels": ["controller-revision-hash": .string(updated ? "new" : "old")]],
            "spec": ["nodeName": .string(node)],
            "status": ["phase": "Running"],
        ]
        if let readyFor {
            pod[path: "status", "conditions"] = [["type": "Ready", "status": "True",
                                                  "lastTransitionTime": .string(RFC3339.string(from: now.addingTimeInterval(-readyFor)))]]
        }
        if terminating { pod[path: "metadata", "deletionTimestamp"] = .string(RFC3339.string(from: now)) }
        return pod
    }

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var ds: JSONValue
        var nodes: [JSONValue]
        var pods: [JSONValue]
        var delete: [String]
        var create: [String]
        var testDescription: String { name }
    }

    static let old3 = [pod(false, "n1"), pod(false, "n2"), pod(false, "n3")]

    static let rollingCases: [Case] = [
        Case(name: "surge 1: one new pod next to an old one", ds: ds(surge: 1), nodes: nodes(3), pods: old3,
             delete: [], create: ["n1"]),
        Case(name: "surge 2: two nodes at once", ds: ds(surge: 2), nodes: nodes(3), pods: old3,
             delete: [], create: ["n1", "n2"]),
        Case(name: "surge 50% of 3 rounds up to 2", ds: ds(surge: "50%"), nodes: nodes(3), pods: old3,
             delete: [], create: ["n1", "n2"]),
        Case(name: "a new pod not yet available uses the surge", ds: ds(surge: 1), nodes: nodes(3),
             pods: old3 + [pod(true, "n1", readyFor: nil)], delete: [], create: []),
        Case(name: "an available new pod replaces the old one, and the surge moves on", ds: ds(surge: 1), nodes: nodes(3),
             pods: old3 + [pod(true, "n1")], delete: ["o-n1"], create: ["n2"]),
        Case(name: "minReadySeconds: ready 5 s of 10 is not available", ds: ds(surge: 1, minReady: 10), nodes: nodes(3),
             pods: old3 + [pod(true, "n1", readyFor: 5)], delete: [], create: []),
        Case(name: "minReadySeconds: ready 20 s of 10 is available", ds: ds(surge: 1, minReady: 10), nodes: nodes(3),
             pods: old3 + [pod(true, "n1", readyFor: 20)], delete: ["o-n1"], create: ["n2"]),
        Case(name: "an unavailable old pod is replaced at once, beyond the surge", ds: ds(surge: 1), nodes: nodes(3),
             pods: [pod(false, "n1"), pod(false, "n2", readyFor: nil), pod(false, "n3")], delete: [], create: ["n2", "n1"]),
        Case(name: "excess pods on a node count as surge", ds: ds(surge: 1), nodes: nodes(3),
             pods: old3 + [pod(false, "n1", suffix: "-b")], delete: [], create: []),
        Case(name: "done: nothing to do", ds: ds(surge: 1), nodes: nodes(2),
             pods: [pod(true, "n1"), pod(true, "n2")], delete: [], create: []),
        Case(name: "an old pod on a node that no longer qualifies goes once enough are available elsewhere",
             ds: ds(surge: 1, nodeSelector: ["role": "worker"]),
             nodes: nodes(2) + [["metadata": ["name": "n3", "labels": [:]], "spec": [:]]],
             pods: [pod(true, "n1"), pod(true, "n2"), pod(false, "n3")], delete: ["o-n3"], create: []),
        Case(name: "…but not while a wanted node lacks an available pod",
             ds: ds(surge: 1, nodeSelector: ["role": "worker"]),
             nodes: nodes(2) + [["metadata": ["name": "n3", "labels": [:]], "spec": [:]]],
             pods: [pod(true, "n1"), pod(true, "n2", readyFor: nil), pod(false, "n3")], delete: [], create: []),
        Case(name: "an unavailable old pod on a node that no longer qualifies goes at once",
             ds: ds(surge: 1, nodeSelector: ["role": "worker"]),
             nodes: nodes(2) + [["metadata": ["name": "n3", "labels": [:]], "spec": [:]]],
             pods: [pod(true, "n1"), pod(true, "n2", readyFor: nil), pod(false, "n3", readyFor: nil)], delete: ["o-n3"], create: []),
        Case(name: "no surge: maxUnavailable 1 deletes one old pod", ds: ds(surge: nil, unavailable: 1), nodes: nodes(3),
             pods: old3, delete: ["o-n1"], create: []),
        Case(name: "no surge: a missing pod uses up the unavailability", ds: ds(surge: 0, unavailable: 1), nodes: nodes(3),
             pods: [pod(false, "n1"), pod(false, "n2")], delete: [], create: []),
        Case(name: "no surge: excess pods count as unavailable", ds: ds(surge: 0, unavailable: 1), nodes: nodes(3),
             pods: old3 + [pod(false, "n1", suffix: "-b")], delete: [], create: []),
    ]

    @Test(arguments: rollingCases)
    func rollingUpdateStep(_ c: Case) {
        let step = C.rollingUpdateStep(c.ds, nodes: c.nodes, pods: c.pods, hash: "new", now: Self.now)
        #expect(step.delete.map(dsName) == c.delete)
        #expect(step.create == c.create)
    }

    static let manageCases: [Case] = [
        Case(name: "surge: a ready old pod stays while the new one is not available", ds: ds(surge: 1), nodes: nodes(1),
             pods: [pod(false, "n1"), pod(true, "n1", readyFor: nil, age: 10)], delete: [], create: []),
        Case(name: "surge: the old pod goes once the new one is available", ds: ds(surge: 1), nodes: nodes(1),
             pods: [pod(false, "n1"), pod(true, "n1", age: 200)], delete: ["o-n1"], create: []),
        Case(name: "surge: an old pod that is not ready goes at once", ds: ds(surge: 1), nodes: nodes(1),
             pods: [pod(false, "n1", readyFor: nil), pod(true, "n1", readyFor: nil, age: 10)], delete: ["o-n1"], create: []),
        Case(name: "surge: of two new pods the younger goes", ds: ds(surge: 1), nodes: nodes(1),
             pods: [pod(false, "n1"), pod(true, "n1", readyFor: nil, age: 10), pod(true, "n1", readyFor: nil, suffix: "-b", age: 5)],
             delete: ["u-n1-b"], create: []),
        Case(name: "surge: a node whose old pod is terminating gets its new one now", ds: ds(surge: 1), nodes: nodes(1),
             pods: [pod(false, "n1", terminating: true)], delete: [], create: ["n1"]),
        Case(name: "no surge: it waits for the terminating pod", ds: ds(surge: nil, unavailable: 1), nodes: nodes(1),
             pods: [pod(false, "n1", terminating: true)], delete: [], create: []),
        Case(name: "no surge: of two pods the younger goes", ds: ds(surge: nil, unavailable: 1), nodes: nodes(1),
             pods: [pod(false, "n1"), pod(true, "n1", readyFor: nil, age: 10)], delete: ["u-n1"], create: []),
    ]

    @Test(arguments: manageCases)
    func manageStep(_ c: Case) {
        let plan = C.plan(c.ds, nodes: c.nodes, pods: c.pods, hash: "new", now: Self.now)
        #expect(plan.delete.map(dsName) == c.delete)
        #expect(plan.create == c.create)
    }

    @Test func surgeCountsOnlyForRollingUpdates() {
        #expect(C.maxSurge(Self.ds(surge: "25%"), desired: 10) == 3)
        #expect(C.allowsSurge(Self.ds(surge: "1%")))
        #expect(!C.allowsSurge(Self.ds(surge: 0, unavailable: 1)))
        var onDelete = Self.ds(surge: 1)
        onDelete[path: "spec", "updateStrategy", "type"] = "OnDelete"
        #expect(!C.allowsSurge(onDelete))
        // maxUnavailable 0 is allowed with surge, and stays 0.
        #expect(C.maxUnavailable(Self.ds(surge: 1, unavailable: 0), desired: 10) == 0)
    }
}

@Suite struct DaemonSetSurgeRolloutTests {
    typealias H = DaemonSetHarness

    @Test func surgeRollsOutWithoutEverLeavingANodeWithoutAReadyPod() async throws {
        let h = try H()
        for name in ["n1", "n2", "n3"] { try await h.createNode(name) }
        try await h.create(H.daemonSet("agent", strategy: ["type": "RollingUpdate",
                                                           "rollingUpdate": ["maxSurge": 1, "maxUnavailable": 0]]))
        #expect(await h.start())
        defer { h.stop() }
        try await h.settle("agent")
        #expect(await h.until { h.ownedPods("agent").count == 3 })
        for pod in h.ownedPods("agent") { try await h.runReady(pod) }
        #expect(await h.until { h.ownedPods("agent").allSatisfy(PodState.isReady) })
        let oldPods = Set(h.ownedPods("agent").map(dsName))

        _ = try await h.client.patch(Resources.daemonsets, namespace: "default", name: "agent", .merge(["spec": ["template": ["spec": [
            "containers": [["name": "c", "image": "nginx:2"]]]]]]))
        #expect(await h.until { h.daemonSets.get(h.key("agent"))?[path: "metadata", "generation"] == 2 })

        var rounds = 0
        while rounds < 10 {
            try await h.settle("agent")
            #expect(await h.until { h.controller.expectations.satisfied(h.key("agent")) })
            let pods = h.ownedPods("agent")
            let byNode = Dictionary(grouping: pods) { DaemonSetController.Placement.targetNode(of: $0) ?? "" }
            // maxUnavailable 0: every node keeps a ready pod; maxSurge 1: one node has two.
            #expect(Set(byNode.keys) == ["n1", "n2", "n3"])
            #expect(byNode.values.allSatisfy { $0.contains(where: PodState.isReady) })
            #expect(byNode.values.filter { $0.count > 1 }.count <= 1)
            let waiting = pods.filter { !PodState.isReady($0) }
            if waiting.isEmpty && pods.count == 3 && oldPods.isDisjoint(with: pods.map(dsName)) { break }
            #expect(waiting.count <= 1)
            for pod in waiting { try await h.runReady(pod) }
            #expect(await h.until { h.ownedPods("agent").allSatisfy(PodState.isReady) })
            try await h.finishTerminating()
            rounds += 1
        }
        #expect(rounds == 3)
        #expect(h.targetNodes("agent") == ["n1", "n2", "n3"])
        #expect(h.ownedPods("agent").allSatisfy { $0[path: "spec", "containers"]?[0]?["image"] == "nginx:2" })
        #expect(try await h.events(reason: "SuccessfulDelete").count == 3)
        let status = try await h.status("agent")
        #expect(status?["updatedNumberScheduled"] == 3)
        #expect(status?["numberAvailable"] == 3)
    }
}
