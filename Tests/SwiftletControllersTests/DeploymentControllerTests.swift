import Foundation
import SwiftletTestSupport
import Testing
import SwiftletAPI
@testable import SwiftletClient
@testable import SwiftletControllers
import SwiftletMachinery
import SwiftletAPIServer
import SwiftletStorage

@Suite struct DeploymentControllerTests {
    typealias H = DeploymentHarness

    @Test func templateHashIsStableAndSafeEncoded() {
        let t1: JSONValue = ["metadata": ["labels": ["app": "x"]], "spec": ["containers": [["name": "c", "image": "a"]]]]
        let t2: JSONValue = ["spec": ["containers": [["image": "a", "name": "c"]]], "metadata": ["labels": ["app": "x"], "annotations": [:]]]
        let h1 = DeploymentUtil.podTemplateHash(t1, collisionCount: nil)
        #expect(h1 == DeploymentUtil.podTemplateHash(t2, collisionCount: nil))
        #expect(h1 != DeploymentUtil.podTemplateHash(t1, collisionCount: 1))
        #expect(h1.count <= 10 && !h1.isEmpty)
        #expect(h1.allSatisfy { "bcdfghjklmnpqrstvwxz2456789".contains($0) })
        var t3 = t1
        t3[path: "spec", "containers"] = [["name": "c", "image": "b"]]
        #expect(h1 != DeploymentUtil.podTemplateHash(t3, collisionCount: nil))
        var withHash = t1
        withHash[path: "metadata", "labels", "pod-template-hash"] = .string(h1)
        #expect(DeploymentUtil.equalIgnoringHash(withHash, t2))
    }

    @Test func fencepostsRoundSurgeUpAndUnavailableDown() {
        var d = H.deployment("f", replicas: 10, strategy: H.rolling(surge: "25%", unavailable: "25%"))
        #expect(DeploymentUtil.maxSurge(d) == 3)
        #expect(DeploymentUtil.maxUnavailable(d) == 2)
        d[path: "spec", "strategy"] = H.rolling(surge: 0, unavailable: 0)
        #expect(DeploymentUtil.maxUnavailable(d) == 1)
        d[path: "spec", "strategy"] = ["type": "Recreate"]
        #expect(DeploymentUtil.maxSurge(d) == 0 && DeploymentUtil.maxUnavailable(d) == 0)
    }

    @Test func aReplicaSetTheAPIRefusesIsReportedOnTheDeployment() async throws {
        let h = try H()
        #expect(await h.start())
        defer { h.stop() }
        // Valid as a Deployment; its ReplicaSet's name (name-hash) is over 253 characters.
        let name = String(repeating: "a", count: 250)
        var d = H.deployment("x", replicas: 1)
        d[path: "metadata", "name"] = .string(name)
        try await h.create(d)
        try await h.caughtUp()
        await #expect(throws: APIError.self) { try await h.controller.sync(h.key(name)) }
        let events = try await h.events(reason: "ReplicaSetCreateError")
        #expect(events.count == 1)
        #expect(events.first?.hasPrefix("Failed to create new replica set \"\(name)-") == true)
        #expect(events.first?.contains("must be no more than 253 characters") == true)
        let progressing = DeploymentUtil.condition(try await h.get(name)["status"], "Progressing")
        #expect(progressing?["status"] == "False")
        #expect(progressing?["reason"] == "ReplicaSetCreateError")
        #expect(try await h.replicaSetList().isEmpty)
        // A second failure changes nothing on the Deployment, so its status write raises no event.
        let before = try await h.get(name)[path: "metadata", "resourceVersion"]
        try await h.caughtUp()
        await #expect(throws: APIError.self) { try await h.controller.sync(h.key(name)) }
        #expect(try await h.get(name)[path: "metadata", "resourceVersion"] == before)
    }

    @Test func newDeploymentGetsOneReplicaSetWithHashRevisionAndOwner() async throws {
        let h = try H()
        #expect(await h.start())
        defer { h.stop() }
        let created = try await h.create(H.deployment("web", replicas: 3))
        try await h.settle("web")

        let list = try await h.replicaSetList()
        #expect(list.count == 1)
        let rs = try #require(list.first)
        let hash = try #require(rs[path: "metadata", "labels", "pod-template-hash"]?.stringValue)
        #expect(rs[path: "metadata", "name"]?.stringValue == "web-\(hash)")
        #expect(rs[path: "spec", "selector", "matchLabels", "pod-template-hash"]?.stringValue == hash)
        #expect(rs[path: "spec", "selector", "matchLabels", "app"] == "web")
        #expect(rs[path: "spec", "template", "metadata", "labels", "pod-template-hash"]?.stringValue == hash)
        #expect(rsReplicas(rs) == 3)
        #expect(rsRevision(rs) == "1")
        #expect(rs[path: "metadata", "annotations", "deployment.kubernetes.io/desired-replicas"] == "3")
        #expect(rs[path: "metadata", "annotations", "deployment.kubernetes.io/max-replicas"] == "4")
        let owner = try #require(rs[path: "metadata", "ownerReferences"]?.arrayValue?.first)
        #expect(owner["uid"] == created[path: "metadata", "uid"])
        #expect(owner["controller"] == true && owner["kind"] == "Deployment")

        let d = try await h.get("web")
        #expect(d[path: "metadata", "annotations", "deployment.kubernetes.io/revision"] == "1")
        #expect(deploymentCondition(d, "Progressing")?["reason"] == "NewReplicaSetCreated")
        #expect(try await h.events(reason: "ScalingReplicaSet") == ["Scaled up replica set web-\(hash) from 0 to 3"])

        // The same template hashes the same after a restart: a second controller finds this RS.
        let again = DeploymentUtil.podTemplateHash(d[path: "spec", "template"], collisionCount: nil)
        #expect(again == hash)
    }

    @Test func statusReportsRolloutCompleteOnceReplicaSetsAreAvailable() async throws {
        let h = try H()
        #expect(await h.start())
        defer { h.stop() }
        try await h.create(H.deployment("web", replicas: 3))
        try await h.settle("web")
        var d = try await h.get("web")
        #expect(deploymentCondition(d, "Available")?["status"] == "False")
        #expect(deploymentCondition(d, "Available")?["reason"] == "MinimumReplicasUnavailable")

        try await h.reportReplicaSets()
        try await h.settle("web")
        d = try await h.get("web")
        let status = try #require(d["status"])
        #expect(status["observedGeneration"] == d[path: "metadata", "generation"])
        #expect(status["replicas"] == 3 && status["updatedReplicas"] == 3)
        #expect(status["readyReplicas"] == 3 && status["availableReplicas"] == 3)
        #expect(status["unavailableReplicas"] == nil)
        #expect(deploymentCondition(d, "Available")?["reason"] == "MinimumReplicasAvailable")
        #expect(deploymentCondition(d, "Available")?["status"] == "True")
        #expect(deploymentCondition(d, "Progressing")?["reason"] == "NewReplicaSetAvailable")
        #expect(deploymentCondition(d, "Progressing")?["message"]?.stringValue?.hasSuffix("has successfully progressed.") == true)

        // Settled: another sync writes nothing.
        let rv = d[path: "metadata", "resourceVersion"]
        try await h.controller.sync(h.key("web"))
        #expect(try await h.get("web")[path: "metadata", "resourceVersion"] == rv)
    }

    @Test func changingReplicasOnlyScalesTheCurrentReplicaSet() async throws {
        let h = try H()
        #expect(await h.start())
        defer { h.stop() }
        try await h.create(H.deployment("web", replicas: 3))
        try await h.settle("web")
        try await h.reportReplicaSets()
        try await h.settle("web")

        try await h.patchSpec("web", ["replicas": 5])
        try await h.settle("web")
        var list = try await h.replicaSetList()
        #expect(list.count == 1)
        #expect(rsReplicas(list[0]) == 5)
        #expect(list[0][path: "metadata", "annotations", "deployment.kubernetes.io/desired-replicas"] == "5")
        #expect(rsRevision(list[0]) == "1")

        try await h.patchSpec("web", ["replicas": 2])
        try await h.settle("web")
        list = try await h.replicaSetList()
        #expect(list.count == 1 && rsReplicas(list[0]) == 2)
        let name = list[0][path: "metadata", "name"]?.stringValue ?? ""
        let events = try await h.events(reason: "ScalingReplicaSet")
        #expect(events.contains("Scaled up replica set \(name) from 3 to 5"))
        #expect(events.contains("Scaled down replica set \(name) from 5 to 2"))
    }

    @Test func rollingUpdateMovesReplicasWithinSurgeAndUnavailability() async throws {
        let h = try H()
        #expect(await h.start())
        defer { h.stop() }
        try await h.create(H.deployment("web", replicas: 4, strategy: H.rolling(surge: 1, unavailable: 0)))
        try await h.settle("web")
        try await h.reportReplicaSets()
        try await h.settle("web")
        let oldName = try await h.replicaSetList()[0][path: "metadata", "name"]?.stringValue ?? ""

        try await h.setImage("web", "nginx:2")
        try await h.settle("web")
        var list = try await h.replicaSetList()
        #expect(list.count == 2)
        #expect(rsReplicas(list[0]) == 4 && rsReplicas(list[1]) == 1)
        #expect(rsRevision(list[1]) == "2")
        let newName = list[1][path: "metadata", "name"]?.stringValue ?? ""
        #expect(newName != oldName)
        var d = try await h.get("web")
        #expect(d[path: "metadata", "annotations", "deployment.kubernetes.io/revision"] == "2")
        #expect(d[path: "status", "updatedReplicas"] == nil)  // the new RS reports no pods yet

        // Each round the "ReplicaSet controller" makes the pods available; never more than
        // 5 replicas in all, never fewer than 4 available.
        var rounds = 0
        while rounds < 20 {
            rounds += 1
            try await h.reportReplicaSets()
            try await h.settle("web")
            list = try await h.replicaSetList()
            let total = list.map(rsReplicas).reduce(0, +)
            #expect(total <= 5)
            let available = list.map { $0[path: "status", "availableReplicas"]?.intValue ?? 0 }.reduce(0, +)
            #expect(available >= 4)
            if rsReplicas(list[0]) == 0 && rsReplicas(list[1]) == 4 && list[1][path: "status", "availableReplicas"] == 4 { break }
        }
        #expect(rounds > 2)
        #expect(list.count == 2)  // the old RS stays, at 0
        #expect(rsReplicas(list[0]) == 0 && rsReplicas(list[1]) == 4)
        try await h.reportReplicaSets()
        try await h.settle("web")

        d = try await h.get("web")
        let status = try #require(d["status"])
        // What `kubectl rollout status` checks.
        #expect((status["observedGeneration"]?.intValue ?? 0) >= (d[path: "metadata", "generation"]?.intValue ?? 1))
        #expect(status["updatedReplicas"] == 4 && status["replicas"] == 4 && status["availableReplicas"] == 4)
        #expect(deploymentCondition(d, "Progressing")?["reason"] == "NewReplicaSetAvailable")
        #expect(deploymentCondition(d, "Progressing")?["message"] == .string("ReplicaSet \"\(newName)\" has successfully progressed."))
        let events = try await h.events(reason: "ScalingReplicaSet")
        #expect(events.contains("Scaled up replica set \(newName) from 0 to 1"))
        #expect(events.contains("Scaled down replica set \(oldName) from 4 to 3"))
    }

    @Test func anOldReplicaSetIsNeverScaledUpWhenItsStatusLagsItsScaleDown() async throws {
        let h = try H()
        #expect(await h.start())
        defer { h.stop() }
        try await h.create(H.deployment("web", replicas: 10, strategy: H.rolling(surge: "25%", unavailable: "25%")))
        try await h.settle("web")
        try await h.reportReplicaSets()
        try await h.settle("web")
        let oldName = try await h.replicaSetList()[0][path: "metadata", "name"]?.stringValue ?? ""

        try await h.setImage("web", "nginx:2")
        // The old ReplicaSet's status keeps saying 10 available while its spec goes down (its
        // controller has not caught up); the new one's pods become available round after round.
        var lowest = Int64.max
        var refused = false
        for _ in 0..<10 {
            do {
                try await h.settle("web")
            } catch {
                // The controller refuses the step, as upstream does, and retries once the status catches up.
                refused = refused || "\(error)".hasPrefix("when cleaning up unhealthy replicas, got invalid request to scale down default/\(oldName)")
            }
            for var rs in try await h.replicaSetList() where rs[path: "metadata", "name"]?.stringValue != oldName {
                let replicas = rs[path: "spec", "replicas"]?.intValue ?? 0
                rs["status"] = ["replicas": .int(replicas), "readyReplicas": .int(replicas), "availableReplicas": .int(replicas),
                                "observedGeneration": rs[path: "metadata", "generation"] ?? 1]
                _ = try await h.client.update(Resources.replicasets, rs, subresource: "status")
            }
            let old = try #require(try await h.replicaSetList().first { $0[path: "metadata", "name"]?.stringValue == oldName })
            #expect(rsReplicas(old) <= lowest, "the old ReplicaSet went back up to \(rsReplicas(old))")
            lowest = min(lowest, rsReplicas(old))
        }
        #expect(lowest < 10)
        #expect(refused)
        // Its only scale-up is its first, to 10, before the rollout.
        #expect(try await h.events(reason: "ScalingReplicaSet").filter { $0.hasPrefix("Scaled up replica set \(oldName)") }
            == ["Scaled up replica set \(oldName) from 0 to 10"])
    }

    @Test func percentStrategyScalesUpAndDownTogether() async throws {
        let h = try H()
        #expect(await h.start())
        defer { h.stop() }
        try await h.create(H.deployment("web", replicas: 10))  // defaults: 25% / 25%
        try await h.settle("web")
        try await h.reportReplicaSets()
        try await h.settle("web")
        try await h.setImage("web", "nginx:2")
        // One sync at a time, as upstream: surge ceil(2.5) = 3 → new RS 3 (13 in all), and in
        // the same sync unavailable floor(2.5) = 2 → old RS down to 8 ...
        try await h.caughtUp()
        try await h.controller.sync(h.key("web"))
        try await h.caughtUp()
        #expect(try await h.replicaSetList().map(rsReplicas) == [8, 3])
        // ... then the new RS takes the freed surge room and waits for availability.
        try await h.controller.sync(h.key("web"))
        try await h.caughtUp()
        #expect(try await h.replicaSetList().map(rsReplicas) == [8, 5])
        try await h.settle("web")
        #expect(try await h.replicaSetList().map(rsReplicas) == [8, 5])
    }

    @Test func revertingTheTemplateReusesTheOldReplicaSetWithANewRevision() async throws {
        let h = try H()
        #expect(await h.start())
        defer { h.stop() }
        try await h.create(H.deployment("web", replicas: 2))
        try await h.settle("web")
        try await h.reportReplicaSets()
        try await h.settle("web")
        let first = try await h.replicaSetList()[0][path: "metadata", "name"]?.stringValue ?? ""

        try await h.setImage("web", "nginx:2")
        for _ in 0..<10 {
            try await h.reportReplicaSets()
            try await h.settle("web")
        }
        try await h.setImage("web", "nginx:1")
        for _ in 0..<10 {
            try await h.reportReplicaSets()
            try await h.settle("web")
        }
        let list = try await h.replicaSetList()
        #expect(list.count == 2)
        let reused = try #require(list.first { $0[path: "metadata", "name"]?.stringValue == first })
        #expect(rsRevision(reused) == "3")
        #expect(reused[path: "metadata", "annotations", "deployment.kubernetes.io/revision-history"] == "1")
        #expect(rsReplicas(reused) == 2)
        let other = try #require(list.first { $0[path: "metadata", "name"]?.stringValue != first })
        #expect(rsReplicas(other) == 0 && rsRevision(other) == "2")
        let d = try await h.get("web")
        #expect(d[path: "metadata", "annotations", "deployment.kubernetes.io/revision"] == "3")
        #expect(d[path: "status", "updatedReplicas"] == 2)
    }

    @Test func recreateScalesOldToZeroBeforeMakingTheNew() async throws {
        let h = try H()
        #expect(await h.start())
        defer { h.stop() }
        try await h.create(H.deployment("web", replicas: 3, strategy: ["type": "Recreate"]))
        try await h.settle("web")
        try await h.reportReplicaSets()
        try await h.settle("web")

        try await h.setImage("web", "nginx:2")
        try await h.settle("web")
        var list = try await h.replicaSetList()
        #expect(list.count == 1)  // no new RS while old pods run
        #expect(rsReplicas(list[0]) == 0)

        try await h.reportReplicaSets()  // the old pods are gone
        try await h.settle("web")
        list = try await h.replicaSetList()
        #expect(list.count == 2)
        #expect(rsReplicas(list[0]) == 0 && rsReplicas(list[1]) == 3 && rsRevision(list[1]) == "2")
        try await h.reportReplicaSets()
        try await h.settle("web")
        let d = try await h.get("web")
        #expect(d[path: "status", "updatedReplicas"] == 3 && d[path: "status", "availableReplicas"] == 3)
    }

    @Test func revisionHistoryLimitDeletesTheOldestIdleReplicaSets() async throws {
        let h = try H()
        #expect(await h.start())
        defer { h.stop() }
        var d = H.deployment("web", replicas: 1)
        d[path: "spec", "revisionHistoryLimit"] = 2
        try await h.create(d)
        for image in ["nginx:1", "nginx:2", "nginx:3", "nginx:4", "nginx:5"] {
            try await h.setImage("web", image)
            for _ in 0..<6 {
                try await h.reportReplicaSets()
                try await h.settle("web")
            }
        }
        let list = try await h.replicaSetList()
        #expect(list.map(rsRevision) == ["3", "4", "5"])
        #expect(list.map(rsReplicas) == [0, 0, 1])
    }

    @Test func proportionalScalingDuringARollout() async throws {
        let h = try H()
        #expect(await h.start())
        defer { h.stop() }
        try await h.create(H.deployment("web", replicas: 10, strategy: H.rolling(surge: 3, unavailable: 2)))
        try await h.settle("web")
        try await h.reportReplicaSets()
        try await h.settle("web")
        try await h.setImage("web", "nginx:2")
        try await h.settle("web")  // old 8, new 5: 13 = 10 + surge, nothing new available yet
        var list = try await h.replicaSetList()
        #expect(list.map(rsReplicas) == [8, 5])

        try await h.patchSpec("web", ["replicas": 20])
        try await h.settle("web")
        list = try await h.replicaSetList()
        // 20 + 3 allowed, 13 present: 10 more, in proportion to max-replicas 13:
        // old round(8·23/13) = 14, new round(5·23/13) = 9.
        #expect(list.map(rsReplicas).reduce(0, +) == 23)
        #expect(list.map(rsReplicas) == [14, 9])
        #expect(list.allSatisfy { $0[path: "metadata", "annotations", "deployment.kubernetes.io/max-replicas"] == "23" })
    }

    @Test func pausedDeploymentIsNotRolledOut() async throws {
        let h = try H()
        #expect(await h.start())
        defer { h.stop() }
        try await h.create(H.deployment("web", replicas: 2))
        try await h.settle("web")
        try await h.reportReplicaSets()
        try await h.settle("web")
        try await h.patchSpec("web", ["paused": true])
        try await h.setImage("web", "nginx:2")
        try await h.settle("web")
        #expect(try await h.replicaSetList().count == 1)
        var d = try await h.get("web")
        #expect(deploymentCondition(d, "Progressing")?["reason"] == "DeploymentPaused")

        try await h.patchSpec("web", ["paused": false])
        try await h.settle("web")
        #expect(try await h.replicaSetList().count == 2)
        d = try await h.get("web")
        #expect(deploymentCondition(d, "Progressing")?["reason"] != "DeploymentPaused")
    }

    @Test func progressDeadlineExceededWhenNothingBecomesAvailable() async throws {
        let h = try H()
        #expect(await h.start())
        defer { h.stop() }
        var d = H.deployment("web", replicas: 2)
        d[path: "spec", "progressDeadlineSeconds"] = 30
        try await h.create(d)
        try await h.settle("web")
        var none: [String: Int64] = [:]
        for rs in try await h.replicaSetList() { none[rs[path: "metadata", "name"]?.stringValue ?? ""] = 0 }
        try await h.reportReplicaSets(available: none)
        try await h.settle("web")
        d = try await h.get("web")
        #expect(deploymentCondition(d, "Progressing")?["status"] == "True")

        h.clock.advance(by: .seconds(31))
        try await h.settle("web")
        d = try await h.get("web")
        #expect(deploymentCondition(d, "Progressing")?["status"] == "False")
        #expect(deploymentCondition(d, "Progressing")?["reason"] == "ProgressDeadlineExceeded")
    }

    @Test func adoptsAnOrphanReplicaSetThatMatches() async throws {
        let h = try H()
        #expect(await h.start())
        defer { h.stop() }
        let template = H.deployment("web", replicas: 2)[path: "spec", "template"]!
        let hash = DeploymentUtil.podTemplateHash(template, collisionCount: nil)
        var rsTemplate = template
        rsTemplate[path: "metadata", "labels", "pod-template-hash"] = .string(hash)
        let orphan: JSONValue = [
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": ["name": .string("web-\(hash)"), "namespace": "default", "labels": rsTemplate[path: "metadata", "labels"]!],
            "spec": ["replicas": 2, "selector": ["matchLabels": ["app": "web", "pod-template-hash": .string(hash)]],
                     "template": rsTemplate],
        ]
        _ = try await h.client.create(Resources.replicasets, namespace: "default", orphan)
        let created = try await h.create(H.deployment("web", replicas: 2))
        try await h.settle("web")
        let list = try await h.replicaSetList()
        #expect(list.count == 1)
        #expect(list[0][path: "metadata", "ownerReferences"]?.arrayValue?.first?["uid"] == created[path: "metadata", "uid"])
        #expect(rsRevision(list[0]) == "1")
    }

    /// The controller as the manager runs it: informer events drive the syncs.
    @Test func runningControllerRollsOutThroughEvents() async throws {
        let client = try InProcessAPI().client
        let informers = SharedInformerFactory(client: client, log: ClientLog.discard)
        let context = ControllerContext(client: client, informers: informers, log: ClientLog.discard)
        let manager = ControllerManager(context: context, controllers: [DeploymentController(context: context)])
        let running = Task { await manager.run() }
        defer { running.cancel() }

        _ = try await client.create(Resources.deployments, namespace: "default", H.deployment("web", replicas: 2))
        func replicaSets() async -> [JSONValue] {
            (try? await client.list(Resources.replicasets, namespace: "default").items) ?? []
        }
        let deadline = ContinuousClock.now + .seconds(30)
        var done = false
        while ContinuousClock.now < deadline && !done {
            // Play the ReplicaSet controller: all pods available at once.
            for var rs in await replicaSets() {
                let n = rs[path: "spec", "replicas"] ?? 0
                let status: JSONValue = ["replicas": n, "readyReplicas": n, "availableReplicas": n,
                                         "observedGeneration": rs[path: "metadata", "generation"] ?? 1]
                if rs["status"] != status {
                    rs["status"] = status
                    _ = try? await client.update(Resources.replicasets, rs, subresource: "status")
                }
            }
            if let d = try? await client.get(Resources.deployments, namespace: "default", name: "web"),
               d[path: "status", "availableReplicas"] == 2, d[path: "status", "updatedReplicas"] == 2,
               deploymentCondition(d, "Progressing")?["reason"] == "NewReplicaSetAvailable" {
                done = true
            }
            try? await Task.sleep(for: .milliseconds(5))
        }
        #expect(done)
    }
}
