import Foundation
import Synchronization
import Testing
import SwiftletAPI
@testable import SwiftletClient
@testable import SwiftletControllers
import SwiftletMachinery

@Suite struct ReplicaSetUnitTests {
    typealias RS = ReplicaSetController

    static func pod(_ name: String, node: String = "", phase: String? = nil, ready: Bool = false,
                    readySince: Date? = nil, created: Date? = nil, restarts: Int64 = 0, cost: String? = nil) -> JSONValue {
        var pod: JSONValue = ["metadata": ["name": .string(name), "namespace": "default", "uid": .string("uid-\(name)")],
                              "spec": ["nodeName": .string(node)]]
        if let phase { pod[path: "status", "phase"] = .string(phase) }
        if ready || readySince != nil {
            pod[path: "status", "conditions"] = [["type": "Ready", "status": ready ? "True" : "False",
                                                  "lastTransitionTime": .string(RFC3339.string(from: readySince ?? Date(timeIntervalSince1970: 0)))]]
        }
        if let created { pod[path: "metadata", "creationTimestamp"] = .string(RFC3339.string(from: created)) }
        if restarts > 0 { pod[path: "status", "containerStatuses"] = [["name": "c", "restartCount": .int(restarts)]] }
        if let cost { pod[path: "metadata", "annotations"] = [RS.RankedPods.deletionCostAnnotation: .string(cost)] }
        return pod
    }

    @Test func podsAreDeletedInUpstreamOrderOfPreference() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let pods = [
            Self.pod("ready-old", node: "n1", phase: "Running", ready: true, readySince: now - 100_000, created: now - 200_000),
            Self.pod("ready-new", node: "n2", phase: "Running", ready: true, readySince: now - 10, created: now - 20),
            Self.pod("running-not-ready", node: "n3", phase: "Running"),
            Self.pod("unknown", node: "n4", phase: "Unknown"),
            Self.pod("pending-bound", node: "n5", phase: "Pending"),
            Self.pod("unscheduled", phase: "Pending"),
        ]
        let order = RS.podsToDelete(pods, related: pods, count: 5, now: now).map(rsName)
        #expect(order == ["unscheduled", "pending-bound", "unknown", "running-not-ready", "ready-new"])
        #expect(RS.podsToDelete(pods, related: pods, count: 6, now: now).count == 6)
    }

    @Test func restartsCostAndDoublingUpBreakTies() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let created = now - 1000
        let a = Self.pod("a", node: "n1", phase: "Running", created: created, restarts: 0)
        let b = Self.pod("b", node: "n1", phase: "Running", created: created, restarts: 5)
        #expect(RS.podsToDelete([a, b], related: [a, b], count: 1, now: now).map(rsName) == ["b"])
        // A lower deletion cost goes first, whatever the restarts.
        let cheap = Self.pod("cheap", node: "n1", phase: "Running", created: created, cost: "-10")
        #expect(RS.podsToDelete([b, cheap], related: [b, cheap], count: 1, now: now).map(rsName) == ["cheap"])
        // A pod sharing its node with another related pod goes before one alone on its node.
        let alone = Self.pod("alone", node: "n2", phase: "Running", created: created, restarts: 9)
        let doubled = Self.pod("doubled", node: "n1", phase: "Running", created: created)
        let sibling = Self.pod("sibling", node: "n1", phase: "Running", created: created)
        #expect(RS.podsToDelete([alone, doubled], related: [alone, doubled, sibling], count: 1, now: now).map(rsName) == ["doubled"])
        // Newer before older, by power-of-two age buckets.
        let young = Self.pod("young", node: "n1", phase: "Running", created: now - 60)
        let old = Self.pod("old", node: "n1", phase: "Running", created: now - 86_400)
        #expect(RS.podsToDelete([old, young], related: [], count: 1, now: now).map(rsName) == ["young"])
    }

    @Test func expectationsAreLoweredByEventsAndExpire() {
        let clock = ManualClock()
        let expectations = RS.Expectations(clock: clock)
        let key = ObjectKey(namespace: "default", name: "web")
        #expect(expectations.satisfied(key))
        expectations.expectCreations(key, 2)
        #expect(!expectations.satisfied(key))
        expectations.creationObserved(key)
        #expect(!expectations.satisfied(key))
        expectations.creationObserved(key)
        #expect(expectations.satisfied(key))

        expectations.expectDeletions(key, pods: ["default/a", "default/b"])
        expectations.deletionObserved(key, pod: "default/a")
        expectations.deletionObserved(key, pod: "default/a")  // the update, then the delete: once
        expectations.deletionObserved(key, pod: "default/c")  // not expected
        #expect(!expectations.satisfied(key))
        #expect(expectations.record(key)?.del == 1)
        clock.advance(by: .seconds(300))
        #expect(!expectations.satisfied(key))
        clock.advance(by: .seconds(1))
        #expect(expectations.satisfied(key))  // timed out
        expectations.delete(key)
        #expect(expectations.record(key) == nil)
    }

    @Test func slowStartBatchesDoubleAndStopAtTheFirstFailingBatch() async {
        let calls = Mutex(0)
        let (ok, error) = await RS.slowStartBatch(count: 10, initialBatchSize: 1) { calls.withLock { $0 += 1 } }
        #expect(ok == 10 && error == nil)
        #expect(calls.withLock { $0 } == 10)

        // Batches 1, 2, 4: the 5th call fails, so the batch of 4 completes and no batch of 3 follows.
        let counter = Mutex(0)
        let (successes, failure) = await RS.slowStartBatch(count: 10, initialBatchSize: 1) {
            let n = counter.withLock { c -> Int in c += 1; return c }
            if n == 5 { throw APIError(code: 403, reason: "Forbidden", message: "exceeded quota") }
        }
        #expect(counter.withLock { $0 } == 7)
        #expect(successes == 6)
        #expect((failure as? APIError)?.message == "exceeded quota")
    }

    @Test func aFailedCreateSetsReplicaFailureUntilItWorksAgain() throws {
        let h = try ReplicaSetHarness()
        var rs = ReplicaSetHarness.replicaSet("web", replicas: 3)
        rs[path: "metadata", "generation"] = 4
        let failure = APIError(code: 403, reason: "Forbidden", message: "pods \"web-x\" is forbidden: exceeded quota")
        let failed = h.controller.calculateStatus(rs, pods: [], manageError: failure)
        #expect(failed.observedGeneration == 4)
        #expect(failed.conditions.count == 1)
        #expect(failed.conditions[0]["type"] == "ReplicaFailure")
        #expect(failed.conditions[0]["status"] == "True")
        #expect(failed.conditions[0]["reason"] == "FailedCreate")
        #expect(failed.conditions[0]["message"] == .string(failure.message))
        rs["status"] = failed.applied(to: nil)
        #expect(rs[path: "status", "replicas"] == 0)
        let healed = h.controller.calculateStatus(rs, pods: [], manageError: nil)
        #expect(healed.conditions.isEmpty)
        #expect(healed.applied(to: rs["status"])["conditions"] == nil)
    }

    @Test func podsAreAvailableOnlyAfterMinReadySeconds() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let pod = Self.pod("p", node: "n", phase: "Running", ready: true, readySince: now - 5)
        #expect(PodState.isAvailable(pod, minReadySeconds: 0, now: now))
        #expect(!PodState.isAvailable(pod, minReadySeconds: 5, now: now))
        #expect(PodState.isAvailable(pod, minReadySeconds: 4, now: now))
        #expect(!PodState.isActive(Self.pod("done", phase: "Succeeded")))
        #expect(!PodState.isActive(Self.pod("failed", phase: "Failed")))
    }
}
