import Foundation
import Synchronization
import SwiftletAPI
import SwiftletClient
import SwiftletMachinery

/// Assigns pending pods to nodes, in the shape of kube-scheduler's default profile.
///
/// Informer handlers keep a `SchedulerCache` current (nodes, and what every bound pod takes
/// from its node) and queue the keys of pending pods. Workers take a key, filter and score
/// every node under the cache's lock, *assume* the pod onto the winner there (so the next
/// decision already counts it, before the informer has seen the binding), then bind through
/// the API outside the lock. A pod that fits nowhere gets PodScheduled=False/Unschedulable
/// and a FailedScheduling event, and is retried when a node is added or changes, when a
/// bound pod goes away, or after a back-off.
public final class Scheduler: Sendable {
    public static let schedulerName = "default-scheduler"

    public let name = "scheduler"
    private let client: APIClient
    private let clock: any Clock
    private let log: LogSink
    private let pods: SharedInformer
    private let nodes: SharedInformer
    private let cache = SchedulerCache()
    private let queue: WorkQueue<ObjectKey>
    private let recorder: EventRecorder
    /// Unschedulable attempts per pod uid, for the back-off.
    private let attempts = Mutex<[String: Int]>([:])

    /// Back-off of a pod that fits nowhere: 1 s doubling up to this, unless the cluster changes first.
    public static let maxUnschedulableBackoff: Duration = .seconds(60)

    public init(client: APIClient, informers: SharedInformerFactory, clock: any Clock = SystemClock(), log: @escaping LogSink) {
        self.client = client
        self.clock = clock
        self.log = log
        self.pods = informers.informer(for: Resources.pods)
        self.nodes = informers.informer(for: Resources.nodes)
        self.queue = WorkQueue(clock: clock)
        self.recorder = EventRecorder(client: client, component: Self.schedulerName, clock: clock, log: log)

        let cache = self.cache
        let queue = self.queue
        nodes.addEventHandler(EventHandler(
            onAdd: { node in Self.requeue(queue, cache.upsertNode(NodeInfo(node))) },
            onUpdate: { _, node in Self.requeue(queue, cache.upsertNode(NodeInfo(node))) },
            onDelete: { node in cache.removeNode(node[path: "metadata", "name"]?.stringValue ?? "") }))
        pods.addEventHandler(EventHandler(
            onAdd: { [weak self] pod in self?.podChanged(old: nil, new: pod) },
            onUpdate: { [weak self] old, new in self?.podChanged(old: old, new: new) },
            onDelete: { [weak self] pod in self?.podDeleted(pod) }))
    }

    /// Schedules until the task is cancelled. The informers must have been started; this
    /// waits for them to sync so that no decision is made on a partial picture.
    public func run(workers: Int) async {
        await withTaskCancellationHandler {
            guard await pods.waitForSync(), await nodes.waitForSync() else { return }
            await withDiscardingTaskGroup { group in
                for _ in 0..<max(1, workers) {
                    group.addTask { await self.work() }
                }
            }
        } onCancel: {
            queue.shutDown()
        }
        await recorder.flush()
    }

    // MARK: Informer handlers

    private static func requeue(_ queue: WorkQueue<ObjectKey>, _ keys: [ObjectKey]) {
        for key in keys { queue.add(key) }
    }

    private func podChanged(old: JSONValue?, new pod: JSONValue) {
        let uid = pod[path: "metadata", "uid"]?.stringValue ?? ""
        if let node = PodInfo.assignedNode(pod) {
            cache.addBoundPod(uid: uid, node: node, usage: PodUsage(PodInfo(pod)))
            return
        }
        if PodInfo.isTerminal(pod) || pod[path: "spec", "nodeName"]?.stringValue.map({ !$0.isEmpty }) == true {
            Self.requeue(queue, cache.removePod(uid: uid))
            return
        }
        guard PodInfo.isPending(pod), let key = ObjectKey(pod) else {
            cache.forgetUnschedulable(uid: uid)
            return
        }
        // Our own status writes change nothing a filter reads: they must not trigger a retry.
        if let old, PodInfo.isPending(old), old["spec"] == pod["spec"],
           old[path: "metadata", "labels"] == pod[path: "metadata", "labels"] {
            return
        }
        queue.add(key)
    }

    private func podDeleted(_ pod: JSONValue) {
        let uid = pod[path: "metadata", "uid"]?.stringValue ?? ""
        attempts.withLock { _ = $0.removeValue(forKey: uid) }
        Self.requeue(queue, cache.removePod(uid: uid))
    }

    // MARK: Workers

    private func work() async {
        var random = SplitMix64()
        while let key = await queue.get() {
            await scheduleOne(key, random: &random)
            queue.done(key)
        }
    }

    private func scheduleOne(_ key: ObjectKey, random: inout SplitMix64) async {
        guard let pod = pods.get(key), PodInfo.isPending(pod) else { return }
        let info = PodInfo(pod)
        switch cache.schedule(info, using: &random) {
        case .alreadyPlaced:
            return
        case .assigned(let node):
            await bind(pod, info, node: node)
        case .unschedulable(let message):
            await reportUnschedulable(pod, info, message: message)
        }
    }

    private func bind(_ pod: JSONValue, _ info: PodInfo, node: String) async {
        let namespace = info.key.namespace ?? "default"
        do {
            try await client.bind(pod: info.key.name, namespace: namespace, node: node)
            attempts.withLock { _ = $0.removeValue(forKey: info.uid) }
            queue.forget(info.key)
            recorder.event(Self.typed(pod), type: .normal, reason: "Scheduled",
                           message: "Successfully assigned \(namespace)/\(info.key.name) to \(node)")
        } catch {
            cache.forgetAssumed(uid: info.uid)
            if error.code == 404 { return }
            if error.code == 409 {
                // Already bound (the informer will say where) or being deleted: nothing to retry.
                log("scheduler: binding \(info.key) to \(node): \(error.message)")
                return
            }
            log("scheduler: binding \(info.key) to \(node) failed, will retry: \(error.message)")
            recorder.event(Self.typed(pod), type: .warning, reason: "FailedScheduling",
                           message: "Binding rejected: \(error.message)")
            queue.addRateLimited(info.key)
        }
    }

    private func reportUnschedulable(_ pod: JSONValue, _ info: PodInfo, message: String) async {
        let attempt = attempts.withLock { a -> Int in
            a[info.uid, default: 0] += 1
            return a[info.uid]!
        }
        let current = (pod[path: "status", "conditions"]?.arrayValue ?? []).first { $0["type"]?.stringValue == "PodScheduled" }
        let unchanged = current?["status"]?.stringValue == "False" && current?["reason"]?.stringValue == "Unschedulable"
            && current?["message"]?.stringValue == message
        if !unchanged {
            let transition = current?["status"]?.stringValue == "False"
                ? current?["lastTransitionTime"] ?? .string(RFC3339.string(from: clock.now))
                : .string(RFC3339.string(from: clock.now))
            let condition: JSONValue = [
                "type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": .string(message),
                "lastProbeTime": .null, "lastTransitionTime": transition,
            ]
            do {
                _ = try await client.patch(Resources.pods, namespace: info.key.namespace, name: info.key.name,
                                           .strategicMerge(["status": ["conditions": [condition]]]), subresource: "status")
            } catch where error.code == 404 {
                return
            } catch {
                log("scheduler: updating the PodScheduled condition of \(info.key): \(error.message)")
            }
        }
        recorder.event(Self.typed(pod), type: .warning, reason: "FailedScheduling", message: message)
        let seconds = min(Int64(1) << min(attempt - 1, 30), Self.maxUnschedulableBackoff.components.seconds)
        queue.addAfter(info.key, .seconds(seconds))
    }

    /// Objects from a list carry no kind; events need it for their involvedObject.
    private static func typed(_ pod: JSONValue) -> JSONValue {
        var pod = pod
        pod["kind"] = "Pod"
        pod["apiVersion"] = "v1"
        return pod
    }
}

/// A fast generator for breaking ties (one `getrandom` call to seed it, none per draw).
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64 = UInt64.random(in: .min ... .max)) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
