import Synchronization
import SwiftletClient

/// A node's running totals of what the pods on it take, kept incrementally as pods come and go.
struct NodeUsage: Sendable {
    var requested = ResourceAmounts()
    var nonZeroCPU: Int128 = 0
    var nonZeroMemory: Int128 = 0
    var podCount: Int64 = 0
    /// Host ports in use by protocol and port, with how many pods use each address.
    var ports: [PortSlot: [String: Int]] = [:]
    /// Pods per controller uid, for spreading.
    var owners: [String: Int] = [:]

    mutating func add(_ pod: PodUsage, sign: Int) {
        if sign > 0 {
            requested = requested + pod.requests
        } else {
            requested = requested - pod.requests
        }
        nonZeroCPU += Int128(sign) * pod.nonZeroCPU
        nonZeroMemory += Int128(sign) * pod.nonZeroMemory
        podCount += Int64(sign)
        for port in pod.hostPorts {
            let count = (ports[port.slot]?[port.ip] ?? 0) + sign
            ports[port.slot, default: [:]][port.ip] = count > 0 ? count : nil
            if ports[port.slot]?.isEmpty == true { ports[port.slot] = nil }
        }
        if let owner = pod.ownerUID {
            let count = (owners[owner] ?? 0) + sign
            owners[owner] = count > 0 ? count : nil
        }
    }

    func portConflict(_ wanted: [HostPort]) -> Bool {
        for port in wanted {
            guard let used = ports[port.slot] else { continue }
            if port.ip == HostPort.anyIP || used[HostPort.anyIP] != nil || used[port.ip] != nil { return true }
        }
        return false
    }
}

/// Why a node was filtered out: the upstream wording, and whether evicting pods could make
/// room (what the preemption part of the message says).
struct FilterFailure {
    var reasons: [String]
    var resolvable: Bool
}

/// The outcome of one scheduling attempt.
enum Decision {
    /// The pod is assumed onto the node: counted there until bound or forgotten.
    case assigned(node: String)
    /// No node fits; the message is upstream's FitError text.
    case unschedulable(message: String)
    /// The pod is already placed (assumed or bound) in the cache: nothing to do.
    case alreadyPlaced
}

/// The scheduler's view of the cluster: nodes, and for each pod on a node (bound, or assumed
/// by this scheduler before the informer has seen the binding) what it takes there. All
/// decisions are made under its lock, so concurrent workers never overcommit a node.
final class SchedulerCache: Sendable {
    private struct NodeEntry {
        var name: String
        var info: NodeInfo?
        var usage = NodeUsage()
    }

    private struct PodEntry {
        var node: String
        var usage: PodUsage
        var assumed: Bool
    }

    private struct State {
        /// Nodes in an array, so a scheduling pass walks them in place without copying.
        var nodeList: [NodeEntry] = []
        var nodeIndex: [String: Int] = [:]
        var pods: [String: PodEntry] = [:]
        /// Pods that found no node, keyed by uid: retried when the cluster changes.
        var unschedulable: [String: ObjectKey] = [:]
    }

    private let state = Mutex(State())

    /// The entry of `name`, made (without node info) if missing.
    private static func entryIndex(_ name: String, _ s: inout State) -> Int {
        if let index = s.nodeIndex[name] { return index }
        s.nodeList.append(NodeEntry(name: name))
        s.nodeIndex[name] = s.nodeList.count - 1
        return s.nodeList.count - 1
    }

    private static func removeEntry(_ name: String, _ s: inout State) {
        guard let index = s.nodeIndex.removeValue(forKey: name) else { return }
        let last = s.nodeList.count - 1
        if index != last {
            s.nodeList.swapAt(index, last)
            s.nodeIndex[s.nodeList[index].name] = index
        }
        s.nodeList.removeLast()
    }

    private static func adjust(_ node: String, _ usage: PodUsage, sign: Int, _ s: inout State) {
        let index = entryIndex(node, &s)
        s.nodeList[index].usage.add(usage, sign: sign)
        if sign < 0, s.nodeList[index].info == nil, s.nodeList[index].usage.podCount <= 0 { removeEntry(node, &s) }
    }

    // MARK: Nodes

    /// Adds or updates a node. Returns the pods to retry when what the filters see changed.
    func upsertNode(_ info: NodeInfo) -> [ObjectKey] {
        state.withLock { s in
            let index = Self.entryIndex(info.name, &s)
            let changed = s.nodeList[index].info != info
            if changed { s.nodeList[index].info = info }
            return changed ? Self.takeUnschedulable(&s) : []
        }
    }

    func removeNode(_ name: String) {
        state.withLock { s in
            // Pods still recorded on it keep their entry, in case the node comes back.
            guard let index = s.nodeIndex[name] else { return }
            if s.nodeList[index].usage.podCount > 0 {
                s.nodeList[index].info = nil
            } else {
                Self.removeEntry(name, &s)
            }
        }
    }

    var nodeCount: Int { state.withLock { s in s.nodeList.count { $0.info != nil } } }

    // MARK: Pods

    /// Records a pod the informer shows bound to `node` (confirming an assumption, or a pod
    /// bound by someone else).
    func addBoundPod(uid: String, node: String, usage: PodUsage) {
        state.withLock { s in
            s.unschedulable[uid] = nil
            if let existing = s.pods[uid] {
                if existing.node == node, !existing.assumed { return }
                Self.adjust(existing.node, existing.usage, sign: -1, &s)
            }
            s.pods[uid] = PodEntry(node: node, usage: usage, assumed: false)
            Self.adjust(node, usage, sign: 1, &s)
        }
    }

    /// Forgets a pod that was deleted, finished, or whose binding failed. Returns the pods to
    /// retry, since room was freed.
    @discardableResult
    func removePod(uid: String) -> [ObjectKey] {
        state.withLock { s in
            s.unschedulable[uid] = nil
            guard let existing = s.pods.removeValue(forKey: uid) else { return [] }
            Self.adjust(existing.node, existing.usage, sign: -1, &s)
            return Self.takeUnschedulable(&s)
        }
    }

    /// Forgets an assumption whose binding failed (a bound entry is left alone).
    func forgetAssumed(uid: String) {
        state.withLock { s in
            guard let existing = s.pods[uid], existing.assumed else { return }
            s.pods[uid] = nil
            Self.adjust(existing.node, existing.usage, sign: -1, &s)
        }
    }

    func isPlaced(uid: String) -> Bool { state.withLock { $0.pods[uid] != nil } }

    func forgetUnschedulable(uid: String) { state.withLock { _ = $0.unschedulable.removeValue(forKey: uid) } }

    func assumedNode(uid: String) -> String? { state.withLock { $0.pods[uid]?.node } }

    private static func takeUnschedulable(_ s: inout State) -> [ObjectKey] {
        guard !s.unschedulable.isEmpty else { return [] }
        defer { s.unschedulable = [:] }
        return Array(s.unschedulable.values)
    }

    // MARK: Scheduling

    /// Filters and scores every node for `pod` and, if one fits, assumes the pod onto the
    /// best (ties broken at random), all under the lock.
    func schedule<R: RandomNumberGenerator>(_ pod: PodInfo, using random: inout R) -> Decision {
        state.withLock { s in
            if s.pods[pod.uid] != nil { return .alreadyPlaced }
            var best: Int?
            var bestOwned = Int.max
            var bestScore = Int128.min
            var ties = 0
            var failures: [String: Int] = [:]
            var unresolvable = 0
            var resolvable = 0
            var total = 0
            for index in s.nodeList.indices where s.nodeList[index].info != nil {
                total += 1
                if let failure = Self.filter(pod, s.nodeList[index].info!, s.nodeList[index].usage) {
                    for reason in failure.reasons { failures[reason, default: 0] += 1 }
                    if failure.resolvable { resolvable += 1 } else { unresolvable += 1 }
                    continue
                }
                let owned = pod.ownerUID.flatMap { s.nodeList[index].usage.owners[$0] } ?? 0
                let score = Self.leastRequestedScore(pod, s.nodeList[index].info!, s.nodeList[index].usage)
                if owned < bestOwned || (owned == bestOwned && score > bestScore) {
                    best = index
                    bestOwned = owned
                    bestScore = score
                    ties = 1
                } else if owned == bestOwned, score == bestScore {
                    ties += 1
                    if Int.random(in: 0..<ties, using: &random) == 0 { best = index }
                }
            }
            guard let best else {
                s.unschedulable[pod.uid] = pod.key
                return .unschedulable(message: Self.fitError(total: total, failures: failures,
                                                            unresolvable: unresolvable, resolvable: resolvable))
            }
            let usage = PodUsage(pod)
            let node = s.nodeList[best].name
            s.pods[pod.uid] = PodEntry(node: node, usage: usage, assumed: true)
            s.nodeList[best].usage.add(usage, sign: 1)
            s.unschedulable[pod.uid] = nil
            return .assigned(node: node)
        }
    }

    /// The default profile's filters, in its order; the first that fails names the reasons.
    static func filter(_ pod: PodInfo, _ node: NodeInfo, _ usage: NodeUsage) -> FilterFailure? {
        // NodeUnschedulable: tolerated only by a toleration of its taint.
        if node.unschedulable {
            let taint = Taint(key: "node.kubernetes.io/unschedulable", value: "", effect: "NoSchedule")
            if !pod.tolerations.contains(where: { $0.tolerates(taint) }) {
                return FilterFailure(reasons: ["node(s) were unschedulable"], resolvable: false)
            }
        }
        // TaintToleration.
        for taint in node.taints where !pod.tolerations.contains(where: { $0.tolerates(taint) }) {
            return FilterFailure(reasons: ["node(s) had untolerated taint {\(taint.key): \(taint.value)}"], resolvable: false)
        }
        // NodeAffinity: nodeSelector and required terms (any term may match).
        let selectorMatches = pod.nodeSelector.allSatisfy { node.labels[$0.key] == $0.value }
        let affinityMatches = pod.requiredTerms.map { terms in terms.contains { $0.matches(node) } } ?? true
        if !selectorMatches || !affinityMatches {
            return FilterFailure(reasons: ["node(s) didn't match Pod's node affinity/selector"], resolvable: false)
        }
        // NodePorts.
        if !pod.hostPorts.isEmpty, usage.portConflict(pod.hostPorts) {
            return FilterFailure(reasons: ["node(s) didn't have free ports for the requested pod ports"], resolvable: true)
        }
        // NodeResourcesFit.
        var reasons: [String] = []
        if usage.podCount + 1 > node.allocatablePods { reasons.append("Too many pods") }
        for (name, wanted) in pod.requestList where wanted > node.allocatable[name] - usage.requested[name] {
            reasons.append("Insufficient \(name)")
        }
        return reasons.isEmpty ? nil : FilterFailure(reasons: reasons, resolvable: true)
    }

    /// NodeResourcesFit's LeastAllocated: the free share of cpu and memory after placing the
    /// pod, 0...100 each, averaged (scaled by 100 to stay in integers).
    static func leastRequestedScore(_ pod: PodInfo, _ node: NodeInfo, _ usage: NodeUsage) -> Int128 {
        func free(_ capacity: Int128, _ requested: Int128) -> Int128 {
            guard capacity > 0, requested <= capacity else { return 0 }
            return (capacity - requested) * 10_000 / capacity
        }
        return (free(node.allocatable.cpu, usage.nonZeroCPU + pod.nonZeroCPU)
                + free(node.allocatable.memory, usage.nonZeroMemory + pod.nonZeroMemory)) / 2
    }

    /// Upstream's FitError text, with the preemption part as it reads when nothing can be
    /// preempted: "0/3 nodes are available: 1 node(s) didn't match Pod's node
    /// affinity/selector, 2 Insufficient cpu. preemption: 0/3 nodes are available: 1
    /// Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod."
    static func fitError(total: Int, failures: [String: Int], unresolvable: Int, resolvable: Int) -> String {
        if total == 0 { return "no nodes available to schedule pods" }
        let histogram = failures.map { "\($0.value) \($0.key)" }.sorted()
        var preemption: [String] = []
        if unresolvable > 0 { preemption.append("\(unresolvable) Preemption is not helpful for scheduling") }
        if resolvable > 0 { preemption.append("\(resolvable) No preemption victims found for incoming pod") }
        return "0/\(total) nodes are available: \(histogram.joined(separator: ", ")). preemption: 0/\(total) nodes are available: \(preemption.sorted().joined(separator: ", "))."
    }
}
