import Foundation
import Synchronization
import SwiftletAPI
import SwiftletClient
import SwiftletMachinery

/// Kubernetes' node lifecycle controller (`pkg/controller/nodelifecycle`) together with the
/// taint eviction controller (`pkg/controller/tainteviction`).
///
/// Node health: every `monitorPeriod` each node is checked. A kubelet proves it is alive by
/// renewing its Lease in `kube-node-lease` or by a new `lastHeartbeatTime` on its Ready
/// condition; the controller notes *when it saw* either change, on its own clock (as upstream's
/// `probeTimestamp`, so a skewed node clock does not matter). A node not heard from within
/// `gracePeriod` has its conditions set to Unknown (`NodeStatusUnknown`), its pods marked not
/// Ready, and the NoExecute taint that matches its Ready condition
/// (`node.kubernetes.io/unreachable` for Unknown, `node.kubernetes.io/not-ready` for False);
/// the taints go again once the node is Ready.
///
/// Taint eviction: a pod on a node with NoExecute taints is deleted at once if it does not
/// tolerate them, after the smallest matching `tolerationSeconds` (counted from the taint's
/// `timeAdded`) if it tolerates them for a while, and never if it tolerates them forever.
/// (The API server's DefaultTolerationSeconds admission gives pods their not-ready and
/// unreachable tolerations for `--default-toleration-seconds`.)
public final class NodeLifecycleController: Controller {
    public let name = "nodelifecycle"

    static let leaseNamespace = "kube-node-lease"
    static let unreachableTaintKey = "node.kubernetes.io/unreachable"
    static let notReadyTaintKey = "node.kubernetes.io/not-ready"
    /// The node conditions a kubelet posts, which go Unknown when it stops posting.
    static let watchedConditions = ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"]
    /// How long a node that never posted a Ready condition is given (`nodeStartupGracePeriod`).
    static let startupGracePeriod: Duration = .seconds(60)
    /// The pod index by `spec.nodeName` (own name, so another controller's index cannot differ).
    static let podsByNode = Indexer(name: "nodelifecycle.nodeName") { pod in
        guard let node = pod[path: "spec", "nodeName"]?.stringValue, !node.isEmpty else { return [] }
        return [node]
    }

    /// A unit of eviction work: every pod on a node, or one pod.
    enum EvictionKey: Hashable, Sendable {
        case node(String)
        case pod(ObjectKey)
    }

    /// What the monitor remembers of a node between checks.
    struct Health: Sendable {
        /// When (on `clock.elapsed`) the kubelet was last seen renewing something.
        var probe: Duration
        var readyHeartbeat: JSONValue?
        var leaseRenewTime: Date?
        /// The Ready status seen at the previous check, for transition events.
        var readyStatus: String?
    }

    let gracePeriod: Duration
    let monitorPeriod: Duration
    let client: APIClient
    let clock: any Clock
    let log: LogSink
    let nodeRecorder: EventRecorder
    let evictionRecorder: EventRecorder
    let nodes: SharedInformer
    let pods: SharedInformer
    let leases: SharedInformer
    let queue: WorkQueue<EvictionKey>
    let health = Mutex<[String: Health]>([:])
    /// How many monitor passes have finished (tests wait on it).
    let monitorPasses = Mutex(0)

    public init(context: ControllerContext, gracePeriod: Duration = .seconds(40), monitorPeriod: Duration = .seconds(5)) {
        self.gracePeriod = gracePeriod
        self.monitorPeriod = monitorPeriod
        client = context.client(for: "node-controller")
        clock = context.clock
        log = context.log
        nodeRecorder = context.recorder(component: "node-controller", client: client)
        evictionRecorder = context.recorder(component: "taint-eviction-controller", client: client)
        nodes = context.informers.informer(for: Resources.nodes)
        pods = context.informers.informer(for: Resources.pods)
        leases = context.informers.informer(for: Resources.leases, namespace: Self.leaseNamespace)
        queue = WorkQueue(clock: context.clock)
        pods.addIndexer(Self.podsByNode)
        nodes.addEventHandler(EventHandler(
            onAdd: { [weak self] node in self?.nodeChanged(nil, node) },
            onUpdate: { [weak self] old, new in self?.nodeChanged(old, new) },
            onDelete: { [weak self] node in
                guard let name = node[path: "metadata", "name"]?.stringValue else { return }
                self?.health.withLock { _ = $0.removeValue(forKey: name) }
            }))
        pods.addEventHandler(EventHandler(
            onAdd: { [weak self] pod in self?.podChanged(pod) },
            onUpdate: { [weak self] old, new in
                if old[path: "metadata", "resourceVersion"] == new[path: "metadata", "resourceVersion"] { return }
                self?.podChanged(new)
            }))
    }

    public func run(workers: Int) async {
        let runner = ControllerRunner(name: name, queue: queue, workers: workers, log: log) { [self] key in
            try await self.sync(key)
        }
        await withDiscardingTaskGroup { group in
            group.addTask { await runner.run() }
            group.addTask { await self.monitorLoop() }
        }
    }

    /// Checks every node each `monitorPeriod` until cancelled.
    func monitorLoop() async {
        var next = clock.elapsed + monitorPeriod
        while !Task.isCancelled {
            do { try await clock.sleep(until: next) } catch { return }
            await monitorNodeHealth()
            monitorPasses.withLock { $0 += 1 }
            next = max(next + monitorPeriod, clock.elapsed)
        }
    }

    // MARK: Event handlers

    private func nodeChanged(_ old: JSONValue?, _ new: JSONValue) {
        guard let name = new[path: "metadata", "name"]?.stringValue else { return }
        let oldTaints = old.map(Self.noExecuteTaints) ?? []
        let newTaints = Self.noExecuteTaints(new)
        if oldTaints != newTaints || (old == nil && !newTaints.isEmpty) { queue.add(.node(name)) }
    }

    private func podChanged(_ pod: JSONValue) {
        guard let node = pod[path: "spec", "nodeName"]?.stringValue, !node.isEmpty,
              pod[path: "metadata", "deletionTimestamp"] == nil,
              let nodeObject = nodes.get(name: node), !Self.noExecuteTaints(nodeObject).isEmpty,
              let key = ObjectKey(pod) else { return }
        queue.add(.pod(key))
    }
}
