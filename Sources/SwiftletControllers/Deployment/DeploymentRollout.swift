import Foundation
import SwiftletAPI
import SwiftletClient
import SwiftletMachinery

typealias DU = DeploymentUtil

// The rollout itself: upstream's sync.go, rolling.go, recreate.go and progress.go.
extension DeploymentController {
    // MARK: New and old ReplicaSets

    /// FindNewReplicaSet: the oldest ReplicaSet whose template equals the Deployment's.
    func findNewReplicaSet(_ d: JSONValue, _ rsList: [ReplicaSetView]) -> ReplicaSetView? {
        let template = d[path: "spec", "template"]
        return rsList.sorted(by: ReplicaSetView.olderFirst).first { DU.equalIgnoringHash($0.template, template) }
    }

    /// getAllReplicaSetsAndSyncRevision: the new ReplicaSet (made if `create`) and all the old.
    func allReplicaSetsAndSyncRevision(_ d: inout JSONValue, _ rsList: [ReplicaSetView],
                                       create: Bool) async throws -> (ReplicaSetView?, [ReplicaSetView]) {
        let existing = findNewReplicaSet(d, rsList)
        let oldRSs = rsList.filter { $0.uid != existing?.uid }
        let newRS = try await newReplicaSet(&d, existing: existing, oldRSs: oldRSs, create: create)
        return (newRS, oldRSs)
    }

    /// getNewReplicaSet: brings the existing new ReplicaSet's revision and annotations up to date,
    /// or creates it.
    func newReplicaSet(_ d: inout JSONValue, existing: ReplicaSetView?, oldRSs: [ReplicaSetView],
                       create: Bool) async throws -> ReplicaSetView? {
        let newRevision = String((oldRSs.map(\.revision).max() ?? 0) + 1)
        let minReady = d[path: "spec", "minReadySeconds"]?.intValue ?? 0

        if var rs = existing {
            var updated = rs.object
            let annotationsChanged = DU.setNewReplicaSetAnnotations(d, &updated, newRevision: newRevision, exists: true)
            let minReadyChanged = (rs.object[path: "spec", "minReadySeconds"]?.intValue ?? 0) != minReady
            if annotationsChanged || minReadyChanged {
                let patch: JSONValue = [
                    "metadata": ["annotations": updated[path: "metadata", "annotations"] ?? [:]],
                    "spec": ["minReadySeconds": .int(minReady)],
                ]
                rs = ReplicaSetView(object: try await client.patch(
                    Resources.replicasets, namespace: rs.object[path: "metadata", "namespace"]?.stringValue,
                    name: rs.name, .merge(patch)))
            }
            try await syncDeploymentRevision(&d, String(rs.revision))
            if DU.hasProgressDeadline(d), DU.condition(d["status"], DU.progressing) == nil {
                var status = d["status"] ?? [:]
                DU.setCondition(&status, DU.newCondition(DU.progressing, "True", DU.foundNewRSReason,
                                                          "Found new replica set \"\(rs.name)\"", now: clock.now))
                try await writeStatus(&d, status)
            }
            return rs
        }
        guard create else { return nil }

        let ns = d[path: "metadata", "namespace"]?.stringValue ?? ""
        let deploymentName = d[path: "metadata", "name"]?.stringValue ?? ""
        let collisionCount = d[path: "status", "collisionCount"]?.intValue
        let hash = DU.podTemplateHash(d[path: "spec", "template"], collisionCount: collisionCount)
        var template = d[path: "spec", "template"] ?? [:]
        template[path: "metadata", "labels", DU.hashLabel] = .string(hash)
        var selector = d[path: "spec", "selector"] ?? [:]
        selector[path: "matchLabels", DU.hashLabel] = .string(hash)
        let replicas = newRSReplicas(d, allRSs: oldRSs, newRSReplicas: 0)

        let rsName = "\(deploymentName)-\(hash)"
        var rs: JSONValue = [
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": ["name": .string(rsName), "namespace": .string(ns),
                         "labels": template[path: "metadata", "labels"] ?? [:],
                         "ownerReferences": [Self.controllerRef(d)]],
            "spec": ["replicas": .int(Int64(replicas)), "minReadySeconds": .int(minReady),
                     "selector": selector, "template": template],
        ]
        _ = DU.setNewReplicaSetAnnotations(d, &rs, newRevision: newRevision, exists: false)

        var created: ReplicaSetView
        var alreadyExists = false
        do {
            created = ReplicaSetView(object: try await client.create(Resources.replicasets, namespace: ns, rs))
        } catch {
            guard error.isAlreadyExists else {
                // As upstream: the Deployment says why, in an event and (with a progress
                // deadline) its Progressing condition, and the sync fails to be retried.
                let message = "Failed to create new replica set \"\(rsName)\": \(error.message)"
                recorder.event(d, type: .warning, reason: DU.failedRSCreateReason, message: message)
                if DU.hasProgressDeadline(d) {
                    var status = d["status"] ?? [:]
                    DU.setCondition(&status, DU.newCondition(DU.progressing, "False", DU.failedRSCreateReason, message, now: clock.now))
                    try? await writeStatus(&d, status)
                }
                throw error
            }
            // A ReplicaSet of that name exists: ours with this template is the new one; anything
            // else is a hash collision, resolved by hashing again with a higher collision count.
            let found = try? await client.get(Resources.replicasets, namespace: ns, name: rsName)
            if let found, Indexer.controllerReference(of: found)?["uid"] == d[path: "metadata", "uid"],
               DU.equalIgnoringHash(found[path: "spec", "template"], d[path: "spec", "template"]) {
                created = ReplicaSetView(object: found)
                alreadyExists = true
            } else {
                var status = d["status"] ?? [:]
                status["collisionCount"] = .int((collisionCount ?? 0) + 1)
                try await writeStatus(&d, status)
                throw error
            }
        }
        if !alreadyExists && replicas > 0 {
            recorder.event(d, type: .normal, reason: "ScalingReplicaSet",
                           message: "Scaled up replica set \(created.name) from 0 to \(replicas)")
        }
        try await syncDeploymentRevision(&d, newRevision)
        if !alreadyExists && DU.hasProgressDeadline(d) {
            var status = d["status"] ?? [:]
            DU.setCondition(&status, DU.newCondition(DU.progressing, "True", DU.newRSReason,
                                                      "Created new replica set \"\(created.name)\"", now: clock.now))
            try await writeStatus(&d, status)
        }
        return created
    }

    /// NewRSNewReplicas: how far the new ReplicaSet may grow now.
    func newRSReplicas(_ d: JSONValue, allRSs: [ReplicaSetView], newRSReplicas: Int) -> Int {
        let desired = DU.replicas(d)
        guard DU.isRollingUpdate(d) else { return desired }
        let surge = DU.scaledValue(d[path: "spec", "strategy", "rollingUpdate", "maxSurge"], total: desired, roundUp: true)
        let current = allRSs.specReplicaCount
        let maxTotal = desired + surge
        if current >= maxTotal { return newRSReplicas }
        let scaleUp = min(maxTotal - current, desired - newRSReplicas)
        return newRSReplicas + scaleUp
    }

    // MARK: Scaling

    /// isScalingEvent: an active ReplicaSet was sized for a different replica count.
    func isScalingEvent(_ d: inout JSONValue, _ rsList: [ReplicaSetView]) async throws -> Bool {
        let (newRS, oldRSs) = try await allReplicaSetsAndSyncRevision(&d, rsList, create: false)
        let desired = DU.replicas(d)
        for rs in (oldRSs + [newRS].compactMap { $0 }).active {
            guard let annotated = Int(DU.annotations(rs.object)[DU.desiredReplicasAnnotation] ?? "") else { continue }
            if annotated != desired { return true }
        }
        return false
    }

    /// sync: scaling only (and history clean-up when paused), then status.
    func syncScaling(_ d: inout JSONValue, _ rsList: [ReplicaSetView]) async throws {
        var (newRS, oldRSs) = try await allReplicaSetsAndSyncRevision(&d, rsList, create: false)
        try await scale(d, &newRS, &oldRSs)
        if d[path: "spec", "paused"]?.boolValue == true {
            try await cleanupDeployment(d, oldRSs)
        }
        try await syncDeploymentStatus(&d, oldRSs + [newRS].compactMap { $0 }, newRS)
    }

    /// scale: a lone active ReplicaSet takes the new size; otherwise during a rollout the
    /// change is spread over the active ReplicaSets in proportion to their size.
    func scale(_ d: JSONValue, _ newRS: inout ReplicaSetView?, _ oldRSs: inout [ReplicaSetView]) async throws {
        let desired = DU.replicas(d)
        func store(_ rs: ReplicaSetView) {
            if rs.uid == newRS?.uid { newRS = rs }
            if let i = oldRSs.firstIndex(where: { $0.uid == rs.uid }) { oldRSs[i] = rs }
        }
        if let target = activeOrLatest(newRS, oldRSs) {
            if target.specReplicas == desired { return }
            store(try await scaleReplicaSet(target, to: desired, d).rs)
            return
        }
        if let newRS, isSaturated(d, newRS) {
            for old in oldRSs.active { store(try await scaleReplicaSet(old, to: 0, d).rs) }
            return
        }
        guard DU.isRollingUpdate(d) else { return }
        var all = (oldRSs + [newRS].compactMap { $0 }).active
        let allowed = desired > 0 ? desired + DU.maxSurge(d) : 0
        let toAdd = allowed - all.specReplicaCount
        var operation: String?
        if toAdd > 0 {
            all.sort(by: ReplicaSetView.bySizeNewer)
            operation = "up"
        } else if toAdd < 0 {
            all.sort(by: ReplicaSetView.bySizeOlder)
            operation = "down"
        }
        var added = 0
        var sizes: [String: Int] = [:]
        for rs in all {
            if toAdd != 0 {
                let proportion = self.proportion(rs, d, toAdd: toAdd, added: added)
                sizes[rs.uid] = rs.specReplicas + proportion
                added += proportion
            } else {
                sizes[rs.uid] = rs.specReplicas
            }
        }
        for (i, rs) in all.enumerated() {
            if i == 0 && toAdd != 0 {
                sizes[rs.uid] = max(0, sizes[rs.uid]! + toAdd - added)
            }
            store(try await scaleReplicaSet(rs, to: sizes[rs.uid]!, d, operation: operation).rs)
        }
    }

    /// FindActiveOrLatest: the only active ReplicaSet, or the newest when none is active.
    func activeOrLatest(_ newRS: ReplicaSetView?, _ oldRSs: [ReplicaSetView]) -> ReplicaSetView? {
        if newRS == nil && oldRSs.isEmpty { return nil }
        let sortedOld = oldRSs.sorted { ReplicaSetView.olderFirst($1, $0) }
        let active = (sortedOld + [newRS].compactMap { $0 }).active
        switch active.count {
        case 0: return newRS ?? sortedOld.first
        case 1: return active[0]
        default: return nil
        }
    }

    /// IsSaturated: the new ReplicaSet alone is sized for, and has, every replica available.
    func isSaturated(_ d: JSONValue, _ rs: ReplicaSetView) -> Bool {
        let desired = DU.replicas(d)
        guard let annotated = Int(DU.annotations(rs.object)[DU.desiredReplicasAnnotation] ?? "") else { return false }
        return annotated == desired && rs.specReplicas == desired && rs.availableReplicas == desired
    }

    /// GetProportion: this ReplicaSet's share of a size change, bounded by what is left to give.
    func proportion(_ rs: ReplicaSetView, _ d: JSONValue, toAdd: Int, added: Int) -> Int {
        if rs.specReplicas == 0 || toAdd == 0 || toAdd == added { return 0 }
        let fraction = replicaSetFraction(rs, d)
        let allowed = toAdd - added
        return toAdd > 0 ? min(fraction, allowed) : max(fraction, allowed)
    }

    func replicaSetFraction(_ rs: ReplicaSetView, _ d: JSONValue) -> Int {
        let desired = DU.replicas(d)
        if desired == 0 { return -rs.specReplicas }
        let deploymentReplicas = desired + DU.maxSurge(d)
        let annotated = Int(DU.annotations(rs.object)[DU.maxReplicasAnnotation] ?? "")
            ?? DU.statusInt(d["status"], "replicas")
        guard annotated != 0 else { return 0 }
        let size = Double(rs.specReplicas * deploymentReplicas) / Double(annotated)
        return Int(size.rounded(.toNearestOrAwayFromZero)) - rs.specReplicas
    }

    // MARK: RollingUpdate

    func rolloutRolling(_ d: inout JSONValue, _ rsList: [ReplicaSetView]) async throws {
        let (created, oldRSs) = try await allReplicaSetsAndSyncRevision(&d, rsList, create: true)
        guard var newRS = created else { return }
        var all = oldRSs + [newRS]

        // reconcileNewReplicaSet
        let desired = DU.replicas(d)
        if newRS.specReplicas != desired {
            let target = newRS.specReplicas > desired ? desired : newRSReplicas(d, allRSs: all, newRSReplicas: newRS.specReplicas)
            let (scaled, updated) = try await scaleReplicaSet(newRS, to: target, d)
            if scaled {
                newRS = updated
                all = oldRSs + [newRS]
                try await syncRolloutStatus(&d, all, newRS)
                return
            }
        }

        let (scaledDown, updatedOld) = try await reconcileOldReplicaSets(d, all, oldRSs, newRS)
        if scaledDown {
            try await syncRolloutStatus(&d, updatedOld + [newRS], newRS)
            return
        }
        if DU.isComplete(d, d["status"]) {
            try await cleanupDeployment(d, oldRSs)
        }
        try await syncRolloutStatus(&d, all, newRS)
    }

    /// reconcileOldReplicaSets: scales old ReplicaSets down as far as maxUnavailable allows,
    /// unhealthy replicas first. Returns whether anything was scaled and the old set as it now is.
    func reconcileOldReplicaSets(_ d: JSONValue, _ allRSs: [ReplicaSetView], _ oldRSs: [ReplicaSetView],
                                 _ newRS: ReplicaSetView) async throws -> (Bool, [ReplicaSetView]) {
        var old = oldRSs
        let oldPods = old.active.specReplicaCount
        if oldPods == 0 { return (false, old) }
        let allPods = allRSs.specReplicaCount
        let minAvailable = DU.replicas(d) - DU.maxUnavailable(d)
        let newUnavailable = newRS.specReplicas - newRS.availableReplicas
        let maxScaledDown = allPods - minAvailable - newUnavailable
        if maxScaledDown <= 0 { return (false, old) }

        // cleanupUnhealthyReplicas
        old.sort(by: ReplicaSetView.olderFirst)
        var cleaned = 0
        for i in old.indices {
            if cleaned >= maxScaledDown { break }
            let rs = old[i]
            if rs.specReplicas == 0 || rs.specReplicas == rs.availableReplicas { continue }
            let count = min(maxScaledDown - cleaned, rs.specReplicas - rs.availableReplicas)
            // Upstream's guard: a status that lags a scale-down reports more available pods than
            // the spec asks for, and "scaling down" by a negative count would raise an old ReplicaSet.
            guard count >= 0 else {
                throw DeploymentError.invalidScaleDown(rs, to: rs.specReplicas - count, while: "cleaning up unhealthy replicas")
            }
            old[i] = try await scaleReplicaSet(rs, to: rs.specReplicas - count, d).rs
            cleaned += count
        }

        // scaleDownOldReplicaSetsForRollingUpdate
        var scaled = 0
        let availablePods = (old + [newRS]).availableCount
        if availablePods > minAvailable {
            let total = availablePods - minAvailable
            for i in old.indices {
                if scaled >= total { break }
                let rs = old[i]
                if rs.specReplicas == 0 { continue }
                let count = min(rs.specReplicas, total - scaled)
                old[i] = try await scaleReplicaSet(rs, to: rs.specReplicas - count, d).rs
                scaled += count
            }
        }
        return (cleaned + scaled > 0, old)
    }

    // MARK: Recreate

    func rolloutRecreate(_ d: inout JSONValue, _ rsList: [ReplicaSetView]) async throws {
        var (newRS, oldRSs) = try await allReplicaSetsAndSyncRevision(&d, rsList, create: false)

        var scaledDown = false
        for i in oldRSs.indices where oldRSs[i].specReplicas > 0 {
            let (scaled, updated) = try await scaleReplicaSet(oldRSs[i], to: 0, d)
            oldRSs[i] = updated
            if scaled { scaledDown = true }
        }
        if scaledDown {
            try await syncRolloutStatus(&d, oldRSs + [newRS].compactMap { $0 }, newRS)
            return
        }
        // Old pods still running (as their ReplicaSets report): wait for them to go.
        if oldRSs.statusReplicaCount > 0 {
            try await syncRolloutStatus(&d, oldRSs + [newRS].compactMap { $0 }, newRS)
            return
        }
        if newRS == nil {
            (newRS, oldRSs) = try await allReplicaSetsAndSyncRevision(&d, rsList, create: true)
        }
        if let rs = newRS {
            newRS = try await scaleReplicaSet(rs, to: DU.replicas(d), d).rs
        }
        if DU.isComplete(d, d["status"]) {
            try await cleanupDeployment(d, oldRSs)
        }
        try await syncRolloutStatus(&d, oldRSs + [newRS].compactMap { $0 }, newRS)
    }

    // MARK: History

    /// cleanupDeployment: deletes the oldest idle ReplicaSets beyond revisionHistoryLimit.
    func cleanupDeployment(_ d: JSONValue, _ oldRSs: [ReplicaSetView]) async throws {
        guard let limit = d[path: "spec", "revisionHistoryLimit"]?.intValue else { return }
        var cleanable = oldRSs.filter { !$0.deleting }
        let diff = cleanable.count - Int(limit)
        if diff <= 0 { return }
        cleanable.sort(by: ReplicaSetView.byRevision)
        for rs in cleanable.prefix(diff) {
            if rs.statusReplicas != 0 || rs.specReplicas != 0 || rs.generation > rs.observedGeneration || rs.deleting { continue }
            do {
                try await client.delete(Resources.replicasets, namespace: rs.object[path: "metadata", "namespace"]?.stringValue,
                                        name: rs.name, options: DeleteOptions(preconditionUID: rs.uid))
            } catch {
                if error.code != 404 { throw error }
            }
        }
    }

    // MARK: Status

    /// calculateStatus: counts from the ReplicaSets, and the Available condition.
    func calculateStatus(_ d: JSONValue, _ allRSs: [ReplicaSetView], _ newRS: ReplicaSetView?) -> JSONValue {
        let available = allRSs.availableCount
        let unavailable = max(0, allRSs.specReplicaCount - available)
        var status: JSONValue = [:]
        func put(_ key: String, _ value: Int64?) { if let value, value != 0 { status[key] = .int(value) } }
        put("observedGeneration", d[path: "metadata", "generation"]?.intValue)
        put("replicas", Int64(allRSs.statusReplicaCount))
        put("updatedReplicas", Int64(newRS?.statusReplicas ?? 0))
        put("readyReplicas", Int64(allRSs.readyCount))
        put("availableReplicas", Int64(available))
        put("unavailableReplicas", Int64(unavailable))
        if let conditions = d[path: "status", "conditions"], !(conditions.arrayValue ?? []).isEmpty {
            status["conditions"] = conditions
        }
        if let collisions = d[path: "status", "collisionCount"] { status["collisionCount"] = collisions }
        if available >= DU.replicas(d) - DU.maxUnavailable(d) {
            DU.setCondition(&status, DU.newCondition(DU.available, "True", DU.minimumReplicasAvailable,
                                                      "Deployment has minimum availability.", now: clock.now))
        } else {
            DU.setCondition(&status, DU.newCondition(DU.available, "False", DU.minimumReplicasUnavailable,
                                                      "Deployment does not have minimum availability.", now: clock.now))
        }
        return status
    }

    func syncDeploymentStatus(_ d: inout JSONValue, _ allRSs: [ReplicaSetView], _ newRS: ReplicaSetView?) async throws {
        let status = calculateStatus(d, allRSs, newRS)
        if status == (d["status"] ?? [:]) { return }
        try await writeStatus(&d, status)
    }

    /// syncRolloutStatus: the status plus the Progressing condition, and a requeue at the
    /// progress deadline while the rollout is under way.
    func syncRolloutStatus(_ d: inout JSONValue, _ allRSs: [ReplicaSetView], _ newRS: ReplicaSetView?) async throws {
        var status = calculateStatus(d, allRSs, newRS)
        let name = d[path: "metadata", "name"]?.stringValue ?? ""
        let now = clock.now
        if !DU.hasProgressDeadline(d) { DU.removeCondition(&status, DU.progressing) }
        let current = DU.condition(d["status"], DU.progressing)
        let complete = DU.statusInt(status, "replicas") == DU.statusInt(status, "updatedReplicas")
            && current?["reason"]?.stringValue == DU.newRSAvailableReason
        if DU.hasProgressDeadline(d) && !complete {
            if DU.isComplete(d, status) {
                let message = newRS.map { "ReplicaSet \"\($0.name)\" has successfully progressed." }
                    ?? "Deployment \"\(name)\" has successfully progressed."
                DU.setCondition(&status, DU.newCondition(DU.progressing, "True", DU.newRSAvailableReason, message, now: now))
            } else if DU.isProgressing(d, status) {
                let message = newRS.map { "ReplicaSet \"\($0.name)\" is progressing." } ?? "Deployment \"\(name)\" is progressing."
                var condition = DU.newCondition(DU.progressing, "True", DU.rsUpdatedReason, message, now: now)
                if let current {
                    if current["status"]?.stringValue == "True" { condition["lastTransitionTime"] = current["lastTransitionTime"] }
                    DU.removeCondition(&status, DU.progressing)
                }
                DU.setCondition(&status, condition)
            } else if DU.timedOut(d, status, now: now) {
                let message = newRS.map { "ReplicaSet \"\($0.name)\" has timed out progressing." }
                    ?? "Deployment \"\(name)\" has timed out progressing."
                DU.setCondition(&status, DU.newCondition(DU.progressing, "False", DU.timedOutReason, message, now: now))
            }
        }
        if status == (d["status"] ?? [:]) {
            requeueStuckDeployment(d, status)
            return
        }
        try await writeStatus(&d, status)
    }

    /// requeueStuckDeployment: checks again when the progress deadline would pass.
    func requeueStuckDeployment(_ d: JSONValue, _ status: JSONValue) {
        guard DU.hasProgressDeadline(d), let current = DU.condition(d["status"], DU.progressing),
              let key = ObjectKey(d) else { return }
        if DU.isComplete(d, status) || current["reason"]?.stringValue == DU.timedOutReason { return }
        guard let from = current["lastUpdateTime"]?.stringValue.flatMap(RFC3339.date(from:)) else { return }
        let deadline = Double(d[path: "spec", "progressDeadlineSeconds"]?.intValue ?? 600)
        let after = from.addingTimeInterval(deadline).timeIntervalSince(clock.now)
        if after < 1 {
            queue.addRateLimited(key)
        } else {
            queue.addAfter(key, .milliseconds(Int64((after + 1) * 1000)))
        }
    }

    /// checkPausedConditions: Progressing Unknown DeploymentPaused / DeploymentResumed.
    func checkPausedConditions(_ d: inout JSONValue) async throws {
        guard DU.hasProgressDeadline(d) else { return }
        let current = DU.condition(d["status"], DU.progressing)
        if current?["reason"]?.stringValue == DU.timedOutReason { return }
        let pausedExists = current?["reason"]?.stringValue == DU.pausedReason
        let paused = d[path: "spec", "paused"]?.boolValue == true
        var status = d["status"] ?? [:]
        if paused && !pausedExists {
            DU.setCondition(&status, DU.newCondition(DU.progressing, "Unknown", DU.pausedReason, "Deployment is paused", now: clock.now))
        } else if !paused && pausedExists {
            DU.setCondition(&status, DU.newCondition(DU.progressing, "Unknown", DU.resumedReason, "Deployment is resumed", now: clock.now))
        } else {
            return
        }
        try await writeStatus(&d, status)
    }
}
