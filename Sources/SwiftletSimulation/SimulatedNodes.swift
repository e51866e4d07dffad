import Foundation
import Synchronization
import SwiftletAPI
import SwiftletClient
import SwiftletMachinery

/// Nodes without machines, as KWOK makes them: each registers a Ready Node, renews its Lease
/// in `kube-node-lease` every 10 seconds (posting its status too when what is stored differs
/// from its own healthy view, as a kubelet does), and "runs" every pod bound to it at once —
/// the pod's status becomes Running and Ready with an address from the node's pod CIDR — and
/// removes a pod marked for deletion as a kubelet does once its containers have stopped.
///
/// Pods are followed through the shared pod informer and synced by several workers from a
/// work queue, so a thousand pods bound at once cost a thousand status writes and nothing
/// more. After a restart, nodes and pods with these names are adopted: addresses already
/// assigned stay assigned and are never handed out twice.
public final class SimulatedNodes: Sendable {
    public let count: Int
    public let namePrefix: String
    /// The node names, `<prefix>0` …
    public let nodeNames: [String]

    private let client: APIClient
    private let clock: any Clock
    private let log: LogSink
    private let workers: Int
    private let terminationDelay: Duration
    private let leaseInterval: Duration = .seconds(10)
    /// Node status is re-posted every this many lease renewals (a kubelet with leases reports
    /// status only every few minutes unless something changed).
    private let statusEveryLeases = 6

    private let pods: SharedInformer
    /// What the API server holds of our nodes, compared with our own view each heartbeat.
    private let nodes: SharedInformer
    private let queue: WorkQueue<ObjectKey>
    private let indexByName: [String: Int]

    private struct Assignment {
        var uid: String
        var node: String
        var ip: String
    }

    private struct State {
        var pools: [String: PodIPPool] = [:]
        var assignments: [ObjectKey: Assignment] = [:]
        var nodeUIDs: [String: String] = [:]
        var leases: [String: JSONValue] = [:]
        /// When (on the clock's `elapsed`) a pod marked for deletion was first seen so.
        var deletionSeen: [ObjectKey: Duration] = [:]
    }

    private let state: Mutex<State>

    /// - Parameters:
    ///   - workers: how many pods are synced at once.
    ///   - terminationDelay: how long after a pod is marked for deletion it is removed
    ///     (KWOK removes at once; measured on `clock`).
    public init(client: APIClient, informers: SharedInformerFactory, count: Int, namePrefix: String = "sim-node-",
                clock: any Clock = SystemClock(), log: @escaping LogSink, workers: Int = 16,
                terminationDelay: Duration = .zero) {
        self.client = client
        self.count = max(0, count)
        self.namePrefix = namePrefix
        self.clock = clock
        self.log = log
        self.workers = max(1, workers)
        self.terminationDelay = terminationDelay
        let names = (0..<max(0, count)).map { "\(namePrefix)\($0)" }
        self.nodeNames = names
        var indexByName: [String: Int] = [:]
        var pools: [String: PodIPPool] = [:]
        for (i, name) in names.enumerated() {
            indexByName[name] = i
            pools[name] = PodIPPool(prefix: SimulatedObjects.cidrPrefix(index: i))
        }
        self.indexByName = indexByName
        self.state = Mutex(State(pools: pools))
        self.queue = WorkQueue(clock: clock)
        self.pods = informers.informer(for: Resources.pods)
        self.nodes = informers.informer(for: Resources.nodes)

        let mine: @Sendable (JSONValue) -> ObjectKey? = { [indexByName] pod in
            guard let node = pod[path: "spec", "nodeName"]?.stringValue, indexByName[node] != nil else { return nil }
            return ObjectKey(pod)
        }
        let queue = self.queue
        pods.addEventHandler(EventHandler(
            onAdd: { pod in if let key = mine(pod) { queue.add(key) } },
            onUpdate: { _, pod in if let key = mine(pod) { queue.add(key) } },
            onDelete: { pod in if let key = mine(pod) { queue.add(key) } }))
    }

    /// The InternalIP of a simulated node (the `.1` of its pod CIDR).
    public func nodeIP(_ node: String) -> String? {
        indexByName[node].map { SimulatedObjects.cidrPrefix(index: $0) + "1" }
    }

    /// The pod CIDR of a simulated node.
    public func podCIDR(_ node: String) -> String? {
        indexByName[node].map { SimulatedObjects.cidrPrefix(index: $0) + "0/24" }
    }

    /// Registers the nodes, then heartbeats and runs pods until the task is cancelled.
    public func run() async {
        for name in nodeNames {
            if Task.isCancelled { return }
            await ensureNode(name)
        }
        pods.start()
        nodes.start()
        guard await pods.waitForSync(), await nodes.waitForSync() else { return }
        adoptAddresses()
        let runner = ControllerRunner(name: "simulated-nodes", queue: queue, workers: workers, log: log) { key in
            try await self.sync(key)
        }
        await withDiscardingTaskGroup { group in
            group.addTask { await runner.run() }
            group.addTask { await self.heartbeat() }
        }
    }

    // MARK: Nodes and leases

    /// Creates the node, or adopts one of that name: its labels and status are made ours.
    private func ensureNode(_ name: String) async {
        guard let index = indexByName[name] else { return }
        let prefix = SimulatedObjects.cidrPrefix(index: index)
        let now = clock.now
        do {
            let node: JSONValue
            do {
                node = try await client.create(Resources.nodes, SimulatedObjects.node(name: name, cidrPrefix: prefix, now: now))
            } catch where error.code == 409 {
                _ = try await client.patch(Resources.nodes, name: name,
                                           .merge(["metadata": ["labels": SimulatedObjects.labels(name: name)]]))
                node = try await client.patch(Resources.nodes, name: name,
                                              .merge(["status": SimulatedObjects.status(name: name, nodeIP: prefix + "1",
                                                                                        now: now, transition: now)]),
                                              subresource: "status")
            }
            let uid = node[path: "metadata", "uid"]?.stringValue
            state.withLock { $0.nodeUIDs[name] = uid }
        } catch {
            log("simulated node \(name): registering failed: \(error.message)")
        }
    }

    private func heartbeat() async {
        var tick = 0
        while !Task.isCancelled {
            let postStatus = tick > 0 && tick % statusEveryLeases == 0
            for name in nodeNames {
                if Task.isCancelled { return }
                if state.withLock({ $0.nodeUIDs[name] == nil }) {
                    await ensureNode(name)
                } else if postStatus || storedStatusDiffers(name) {
                    await postNodeStatus(name)
                }
                await renewLease(name)
            }
            tick += 1
            do { try await clock.sleep(for: leaseInterval) } catch { return }
        }
    }

    /// The kubelet's `nodeStatusUpdateFrequency` check: something else (the node lifecycle
    /// controller, after missed leases) has changed a condition this node reports.
    private func storedStatusDiffers(_ name: String) -> Bool {
        guard let node = nodes.get(name: name) else { return false }
        return SimulatedObjects.conditionsDiffer(node[path: "status", "conditions"]?.arrayValue ?? [])
    }

    /// Posts this node's own conditions with a fresh heartbeat.
    private func postNodeStatus(_ name: String) async {
        let now = clock.now
        do {
            let node = try await client.get(Resources.nodes, name: name)
            let conditions = SimulatedObjects.ownConditions(over: node[path: "status", "conditions"]?.arrayValue ?? [], now: now)
            _ = try await client.patch(Resources.nodes, name: name, .merge(["status": ["conditions": .array(conditions)]]),
                                       subresource: "status")
        } catch where error.code == 404 {
            state.withLock { _ = $0.nodeUIDs.removeValue(forKey: name) }
            await ensureNode(name)
        } catch {
            log("simulated node \(name): posting status failed: \(error.message)")
        }
    }

    /// Renews from the lease last written (one request), or reads/creates it when that fails.
    private func renewLease(_ name: String) async {
        let now = clock.now
        let renewTime = JSONValue.string(RFC3339.microString(from: now))
        let (cached, nodeUID) = state.withLock { ($0.leases[name], $0.nodeUIDs[name]) }
        if var lease = cached {
            lease[path: "spec", "renewTime"] = renewTime
            lease[path: "spec", "holderIdentity"] = .string(name)
            if let written = try? await client.update(Resources.leases, lease) {
                state.withLock { $0.leases[name] = written }
                return
            }
        }
        do {
            let written: JSONValue
            do {
                var lease = try await client.get(Resources.leases, namespace: SimulatedObjects.leaseNamespace, name: name)
                lease[path: "spec", "renewTime"] = renewTime
                lease[path: "spec", "holderIdentity"] = .string(name)
                lease[path: "spec", "leaseDurationSeconds"] = .int(SimulatedObjects.leaseDurationSeconds)
                written = try await client.update(Resources.leases, lease)
            } catch where error.code == 404 {
                written = try await client.create(Resources.leases, namespace: SimulatedObjects.leaseNamespace,
                                                  SimulatedObjects.lease(node: name, nodeUID: nodeUID, now: now))
            }
            state.withLock { $0.leases[name] = written }
        } catch {
            state.withLock { _ = $0.leases.removeValue(forKey: name) }
            log("simulated node \(name): renewing lease failed: \(error.message)")
        }
    }

    // MARK: Pods

    /// Records the addresses pods on our nodes already have, before any is handed out.
    private func adoptAddresses() {
        let existing = pods.list()
        state.withLock { s in
            for pod in existing { Self.adopt(pod, &s) }
        }
    }

    /// Takes over the address an existing pod holds; true if it holds one of ours.
    @discardableResult
    private static func adopt(_ pod: JSONValue, _ s: inout State) -> Bool {
        guard let key = ObjectKey(pod), let node = pod[path: "spec", "nodeName"]?.stringValue,
              let ip = pod[path: "status", "podIP"]?.stringValue, s.pools[node]?.contains(ip) == true else { return false }
        let uid = pod[path: "metadata", "uid"]?.stringValue ?? ""
        if let existing = s.assignments[key], existing.uid == uid, existing.ip == ip { return true }
        if let existing = s.assignments[key] { s.pools[existing.node]?.release(existing.ip) }
        s.pools[node]?.reserve(ip)
        s.assignments[key] = Assignment(uid: uid, node: node, ip: ip)
        return true
    }

    private func sync(_ key: ObjectKey) async throws {
        guard let pod = pods.get(key) else {
            release(key)
            return
        }
        guard let node = pod[path: "spec", "nodeName"]?.stringValue, let index = indexByName[node] else { return }
        let uid = pod[path: "metadata", "uid"]?.stringValue ?? ""

        if pod[path: "metadata", "deletionTimestamp"] != nil {
            try await terminate(pod, key: key, uid: uid)
            return
        }
        state.withLock { _ = $0.deletionSeen.removeValue(forKey: key) }

        let phase = pod[path: "status", "phase"]?.stringValue ?? "Pending"
        if phase != "Pending" {
            state.withLock { s in _ = Self.adopt(pod, &s) }
            return
        }
        let hostIP = SimulatedObjects.cidrPrefix(index: index) + "1"
        let podIP: String
        if pod[path: "spec", "hostNetwork"]?.boolValue == true {
            podIP = hostIP
        } else {
            podIP = try allocate(key: key, uid: uid, node: node)
        }
        var updated = pod
        updated["status"] = SimulatedObjects.runningStatus(of: pod, hostIP: hostIP, podIP: podIP, now: clock.now)
        do {
            _ = try await client.update(Resources.pods, updated, subresource: "status")
        } catch {
            // Gone meanwhile (404): the informer's delete brings the key back and frees the address.
            if error.code != 404 { throw error }
        }
    }

    /// Removes a pod marked for deletion once `terminationDelay` has passed since it was seen so.
    private func terminate(_ pod: JSONValue, key: ObjectKey, uid: String) async throws {
        if terminationDelay > .zero {
            let now = clock.elapsed
            let seen = state.withLock { s -> Duration in
                if let seen = s.deletionSeen[key] { return seen }
                s.deletionSeen[key] = now
                return now
            }
            let remaining = seen + terminationDelay - now
            if remaining > .zero {
                queue.addAfter(key, remaining)
                return
            }
        }
        do {
            try await client.delete(Resources.pods, namespace: key.namespace, name: key.name,
                                    options: DeleteOptions(gracePeriodSeconds: 0, preconditionUID: uid.isEmpty ? nil : uid))
        } catch {
            // 404: already gone; 409: a namesake replaced it, and the informer brings the key back.
            if error.code != 404, error.code != 409 { throw error }
        }
        state.withLock { _ = $0.deletionSeen.removeValue(forKey: key) }
    }

    private func allocate(key: ObjectKey, uid: String, node: String) throws -> String {
        let ip = state.withLock { s -> String? in
            if let existing = s.assignments[key] {
                if existing.uid == uid, existing.node == node { return existing.ip }
                s.pools[existing.node]?.release(existing.ip)
                s.assignments[key] = nil
            }
            guard let ip = s.pools[node]?.allocate() else { return nil }
            s.assignments[key] = Assignment(uid: uid, node: node, ip: ip)
            return ip
        }
        guard let ip else {
            throw APIError(code: 503, reason: "ServiceUnavailable", message: "node \(node) has no pod address left")
        }
        return ip
    }

    private func release(_ key: ObjectKey) {
        state.withLock { s in
            s.deletionSeen[key] = nil
            guard let existing = s.assignments.removeValue(forKey: key) else { return }
            s.pools[existing.node]?.release(existing.ip)
        }
    }

    /// Addresses currently handed out, by pod key (for tests and diagnostics).
    public var assignedPodIPs: [String: String] {
        state.withLock { s in
            Dictionary(uniqueKeysWithValues: s.assignments.map { ($0.key.description, $0.value.ip) })
        }
    }
}
