import Foundation
import SwiftletAPI
import SwiftletClient
import SwiftletMachinery

/// Keeps `spec.replicas` pods running for each ReplicaSet (or, as a second instance, each
/// ReplicationController): Kubernetes' `pkg/controller/replicaset`.
///
/// A sync claims the pods that match the selector (adopting orphans, releasing owned pods
/// that no longer match), creates missing pods in slow-start batches or deletes surplus ones
/// in the upstream order of preference, and writes the status. Expectations keep a sync from
/// acting again on a cache that has not yet caught up with its own writes.
public final class ReplicaSetController: Controller, PodOwningController {
    /// At most this many creates or deletes per sync (`BurstReplicas`).
    static let burstReplicas = 500
    /// The first slow-start batch; each later batch doubles.
    static let slowStartInitialBatchSize = 1

    public let kind: Kind
    public var name: String { kind.controllerName }

    let client: APIClient
    let clock: any Clock
    let log: LogSink
    let recorder: EventRecorder
    let owners: SharedInformer
    let pods: SharedInformer
    let queue: WorkQueue<ObjectKey>
    let expectations: Expectations

    public convenience init(context: ControllerContext) {
        self.init(context: context, kind: .replicaSet)
    }

    public init(context: ControllerContext, kind: Kind) {
        self.kind = kind
        self.client = context.client(for: kind.component)
        self.clock = context.clock
        self.log = context.log
        self.recorder = context.recorder(component: kind.component, client: client)
        self.owners = context.informers.informer(for: kind.resource)
        self.pods = context.informers.informer(for: Resources.pods)
        self.queue = WorkQueue(clock: context.clock)
        self.expectations = Expectations(clock: context.clock)
        owners.addIndexer(.controllerUID)
        pods.addIndexer(.controllerUID)
        owners.addEventHandler(expectations.ownerEventHandler { [weak self] in self?.enqueue($0) })
        pods.addEventHandler(EventHandler(
            onAdd: { [weak self] in self?.podAdded($0) },
            onUpdate: { [weak self] old, new in self?.podUpdated(old, new) },
            onDelete: { [weak self] in self?.podDeleted($0) }))
    }

    public func run(workers: Int) async {
        let runner = ControllerRunner(name: name, queue: queue, workers: workers, log: log) { [self] key in
            try await self.sync(key)
        }
        await runner.run()
    }

    // MARK: Event handlers

    func enqueue(_ object: JSONValue) {
        if let key = ObjectKey(object) { queue.add(key) }
    }

    /// The ReplicaSet `pod`'s controller reference names, if it is one of ours and still exists
    /// with that uid.
    func controllingOwner(of pod: JSONValue) -> JSONValue? {
        guard let ref = Indexer.controllerReference(of: pod), ref["kind"]?.stringValue == kind.kind,
              let name = ref["name"]?.stringValue,
              let owner = owners.get(namespace: pod[path: "metadata", "namespace"]?.stringValue, name: name),
              owner[path: "metadata", "uid"] == ref["uid"] else { return nil }
        return owner
    }

    /// The ReplicaSets in the pod's namespace whose selector matches it: who might adopt it.
    func matchingOwners(of pod: JSONValue) -> [JSONValue] {
        let namespace = pod[path: "metadata", "namespace"]?.stringValue ?? ""
        return owners.byIndex(name: Indexer.namespace.name, value: namespace).filter { owner in
            guard let selector = try? kind.selector(of: owner), !selector.isEverything else { return false }
            return selector.matches(PodState.labels(pod))
        }
    }

}
