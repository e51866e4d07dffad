import SwiftletClient
import SwiftletMachinery

/// A controller that owns pods through a controller ownerReference and tracks what it asked
/// for with expectations (ReplicaSet, ReplicationController, DaemonSet). Pod events reach it
/// the way upstream routes them: to the pod's controlling owner, or, for an orphan, to every
/// owner whose selector matches and that might adopt it.
protocol PodOwningController: AnyObject {
    var queue: WorkQueue<ObjectKey> { get }
    var expectations: ReplicaSetController.Expectations { get }
    func enqueue(_ owner: JSONValue)
    func controllingOwner(of pod: JSONValue) -> JSONValue?
    func matchingOwners(of pod: JSONValue) -> [JSONValue]
}

extension PodOwningController {
    func podAdded(_ pod: JSONValue) {
        if pod[path: "metadata", "deletionTimestamp"] != nil {
            // Restarted controller or re-listed: a pod already being deleted is a deletion.
            podDeleted(pod)
            return
        }
        if Indexer.controllerReference(of: pod) != nil {
            guard let owner = controllingOwner(of: pod), let key = ObjectKey(owner) else { return }
            expectations.creationObserved(key)
            queue.add(key)
            return
        }
        for owner in matchingOwners(of: pod) { enqueue(owner) }
    }

    func podUpdated(_ old: JSONValue, _ new: JSONValue) {
        if old[path: "metadata", "resourceVersion"] == new[path: "metadata", "resourceVersion"] { return }
        let labelsChanged = PodState.labels(old) != PodState.labels(new)
        if new[path: "metadata", "deletionTimestamp"] != nil {
            podDeleted(new)
            if labelsChanged { podDeleted(old) }
            return
        }
        let oldRef = Indexer.controllerReference(of: old), newRef = Indexer.controllerReference(of: new)
        let refChanged = oldRef != newRef
        if refChanged, oldRef != nil, let owner = controllingOwner(of: old) { enqueue(owner) }
        if newRef != nil {
            guard let owner = controllingOwner(of: new), let key = ObjectKey(owner) else { return }
            queue.add(key)
            let minReady = owner[path: "spec", "minReadySeconds"]?.intValue ?? 0
            if !PodState.isReady(old) && PodState.isReady(new) && minReady > 0 {
                // Check availability again once the pod has been ready long enough.
                queue.addAfter(key, .seconds(minReady) + .seconds(1))
            }
            return
        }
        if labelsChanged || refChanged {
            for owner in matchingOwners(of: new) { enqueue(owner) }
        }
    }

    func podDeleted(_ pod: JSONValue) {
        guard Indexer.controllerReference(of: pod) != nil,
              let owner = controllingOwner(of: pod), let key = ObjectKey(owner) else { return }
        expectations.deletionObserved(key, pod: PodState.key(pod))
        queue.add(key)
    }
}
