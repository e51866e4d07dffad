import Synchronization
import SwiftletClient
import SwiftletMachinery

extension ReplicaSetController {
    /// client-go's `UIDTrackingControllerExpectations`: what a sync has asked the API server
    /// to do and the informer has not yet shown. While creates or deletes are outstanding the
    /// cache is known to be behind, so a sync would count wrong and act twice; it skips
    /// `manageReplicas` until every expected event has arrived or the expectation is older than
    /// `timeout` (a lost event must not wedge the controller forever).
    final class Expectations: Sendable {
        struct Record: Sendable, Equatable {
            var add: Int
            var del: Int
            var timestamp: Duration
            /// The pods (`ns/name`) whose deletion is expected: an update carrying a
            /// deletionTimestamp and the final delete event lower the count only once.
            var deleting: Set<String>

            var fulfilled: Bool { add <= 0 && del <= 0 }
        }

        static let timeout: Duration = .seconds(300)

        private let clock: any Clock
        private let records = Mutex<[ObjectKey: Record]>([:])

        init(clock: any Clock) { self.clock = clock }

        /// True when the controller may act on the cache: nothing is outstanding, or the
        /// expectation has timed out, or there is none.
        func satisfied(_ key: ObjectKey) -> Bool {
            let now = clock.elapsed
            return records.withLock { r in
                guard let record = r[key] else { return true }
                return record.fulfilled || now - record.timestamp > Self.timeout
            }
        }

        func record(_ key: ObjectKey) -> Record? { records.withLock { $0[key] } }

        /// `SetExpectations`: `creations` creates and the deletion of `pods` (`ns/name`).
        func expect(_ key: ObjectKey, creations: Int, deleting pods: [String]) {
            let now = clock.elapsed
            records.withLock { $0[key] = Record(add: creations, del: pods.count, timestamp: now, deleting: Set(pods)) }
        }

        func expectCreations(_ key: ObjectKey, _ count: Int) { expect(key, creations: count, deleting: []) }

        func expectDeletions(_ key: ObjectKey, pods: [String]) { expect(key, creations: 0, deleting: pods) }

        /// A create was seen by the informer, or will never be (it failed or was skipped).
        func creationObserved(_ key: ObjectKey, count: Int = 1) {
            records.withLock { r in
                guard r[key] != nil else { return }
                r[key]!.add -= count
            }
        }

        /// The deletion of `pod` (`ns/name`) was seen, or will never be.
        func deletionObserved(_ key: ObjectKey, pod: String) {
            records.withLock { r in
                guard r[key]?.deleting.remove(pod) != nil else { return }
                r[key]!.del -= 1
            }
        }

        /// Handlers for the owning resource: every change queues the owner, and an owner that
        /// is deleted, or replaced under the same name, drops what was expected of the old one.
        func ownerEventHandler(enqueue: @escaping @Sendable (JSONValue) -> Void) -> EventHandler {
            EventHandler(
                onAdd: enqueue,
                onUpdate: { [weak self] old, new in
                    if old[path: "metadata", "uid"] != new[path: "metadata", "uid"], let key = ObjectKey(old) {
                        self?.delete(key)
                    }
                    enqueue(new)
                },
                onDelete: { [weak self] object in
                    if let key = ObjectKey(object) { self?.delete(key) }
                    enqueue(object)
                })
        }

        func delete(_ key: ObjectKey) {
            records.withLock { _ = $0.removeValue(forKey: key) }
        }
    }
}
