import Foundation
import SwiftletAPI
import SwiftletClient
import SwiftletMachinery

extension DaemonSetController {
    /// `getPatch`: what a ControllerRevision stores, a patch that replaces `spec.template`.
    static func revisionData(_ ds: JSONValue) -> JSONValue {
        var template = ds[path: "spec", "template"] ?? [:]
        template["$patch"] = "replace"
        return ["spec": ["template": template]]
    }

    /// The hash a revision stands for: its `controller-revision-hash` label, or (for a
    /// revision made before the label existed) the suffix of its name, as upstream relabels it.
    static func revisionHash(_ revision: JSONValue) -> String {
        if let hash = revision[path: "metadata", "labels", hashLabel]?.stringValue { return hash }
        return revision[path: "metadata", "name"]?.stringValue?.split(separator: "-").last.map(String.init) ?? ""
    }

    static func revisionNumber(_ revision: JSONValue) -> Int64 { revision["revision"]?.intValue ?? 0 }

    /// `history.EqualRevision`: the same stored template.
    static func sameData(_ revision: JSONValue, _ data: JSONValue) -> Bool {
        DeploymentUtil.normalized(revision["data"]) == DeploymentUtil.normalized(data)
    }

    /// `constructHistory`: the claimed ControllerRevisions split into the one for the current
    /// template (created, de-duplicated or renumbered to the newest revision as needed) and the
    /// old ones.
    func constructHistory(_ ds: JSONValue, selector: LabelSelector) async throws -> (current: JSONValue, old: [JSONValue]) {
        let namespace = ds[path: "metadata", "namespace"]?.stringValue ?? ""
        let histories = try await claim(Resources.controllerrevisions, ds, selector: selector,
                                        from: revisions.byIndex(name: Indexer.namespace.name, value: namespace))
        let data = Self.revisionData(ds)
        var currents: [JSONValue] = []
        var old: [JSONValue] = []
        for history in histories {
            if Self.sameData(history, data) { currents.append(history) } else { old.append(history) }
        }
        let next = (old.map(Self.revisionNumber).max() ?? 0) + 1
        guard !currents.isEmpty else {
            return (try await snapshot(ds, revision: next), old)
        }
        var current = try await dedupCurrent(ds, currents)
        for attempt in 0..<2 where Self.revisionNumber(current) < next {
            current["revision"] = .int(next)
            do {
                current = try await client.update(Resources.controllerrevisions, current)
            } catch {
                // The cache was behind (often: this controller's own renumbering); read it again.
                guard error.code == 409, attempt == 0 else { throw error }
                current = try await client.get(Resources.controllerrevisions, namespace: namespace,
                                               name: current[path: "metadata", "name"]?.stringValue ?? "")
            }
        }
        return (current, old)
    }

    /// `dedupCurHistories`: keeps the newest of several revisions of the current template;
    /// pods labelled with another one's hash are relabelled before it is deleted.
    func dedupCurrent(_ ds: JSONValue, _ currents: [JSONValue]) async throws -> JSONValue {
        let keep = currents.max { Self.revisionNumber($0) < Self.revisionNumber($1) }!
        let keepHash = Self.revisionHash(keep)
        let uid = ds[path: "metadata", "uid"]?.stringValue ?? ""
        for duplicate in currents where duplicate[path: "metadata", "uid"] != keep[path: "metadata", "uid"] {
            let hash = Self.revisionHash(duplicate)
            for pod in pods.byIndex(name: Indexer.controllerUID.name, value: uid)
            where pod[path: "metadata", "labels", Self.hashLabel]?.stringValue == hash {
                do {
                    _ = try await client.patch(Resources.pods, namespace: pod[path: "metadata", "namespace"]?.stringValue,
                                               name: pod[path: "metadata", "name"]?.stringValue ?? "",
                                               .merge(["metadata": ["labels": [Self.hashLabel: .string(keepHash)]]]))
                } catch {
                    if error.code != 404 { throw error }
                }
            }
            do {
                try await client.delete(Resources.controllerrevisions, namespace: duplicate[path: "metadata", "namespace"]?.stringValue,
                                        name: duplicate[path: "metadata", "name"]?.stringValue ?? "")
            } catch {
                if error.code != 404 { throw error }
            }
        }
        return keep
    }

    /// `snapshot`: a new ControllerRevision `<ds>-<hash>` of the current template. The hash is
    /// computed from the template (and the collision count) alone, so the same template always
    /// gets the same name and pod label, across DaemonSets of the same name too. A namesake
    /// with other data is a hash collision: the collision count goes up and the sync retries.
    func snapshot(_ ds: JSONValue, revision: Int64) async throws -> JSONValue {
        let collisionCount = ds[path: "status", "collisionCount"]?.intValue
        let hash = DeploymentUtil.podTemplateHash(ds[path: "spec", "template"], collisionCount: collisionCount)
        let namespace = ds[path: "metadata", "namespace"]?.stringValue
        let dsName = ds[path: "metadata", "name"]?.stringValue ?? ""
        let name = "\(dsName)-\(hash)"
        var labels = ds[path: "spec", "template", "metadata", "labels"]?.objectValue ?? JSONObject()
        labels[Self.hashLabel] = .string(hash)
        var metadata: JSONValue = ["name": .string(name), "namespace": .string(namespace ?? ""), "labels": .object(labels),
                                   "ownerReferences": [controllerReference(to: ds)]]
        if let annotations = ds[path: "metadata", "annotations"], !annotations.isNull { metadata["annotations"] = annotations }
        let data = Self.revisionData(ds)
        let object: JSONValue = ["apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": metadata,
                                 "data": data, "revision": .int(revision)]
        let createError: APIError
        do {
            return try await client.create(Resources.controllerrevisions, namespace: namespace, object)
        } catch {
            guard error.code == 409, error.reason == "AlreadyExists" else { throw error }
            createError = error
        }
        let existing = try await client.get(Resources.controllerrevisions, namespace: namespace, name: name)
        if Self.sameData(existing, data) {
            if let ref = Indexer.controllerReference(of: existing) {
                if ref["uid"] == ds[path: "metadata", "uid"] { return existing }
                if ref["kind"]?.stringValue == Self.kind, ref["name"]?.stringValue == dsName {
                    // Left by a deleted namesake (`--cascade=orphan`): the garbage collector is
                    // about to orphan it, and then this DaemonSet adopts it. Not a collision.
                    throw APIError(code: 409, reason: "Conflict",
                                   message: "controllerrevision \(name) still belongs to a deleted DaemonSet; will retry")
                }
            } else {
                // An orphan this DaemonSet could not claim (the cache had not seen it yet).
                throw APIError(code: 409, reason: "Conflict", message: "controllerrevision \(name) is not claimed yet; will retry")
            }
        }
        var fresh = try await client.get(Resources.daemonsets, namespace: namespace, name: dsName)
        let freshCount = fresh[path: "status", "collisionCount"]?.intValue
        if freshCount != collisionCount {
            throw APIError(code: 409, reason: "Conflict",
                           message: "found a stale collision count of DaemonSet \(dsName); will retry until it is updated")
        }
        fresh[path: "status", "collisionCount"] = .int((freshCount ?? 0) + 1)
        _ = try await client.update(Resources.daemonsets, fresh, subresource: "status")
        throw createError
    }

    /// `cleanupHistory`: deletes the oldest old revisions beyond `revisionHistoryLimit`,
    /// except those some pod still carries the hash of.
    func cleanupHistory(_ ds: JSONValue, old: [JSONValue], pods: [JSONValue]) async throws {
        let limit = Int(ds[path: "spec", "revisionHistoryLimit"]?.intValue ?? 10)
        var toKill = old.count - limit
        guard toKill > 0 else { return }
        let live = Set(pods.filter(PodState.isActive).compactMap { $0[path: "metadata", "labels", Self.hashLabel]?.stringValue })
        for revision in old.sorted(by: { Self.revisionNumber($0) < Self.revisionNumber($1) }) {
            if toKill <= 0 { break }
            if live.contains(Self.revisionHash(revision)) { continue }
            do {
                try await client.delete(Resources.controllerrevisions, namespace: revision[path: "metadata", "namespace"]?.stringValue,
                                        name: revision[path: "metadata", "name"]?.stringValue ?? "")
            } catch {
                if error.code != 404 { throw error }
            }
            toKill -= 1
        }
    }
}
