import Foundation
import Synchronization
import Testing
import SwiftletAPI
import SwiftletClient
import SwiftletMachinery
import SwiftletScheduler

@Suite struct SchedulerTests {
    @Test func bindsAPodToAFittingNode() async throws {
        let h = try await SchedulerHarness()
        defer { h.stop() }
        try await h.createNode("n1")
        try await h.createPod("p", cpu: "500m", memory: "128Mi")
        #expect(try await h.waitForNode(of: "p") == "n1")
        let conditions = try await h.pod("p")[path: "status", "conditions"]?.arrayValue ?? []
        #expect(conditions.contains { $0["type"] == "PodScheduled" && $0["status"] == "True" })
        let deadline = ContinuousClock.now + .seconds(30)
        var scheduled: [JSONValue] = []
        while scheduled.isEmpty, ContinuousClock.now < deadline {
            scheduled = try await h.events(for: "p", reason: "Scheduled")
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(scheduled.first?["message"] == "Successfully assigned default/p to n1")
        #expect(scheduled.first?[path: "source", "component"] == "default-scheduler")
    }

    @Test func podsOfOtherSchedulersAreLeftAlone() async throws {
        let h = try await SchedulerHarness()
        defer { h.stop() }
        try await h.createNode("n1")
        try await h.createPod("other", spec: ["schedulerName": "my-scheduler"])
        try await h.createPod("mine")
        #expect(try await h.waitForNode(of: "mine") == "n1")
        #expect(try await h.waitForNode(of: "other", timeout: .milliseconds(200)) == nil)
    }

    @Test func nodeSelectorPicksTheLabelledNode() async throws {
        let h = try await SchedulerHarness()
        defer { h.stop() }
        try await h.createNode("plain")
        try await h.createNode("fast", labels: ["disk": "ssd"])
        for i in 0..<5 {
            try await h.createPod("p\(i)", spec: ["nodeSelector": ["disk": "ssd"]])
        }
        for i in 0..<5 {
            #expect(try await h.waitForNode(of: "p\(i)") == "fast")
        }
        try await h.createPod("nowhere", spec: ["nodeSelector": ["disk": "tape"]])
        let condition = try await h.waitForUnschedulable("nowhere", message: "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.")
        #expect(condition?["reason"] == "Unschedulable")
    }

    @Test func requiredNodeAffinity() async throws {
        let h = try await SchedulerHarness()
        defer { h.stop() }
        try await h.createNode("a", labels: ["zone": "east", "gen": "3"])
        try await h.createNode("b", labels: ["zone": "west", "gen": "5"])
        try await h.createNode("c", labels: ["gen": "7"])
        func affinity(_ terms: JSONValue) -> JSONValue {
            ["affinity": ["nodeAffinity": ["requiredDuringSchedulingIgnoredDuringExecution": ["nodeSelectorTerms": terms]]]]
        }
        try await h.createPod("in", spec: affinity([["matchExpressions": [["key": "zone", "operator": "In", "values": ["west"]]]]]))
        try await h.createPod("notin-exists", spec: affinity([["matchExpressions": [
            ["key": "zone", "operator": "NotIn", "values": ["west"]],
            ["key": "zone", "operator": "Exists"],
        ]]]))
        try await h.createPod("doesnotexist", spec: affinity([["matchExpressions": [["key": "zone", "operator": "DoesNotExist"]]]]))
        try await h.createPod("gt-lt", spec: affinity([["matchExpressions": [
            ["key": "gen", "operator": "Gt", "values": ["3"]],
            ["key": "gen", "operator": "Lt", "values": ["6"]],
        ]]]))
        try await h.createPod("fields", spec: affinity([["matchFields": [["key": "metadata.name", "operator": "In", "values": ["c"]]]]]))
        // Terms are ORed: the first matches nothing, the second node a.
        try await h.createPod("or", spec: affinity([
            ["matchExpressions": [["key": "zone", "operator": "In", "values": ["north"]]]],
            ["matchExpressions": [["key": "gen", "operator": "In", "values": ["3"]]]],
        ]))
        #expect(try await h.waitForNode(of: "in") == "b")
        #expect(try await h.waitForNode(of: "notin-exists") == "a")
        #expect(try await h.waitForNode(of: "doesnotexist") == "c")
        #expect(try await h.waitForNode(of: "gt-lt") == "b")
        #expect(try await h.waitForNode(of: "fields") == "c")
        #expect(try await h.waitForNode(of: "or") == "a")

        try await h.createPod("none", spec: affinity([["matchExpressions": [["key": "gen", "operator": "Gt", "values": ["9"]]]]]))
        #expect(try await h.waitForUnschedulable(
            "none", messagePrefix: "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.") != nil)
    }

    @Test func taintsAndTolerations() async throws {
        let h = try await SchedulerHarness()
        defer { h.stop() }
        try await h.createNode("gpu", taints: [["key": "dedicated", "value": "gpu", "effect": "NoSchedule"]])
        try await h.createNode("soft", taints: [["key": "x", "value": "y", "effect": "PreferNoSchedule"]])
        // PreferNoSchedule does not filter.
        try await h.createPod("plain")
        #expect(try await h.waitForNode(of: "plain") == "soft")

        try await h.createPod("wants-gpu", spec: [
            "nodeSelector": ["kubernetes.io/hostname": "gpu"],
        ])
        #expect(try await h.waitForUnschedulable("wants-gpu", message: "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) had untolerated taint {dedicated: gpu}. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.") != nil)

        try await h.createPod("equal", spec: [
            "affinity": ["nodeAffinity": ["requiredDuringSchedulingIgnoredDuringExecution": ["nodeSelectorTerms": [
                ["matchFields": [["key": "metadata.name", "operator": "In", "values": ["gpu"]]]]]]]],
            "tolerations": [["key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"]],
        ])
        try await h.createPod("exists-all", spec: [
            "affinity": ["nodeAffinity": ["requiredDuringSchedulingIgnoredDuringExecution": ["nodeSelectorTerms": [
                ["matchFields": [["key": "metadata.name", "operator": "In", "values": ["gpu"]]]]]]]],
            "tolerations": [["operator": "Exists"]],
        ])
        try await h.createPod("wrong-value", spec: [
            "affinity": ["nodeAffinity": ["requiredDuringSchedulingIgnoredDuringExecution": ["nodeSelectorTerms": [
                ["matchFields": [["key": "metadata.name", "operator": "In", "values": ["gpu"]]]]]]]],
            "tolerations": [["key": "dedicated", "operator": "Equal", "value": "cpu", "effect": "NoSchedule"]],
        ])
        #expect(try await h.waitForNode(of: "equal") == "gpu")
        #expect(try await h.waitForNode(of: "exists-all") == "gpu")
        #expect(try await h.waitForUnschedulable("wrong-value") != nil)
        #expect(try await h.pod("wrong-value")[path: "spec", "nodeName"] == nil)
    }

    @Test func insufficientCPUWaitsForANewNode() async throws {
        let h = try await SchedulerHarness()
        defer { h.stop() }
        try await h.createNode("small", cpu: "1")
        try await h.createPod("big", cpu: "2")
        let expected = "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
        let condition = try await h.waitForUnschedulable("big", message: expected)
        #expect(condition?["reason"] == "Unschedulable")
        #expect(try await h.pod("big")[path: "status", "phase"] == "Pending")
        let deadline = ContinuousClock.now + .seconds(30)
        var events: [JSONValue] = []
        while events.isEmpty, ContinuousClock.now < deadline {
            events = try await h.events(for: "big", reason: "FailedScheduling")
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(events.first?["type"] == "Warning")
        #expect(events.first?["message"]?.stringValue == expected)
        #expect(events.first?[path: "source", "component"] == "default-scheduler")

        try await h.createNode("large", cpu: "8")
        #expect(try await h.waitForNode(of: "big") == "large")
        let conditions = try await h.pod("big")[path: "status", "conditions"]?.arrayValue ?? []
        #expect(conditions.filter { $0["type"] == "PodScheduled" }.map { $0["status"] } == ["True"])
    }

    @Test func requestsOfBoundPodsAreCounted() async throws {
        let h = try await SchedulerHarness()
        defer { h.stop() }
        try await h.createNode("n", cpu: "2", memory: "1Gi", pods: 3)
        try await h.createPod("a", cpu: "1500m")
        #expect(try await h.waitForNode(of: "a") == "n")
        try await h.createPod("b", cpu: "1")
        #expect(try await h.waitForUnschedulable("b", messagePrefix: "0/1 nodes are available: 1 Insufficient cpu.") != nil)
        try await h.createPod("c", memory: "2Gi")
        #expect(try await h.waitForUnschedulable("c", messagePrefix: "0/1 nodes are available: 1 Insufficient memory.") != nil)
        try await h.createPod("d")
        try await h.createPod("e")
        #expect(try await h.waitForNode(of: "d") == "n")
        #expect(try await h.waitForNode(of: "e") == "n")
        try await h.createPod("f")
        #expect(try await h.waitForUnschedulable("f", messagePrefix: "0/1 nodes are available: 1 Too many pods.") != nil)
        // Deleting a bound pod frees its room: "b" fits once "a"'s 1500m and pod slot are gone.
        try await h.client.delete(Resources.pods, namespace: "default", name: "f", options: DeleteOptions(gracePeriodSeconds: 0))
        try await h.client.delete(Resources.pods, namespace: "default", name: "a", options: DeleteOptions(gracePeriodSeconds: 0))
        #expect(try await h.waitForNode(of: "b") == "n")
    }

    @Test func replicasOfOneOwnerSpreadAcrossNodes() async throws {
        let h = try await SchedulerHarness()
        defer { h.stop() }
        for i in 0..<3 { try await h.createNode("n\(i)", cpu: "100", memory: "100Gi") }
        let rs = try await h.client.create(Resources.replicasets, namespace: "default", makeReplicaSet("web"))
        // A fuller node must not attract the replicas: spreading comes before least-requested.
        try await h.createPod("filler", cpu: "50")
        let fillerNode = try await h.waitForNode(of: "filler")
        #expect(fillerNode != nil)
        for i in 0..<9 { try await h.createPod("web-\(i)", owner: rs) }
        var perNode: [String: Int] = [:]
        for i in 0..<9 {
            let node = try await h.waitForNode(of: "web-\(i)")
            #expect(node != nil)
            if let node { perNode[node, default: 0] += 1 }
        }
        #expect(perNode == ["n0": 3, "n1": 3, "n2": 3])
    }

    @Test func unschedulableNodesAreSkipped() async throws {
        let h = try await SchedulerHarness()
        defer { h.stop() }
        try await h.createNode("cordoned", cpu: "64", unschedulable: true)
        try await h.createNode("open", cpu: "1")
        for i in 0..<4 { try await h.createPod("p\(i)") }
        for i in 0..<4 { #expect(try await h.waitForNode(of: "p\(i)") == "open") }
        try await h.createPod("elsewhere", spec: ["nodeSelector": ["kubernetes.io/hostname": "x"]])
        #expect(try await h.waitForUnschedulable("elsewhere", message: "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) were unschedulable. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.") != nil)
        // A toleration of the unschedulable taint (as DaemonSet pods have) lets a pod on.
        try await h.createPod("tolerant", cpu: "2", spec: [
            "tolerations": [["key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"]],
        ])
        #expect(try await h.waitForNode(of: "tolerant") == "cordoned")
    }

    @Test func notReadyNodesAreSkipped() async throws {
        let h = try await SchedulerHarness()
        defer { h.stop() }
        try await h.createNode("down", ready: "False")
        try await h.createPod("p")
        #expect(try await h.waitForUnschedulable("p", message: "0/1 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.") != nil)
        // The node becomes Ready: the pod is retried at once.
        _ = try await h.client.patch(Resources.nodes, name: "down", .strategicMerge(["status": ["conditions": [["type": "Ready", "status": "True"]]]]),
                                     subresource: "status")
        #expect(try await h.waitForNode(of: "p") == "down")
    }

    @Test func hostPortConflicts() async throws {
        let h = try await SchedulerHarness()
        defer { h.stop() }
        try await h.createNode("n1")
        try await h.createNode("n2")
        try await h.createPod("a", hostPort: 8080)
        let first = try await h.waitForNode(of: "a")
        try await h.createPod("b", hostPort: 8080)
        let second = try await h.waitForNode(of: "b")
        #expect(first != nil && second != nil && first != second)
        try await h.createPod("c", hostPort: 8080)
        #expect(try await h.waitForUnschedulable("c", message: "0/2 nodes are available: 2 node(s) didn't have free ports for the requested pod ports. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.") != nil)
        // Another port is free.
        try await h.createPod("d", hostPort: 9090)
        #expect(try await h.waitForNode(of: "d") != nil)
    }

    /// A burst: every pod is bound, and the assumed pods keep the burst spread even though
    /// the informer lags behind the bindings.
    @Test func aBurstOfPodsIsSpreadEvenly() async throws {
        let h = try await SchedulerHarness(workers: 4) { client in
            for i in 0..<100 {
                _ = try await client.create(Resources.nodes, makeNode(String(format: "node-%03d", i), cpu: "32", memory: "64Gi"))
            }
            for i in 0..<1000 {
                _ = try await client.create(Resources.pods, namespace: "default", makePod("burst-\(i)", cpu: "100m", memory: "64Mi"))
            }
        }
        defer { h.stop() }
        let start = ContinuousClock.now
        // Counted by a handler of its own: polling a list of 1000 pods would compete for the CPU.
        let placed = BindingTally()
        h.informers.informer(for: Resources.pods).addEventHandler(placed.handler)
        let deadline = start + .seconds(60)
        while placed.count < 1000, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        print("scheduler burst: 1000 pods onto 100 nodes bound in \(ContinuousClock.now - start)")
        let perNode = placed.perNode
        #expect(placed.count == 1000)
        #expect(perNode.count == 100)
        #expect(perNode.values.allSatisfy { $0 == 10 })
    }
}

/// Which node each pod was bound to, as a pod informer reports it.
final class BindingTally: Sendable {
    private let nodes = Mutex<[String: String]>([:])

    var handler: EventHandler {
        let record: @Sendable (JSONValue) -> Void = { pod in
            guard let node = pod[path: "spec", "nodeName"]?.stringValue, !node.isEmpty,
                  let name = pod[path: "metadata", "name"]?.stringValue else { return }
            self.nodes.withLock { $0[name] = node }
        }
        return EventHandler(onAdd: record, onUpdate: { _, new in record(new) })
    }

    var count: Int { nodes.withLock { $0.count } }

    var perNode: [String: Int] {
        nodes.withLock { all in all.values.reduce(into: [:]) { $0[$1, default: 0] += 1 } }
    }
}
