import Foundation
import Testing
import SwiftletAPI
@testable import SwiftletClient
@testable import SwiftletControllers
import SwiftletMachinery

@Suite struct NodeLifecycleControllerTests {
    typealias H = NodeLifecycleHarness
    typealias C = NodeLifecycleController

    @Test func nodeWhoseLeaseStopsBecomesUnknownAfterTheGracePeriodAndIsTainted() async throws {
        let h = try H()
        try await h.registerNode("n1")
        try await h.runPod("web", node: "n1")
        #expect(await h.start())
        defer { h.stop() }
        #expect(try await h.cached("n1"))
        #expect(try await h.cachedLease("n1"))
        #expect(try await h.cachedPod("web"))

        await h.controller.monitorNodeHealth()          // first sight: a full grace period from now
        h.clock.advance(by: .seconds(40))
        await h.controller.monitorNodeHealth()
        var node = try await h.node("n1")
        #expect(h.condition(node, "Ready")?["status"] == "True")
        #expect(h.taintKeys(node).isEmpty)

        h.clock.advance(by: .seconds(5))
        await h.controller.monitorNodeHealth()
        node = try await h.node("n1")
        for type in ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"] {
            let condition = h.condition(node, type)
            #expect(condition?["status"] == "Unknown")
            #expect(condition?["reason"] == "NodeStatusUnknown")
            #expect(condition?["message"] == "Kubelet stopped posting node status.")
            #expect(condition?["lastTransitionTime"] == .string(RFC3339.string(from: h.clock.now)))
        }
        #expect(node[path: "spec", "taints"] == [[
            "key": "node.kubernetes.io/unreachable", "effect": "NoExecute",
            "timeAdded": .string(RFC3339.string(from: h.clock.now)),
        ]])
        // Its pods are no longer Ready.
        let pod = try await h.client.get(Resources.pods, namespace: "default", name: "web")
        let ready = pod[path: "status", "conditions"]?.arrayValue?.first { $0["type"] == "Ready" }
        #expect(ready?["status"] == "False")
        #expect(try await h.events(reason: "NodeNotReady").count == 2)  // the node's and the pod's

        // A second pass changes nothing (the taint keeps its timeAdded).
        #expect(try await h.cached("n1"))
        h.clock.advance(by: .seconds(5))
        await h.controller.monitorNodeHealth()
        #expect(try await h.node("n1")[path: "spec", "taints"] == node[path: "spec", "taints"])
    }

    @Test func renewingAgainClearsTheTaint() async throws {
        let h = try H()
        try await h.registerNode("n1", taints: [["key": "dedicated", "value": "x", "effect": "NoSchedule"]])
        #expect(await h.start())
        defer { h.stop() }
        #expect(try await h.cached("n1"))
        await h.controller.monitorNodeHealth()
        h.clock.advance(by: .seconds(45))
        await h.controller.monitorNodeHealth()
        #expect(h.taintKeys(try await h.node("n1")) == ["dedicated", "node.kubernetes.io/unreachable"])

        // The kubelet is back: a lease renewal and a Ready status.
        try await h.renewLease("n1")
        try await h.postStatus("n1", ready: "True")
        #expect(try await h.cached("n1"))
        #expect(try await h.cachedLease("n1"))
        h.clock.advance(by: .seconds(5))
        await h.controller.monitorNodeHealth()
        let node = try await h.node("n1")
        #expect(h.taintKeys(node) == ["dedicated"])
        #expect(h.condition(node, "Ready")?["status"] == "True")
        #expect(try await h.events(reason: "NodeReady").count == 1)
    }

    @Test func leaseRenewalsAloneKeepANodeHealthy() async throws {
        let h = try H()
        try await h.registerNode("n1")
        #expect(await h.start())
        defer { h.stop() }
        #expect(try await h.cached("n1"))
        await h.controller.monitorNodeHealth()
        for _ in 0..<10 {
            h.clock.advance(by: .seconds(20))
            try await h.renewLease("n1")
            #expect(try await h.cachedLease("n1"))
            await h.controller.monitorNodeHealth()
        }
        let node = try await h.node("n1")
        #expect(h.condition(node, "Ready")?["status"] == "True")
        #expect(h.taintKeys(node).isEmpty)
    }

    @Test func notReadyNodeGetsTheNotReadyTaintInsteadOfUnreachable() async throws {
        let h = try H()
        try await h.registerNode("n1")
        #expect(await h.start())
        defer { h.stop() }
        #expect(try await h.cached("n1"))
        await h.controller.monitorNodeHealth()
        h.clock.advance(by: .seconds(45))
        await h.controller.monitorNodeHealth()
        #expect(h.taintKeys(try await h.node("n1")) == ["node.kubernetes.io/unreachable"])
        try await h.postStatus("n1", ready: "False")
        #expect(try await h.cached("n1"))
        await h.controller.monitorNodeHealth()
        #expect(h.taintKeys(try await h.node("n1")) == ["node.kubernetes.io/not-ready"])
    }

    // MARK: Taint eviction

    /// A node tainted unreachable now and one pod on it; returns once the caches have both.
    func taintedNodeWithPod(_ h: H, tolerations: JSONValue? = nil, taints: JSONValue? = nil) async throws {
        try await h.registerNode("n1", taints: taints ?? H.unreachableTaint(at: h.clock.now))
        try await h.runPod("p", node: "n1", tolerations: tolerations)
        #expect(await h.start())
        #expect(try await h.cached("n1"))
        #expect(try await h.cachedPod("p"))
    }

    @Test func podWithoutTolerationIsEvictedAfterTheDefaultTolerationSeconds() async throws {
        let h = try H()
        try await taintedNodeWithPod(h)
        defer { h.stop() }
        try await h.controller.sync(.node("n1"))
        #expect(!(await h.isDeleted("p")))
        h.clock.advance(by: .seconds(299))
        try await h.controller.sync(.pod(ObjectKey(namespace: "default", name: "p")))
        #expect(!(await h.isDeleted("p")))
        h.clock.advance(by: .seconds(1))
        try await h.controller.sync(.pod(ObjectKey(namespace: "default", name: "p")))
        #expect(await h.isDeleted("p"))
        let events = try await h.events(reason: "TaintManagerEviction")
        #expect(events.count == 1)
        #expect(events.first?["message"] == "Marking for deletion Pod default/p")
        #expect(events.first?[path: "source", "component"] == "taint-eviction-controller")
        #expect(events.first?[path: "involvedObject", "kind"] == "Pod")
        let pod = try await h.client.get(Resources.pods, namespace: "default", name: "p")
        let target = pod[path: "status", "conditions"]?.arrayValue?.first { $0["type"] == "DisruptionTarget" }
        #expect(target?["reason"] == "DeletionByTaintManager")
    }

    @Test func defaultTolerationSecondsIsConfigurable() async throws {
        let h = try H(defaultTolerationSeconds: 30)
        try await taintedNodeWithPod(h)
        defer { h.stop() }
        h.clock.advance(by: .seconds(29))
        try await h.controller.sync(.node("n1"))
        #expect(!(await h.isDeleted("p")))
        h.clock.advance(by: .seconds(1))
        try await h.controller.sync(.node("n1"))
        #expect(await h.isDeleted("p"))
    }

    @Test func podWithTolerationSecondsIsEvictedWhenTheyHavePassed() async throws {
        let h = try H()
        try await taintedNodeWithPod(h, tolerations: [[
            "key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 10,
        ]])
        defer { h.stop() }
        h.clock.advance(by: .seconds(9))
        try await h.controller.sync(.node("n1"))
        #expect(!(await h.isDeleted("p")))
        h.clock.advance(by: .seconds(1))
        try await h.controller.sync(.node("n1"))
        #expect(await h.isDeleted("p"))
    }

    @Test func podToleratingForeverStays() async throws {
        let h = try H()
        try await taintedNodeWithPod(h, tolerations: [["key": "node.kubernetes.io/unreachable", "operator": "Exists"]])
        defer { h.stop() }
        h.clock.advance(by: .seconds(100_000))
        try await h.controller.sync(.node("n1"))
        #expect(!(await h.isDeleted("p")))
    }

    @Test func podNotToleratingAnotherNoExecuteTaintIsEvictedAtOnce() async throws {
        let h = try H()
        try await taintedNodeWithPod(h, taints: [["key": "maintenance", "value": "yes", "effect": "NoExecute"]])
        defer { h.stop() }
        try await h.controller.sync(.node("n1"))
        #expect(await h.isDeleted("p"))
    }

    @Test func evictionDecisions() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let unreachable = C.Taint(H.unreachableTaint(at: now.addingTimeInterval(-5))[0]!)
        let custom = C.Taint(["key": "k", "value": "v", "effect": "NoExecute"])
        func pod(_ tolerations: JSONValue) -> JSONValue { ["spec": ["tolerations": tolerations]] }
        #expect(C.evictionDecision(pod([]), [], now) == .keep)
        // No toleration of its own (the API server's admission gives every pod one): at once.
        #expect(C.evictionDecision(pod([]), [unreachable], now) == .deleteNow)
        let admitted: JSONValue = [["key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
                                    "tolerationSeconds": 300]]
        #expect(C.evictionDecision(pod(admitted), [unreachable], now) == .deleteAt(now.addingTimeInterval(295)))
        #expect(C.evictionDecision(pod(admitted), [unreachable, custom], now) == .deleteNow)
        #expect(C.evictionDecision(pod([["operator": "Exists"]]), [unreachable, custom], now) == .keep)
        #expect(C.evictionDecision(pod([admitted[0]!, ["key": "k", "operator": "Equal", "value": "v", "tolerationSeconds": 60]]),
                                   [unreachable, custom], now) == .deleteAt(now.addingTimeInterval(60)))
        #expect(C.evictionDecision(pod([["key": "k", "value": "other"]]), [custom], now) == .deleteNow)
        // Two matching tolerations: the smaller number of seconds wins.
        #expect(C.evictionDecision(pod([["key": "node.kubernetes.io/unreachable", "operator": "Exists", "tolerationSeconds": 3],
                                        ["operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 100]]),
                                   [unreachable], now) == .deleteNow)
    }

    // MARK: The running controller

    @Test func runningControllerTaintsAQuietNodeAndEvictsItsPods() async throws {
        let h = try H()
        try await h.registerNode("n1")
        try await h.runPod("short", node: "n1", tolerations: [[
            "key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 10,
        ]])
        try await h.runPod("forever", node: "n1", tolerations: [["operator": "Exists"]])
        #expect(await h.start())
        defer { h.stop() }
        #expect(try await h.cached("n1"))
        let run = Task { await h.controller.run(workers: 2) }
        defer { run.cancel() }

        // Step the clock a monitor period at a time, letting each pass finish, until the node is
        // tainted: first seen at 5 s, so past its 40 s grace at 50 s.
        #expect(await h.until { h.clock.sleeperCount > 0 })
        var steps = 0
        while h.taintKeys(try await h.node("n1")).isEmpty, steps < 20 {
            h.clock.advance(by: .seconds(5))
            steps += 1
            #expect(await h.until { h.controller.monitorPasses.withLock { $0 } >= steps })
        }
        #expect(h.taintKeys(try await h.node("n1")) == ["node.kubernetes.io/unreachable"])
        #expect(steps == 10)
        #expect(!(await h.isDeleted("short")))
        h.clock.advance(by: .seconds(10))
        #expect(await h.untilAsync { await h.isDeleted("short") })
        #expect(!(await h.isDeleted("forever")))
    }
}

extension NodeLifecycleController {
    /// Test shorthand.
    static func evictionDecision(_ pod: JSONValue, _ taints: [Taint], _ now: Date) -> EvictionDecision {
        evictionDecision(pod: pod, taints: taints, now: now)
    }
}
