import Foundation
import SwiftletAPI
import SwiftletClient
import SwiftletMachinery

/// Runs one pod of each DaemonSet on every node that should run it: Kubernetes'
/// `pkg/controller/daemon`.
///
/// A sync snapshots the template as a ControllerRevision (whose hash labels the pods), claims
/// the matching pods, creates a pod for each eligible node that lacks one (bound to it through a
/// `metadata.name` node affinity, for the scheduler to place), deletes pods on nodes that no
/// longer qualify, duplicates and failed pods, rolls old-template pods over within
/// `maxUnavailable` (or, with `maxSurge`, starts each new pod next to the old one and deletes
/// the old one once the new one is available), trims the revision history and writes the status.
public final class DaemonSetController: Controller, PodOwningController {
    public var name: String { "daemonset" }
    static let component = "daemonset-controller"
    static let apiVersion = "apps/v1"
    static let kind = "DaemonSet"
    /// At most this many creates or deletes per sync (`BurstReplicas`).
    static let burstReplicas = 250
    static let hashLabel = "controller-revision-hash"
    static let generationLabel = "pod-template-generation"


    let client: APIClient
    let clock: any Clock
    let log: LogSink
    let recorder: EventRecorder
    let daemonSets: SharedInformer
    let pods: SharedInformer
    let nodes: SharedInformer
    let revisions: SharedInformer
    let queue: WorkQueue<ObjectKey>
    let expectations: ReplicaSetController.Expectations

    public init(context: ControllerContext) {
        self.client = context.client(for: "daemon-set-controller")
        self.clock = context.clock
        self.log = context.log
        self.recorder = context.recorder(component: Self.component, client: client)
        self.daemonSets = context.informers.informer(for: Resources.daemonsets)
        self.pods = context.informers.informer(for: Resources.pods)
        self.nodes = context.informers.informer(for: Resources.nodes)
        self.revisions = context.informers.informer(for: Resources.controllerrevisions)
        self.queue = WorkQueue(clock: context.clock)
        self.expectations = ReplicaSetController.Expectations(clock: context.clock)
        pods.addIndexer(.controllerUID)
        revisions.addIndexer(.controllerUID)
        daemonSets.addEventHandler(expectations.ownerEventHandler { [weak self] in self?.enqueue($0) })
        pods.addEventHandler(EventHandler(
            onAdd: { [weak self] in self?.podAdded($0) },
            onUpdate: { [weak self] old, new in self?.podUpdated(old, new) },
            onDelete: { [weak self] in self?.podDeleted($0) }))
        nodes.addEventHandler(EventHandler(
            onAdd: { [weak self] _ in self?.enqueueAll() },
            onUpdate: { [weak self] old, new in
                guard let self, !Self.isHeartbeatOnly(old, new) else { return }
                self.enqueueAll()
            },
            onDelete: { [weak self] _ in self?.enqueueAll() }))
        revisions.addEventHandler(EventHandler(
            onAdd: { [weak self] in self?.revisionChanged($0) },
            onUpdate: { [weak self] _, new in self?.revisionChanged(new) },
            onDelete: { [weak self] in self?.revisionChanged($0) }))
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

    func enqueueAll() {
        for ds in daemonSets.list() { enqueue(ds) }
    }

    /// `shouldIgnoreNodeUpdate`: a node update that changes nothing but its resourceVersion,
    /// managed fields and condition heartbeats cannot change where daemon pods belong.
    static func isHeartbeatOnly(_ old: JSONValue, _ new: JSONValue) -> Bool {
        func stripped(_ node: JSONValue) -> JSONValue {
            var node = node
            node[path: "metadata", "resourceVersion"] = nil
            node[path: "metadata", "managedFields"] = nil
            node[path: "status", "conditions"] = nil
            return node
        }
        return stripped(old) == stripped(new)
    }

    /// The DaemonSet the object's controller reference names, if it still exists with that uid.
    func controllingOwner(of object: JSONValue) -> JSONValue? {
        guard let ref = Indexer.controllerReference(of: object), ref["kind"]?.stringValue == Self.kind,
              let name = ref["name"]?.stringValue,
              let owner = daemonSets.get(namespace: object[path: "metadata", "namespace"]?.stringValue, name: name),
              owner[path: "metadata", "uid"] == ref["uid"] else { return nil }
        return owner
    }

    /// The DaemonSets in the object's namespace whose selector matches its labels.
    func matchingOwners(of object: JSONValue) -> [JSONValue] {
        let namespace = object[path: "metadata", "namespace"]?.stringValue ?? ""
        return daemonSets.byIndex(name: Indexer.namespace.name, value: namespace).filter { ds in
            guard let selector = try? LabelSelector.fromJSON(ds[path: "spec", "selector"]), !selector.isEverything else { return false }
            return selector.matches(PodState.labels(object))
        }
    }

    /// A revision's owner (or, for an orphan, every DaemonSet that might adopt it) re-syncs.
    func revisionChanged(_ revision: JSONValue) {
        if Indexer.controllerReference(of: revision) != nil {
            if let owner = controllingOwner(of: revision) { enqueue(owner) }
            return
        }
        for owner in matchingOwners(of: revision) { enqueue(owner) }
    }
}
