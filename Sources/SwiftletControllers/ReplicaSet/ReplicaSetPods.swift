import Foundation
import SwiftletMachinery

extension ReplicaSetController {
    /// `controller.ActivePodsWithRanks`: the order in which a scale-down deletes pods, most
    /// deletable first.
    struct RankedPods {
        var pods: [JSONValue]
        /// How many related active pods share each pod's node: doubled-up pods go first.
        var ranks: [Int]
        var now: Date

        static let deletionCostAnnotation = "controller.kubernetes.io/pod-deletion-cost"

        /// The pods in deletion order.
        func sorted() -> [JSONValue] {
            let indices = pods.indices.sorted { less($0, $1) }
            return indices.map { pods[$0] }
        }

        func less(_ i: Int, _ j: Int) -> Bool {
            let a = pods[i], b = pods[j]
            // 1. Unassigned < assigned.
            let nodeA = PodState.nodeName(a), nodeB = PodState.nodeName(b)
            if nodeA != nodeB && (nodeA.isEmpty || nodeB.isEmpty) { return nodeA.isEmpty }
            // 2. Pending < Unknown < Running.
            let phaseA = Self.phaseOrdinal(a), phaseB = Self.phaseOrdinal(b)
            if phaseA != phaseB { return phaseA < phaseB }
            // 3. Not ready < ready.
            let readyA = PodState.isReady(a), readyB = PodState.isReady(b)
            if readyA != readyB { return !readyA }
            // 4. Lower pod-deletion-cost < higher.
            let costA = Self.deletionCost(a), costB = Self.deletionCost(b)
            if costA != costB { return costA < costB }
            // 5. Doubled up < not doubled up.
            if ranks[i] != ranks[j] { return ranks[i] > ranks[j] }
            // 6. Ready for a shorter time < longer (logarithmic buckets, as LogarithmicScaleDown).
            if readyA && readyB {
                let timeA = PodState.readyTime(a), timeB = PodState.readyTime(b)
                if timeA != timeB, let result = compareTimes(timeA, timeB, a, b) { return result }
            }
            // 7. More container restarts < fewer.
            let restartsA = Self.maxRestarts(a), restartsB = Self.maxRestarts(b)
            if restartsA.regular != restartsB.regular { return restartsA.regular > restartsB.regular }
            if restartsA.sidecar != restartsB.sidecar { return restartsA.sidecar > restartsB.sidecar }
            // 8. Newer < older (logarithmic buckets).
            let createdA = Self.creationTime(a), createdB = Self.creationTime(b)
            if createdA != createdB, let result = compareTimes(createdA, createdB, a, b) { return result }
            return false
        }

        /// Later (or unknown) first; times in the same power-of-two age bucket are ordered by uid.
        private func compareTimes(_ t1: Date?, _ t2: Date?, _ a: JSONValue, _ b: JSONValue) -> Bool? {
            guard let t1, let t2 else { return t1 == nil }
            let diff = Self.logarithmicRank(t1, now: now) - Self.logarithmicRank(t2, now: now)
            if diff == 0 {
                let uidA = a[path: "metadata", "uid"]?.stringValue ?? "", uidB = b[path: "metadata", "uid"]?.stringValue ?? ""
                return uidA == uidB ? nil : uidA < uidB
            }
            return diff < 0
        }

        /// floor(log2(age in nanoseconds)), or -1 for a time not in the past.
        static func logarithmicRank(_ time: Date, now: Date) -> Int64 {
            let nanos = now.timeIntervalSince(time) * 1e9
            guard nanos > 0 else { return -1 }
            return Int64(log2(nanos).rounded(.down))
        }

        static func phaseOrdinal(_ pod: JSONValue) -> Int {
            switch pod[path: "status", "phase"]?.stringValue {
            case "Unknown": return 1
            case "Running": return 2
            default: return 0
            }
        }

        static func deletionCost(_ pod: JSONValue) -> Int32 {
            guard let text = pod[path: "metadata", "annotations", deletionCostAnnotation]?.stringValue else { return 0 }
            return Int32(text) ?? 0
        }

        static func creationTime(_ pod: JSONValue) -> Date? {
            pod[path: "metadata", "creationTimestamp"]?.stringValue.flatMap(RFC3339.date(from:))
        }

        /// The most restarts of a regular container, and of a restartable init (sidecar) container.
        static func maxRestarts(_ pod: JSONValue) -> (regular: Int64, sidecar: Int64) {
            let regular = (pod[path: "status", "containerStatuses"]?.arrayValue ?? [])
                .map { $0["restartCount"]?.intValue ?? 0 }.max() ?? 0
            let sidecars = Set((pod[path: "spec", "initContainers"]?.arrayValue ?? [])
                .filter { $0["restartPolicy"]?.stringValue == "Always" }
                .compactMap { $0["name"]?.stringValue })
            let sidecar = (pod[path: "status", "initContainerStatuses"]?.arrayValue ?? [])
                .filter { sidecars.contains($0["name"]?.stringValue ?? "") }
                .map { $0["restartCount"]?.intValue ?? 0 }.max() ?? 0
            return (regular, sidecar)
        }
    }

    /// `getPodsToDelete`: the `count` pods to remove, ranked against the related pods (those of
    /// every ReplicaSet with the same owner) so that pods doubled up on a node go first.
    static func podsToDelete(_ pods: [JSONValue], related: [JSONValue], count: Int, now: Date) -> [JSONValue] {
        guard count < pods.count else { return pods }
        var onNode: [String: Int] = [:]
        for pod in related where PodState.isActive(pod) { onNode[PodState.nodeName(pod), default: 0] += 1 }
        let ranked = RankedPods(pods: pods, ranks: pods.map { onNode[PodState.nodeName($0)] ?? 0 }, now: now)
        return Array(ranked.sorted().prefix(count))
    }
}
