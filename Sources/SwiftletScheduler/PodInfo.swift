import SwiftletAPI
import SwiftletClient
import SwiftletMachinery

/// What the scheduler needs of a pod, read once from its JSON: what it asks of a node, and
/// what it takes from the node it runs on.
struct PodInfo: Sendable {
    var uid: String
    var key: ObjectKey
    /// The uid of the controller ownerReference, which spreading counts by.
    var ownerUID: String?
    /// What the filter checks against allocatable: containers summed, init containers as the
    /// maximum with that, plus overhead (upstream's `computePodResourceRequest`).
    var requests: ResourceAmounts
    /// The requested resources with a positive amount, cpu and memory first: what the
    /// resource filter walks for every node.
    var requestList: [(String, Int128)]
    /// cpu and memory as scoring counts them: an unset request counts as 100m / 200Mi.
    var nonZeroCPU: Int128
    var nonZeroMemory: Int128
    var hostPorts: [HostPort]
    var nodeSelector: [String: String]
    /// nil when the pod has no required node affinity.
    var requiredTerms: [NodeSelectorTerm]?
    var tolerations: [Toleration]

    static let defaultCPU: Int128 = 100_000_000            // 100m
    static let defaultMemory: Int128 = 200 * 1024 * 1024 * 1_000_000_000  // 200Mi

    init(_ pod: JSONValue) {
        uid = pod[path: "metadata", "uid"]?.stringValue ?? ""
        key = ObjectKey(pod) ?? ObjectKey(namespace: nil, name: "")
        ownerUID = Indexer.controllerReference(of: pod)?["uid"]?.stringValue
        let spec = pod["spec"] ?? .null

        var sum = ResourceAmounts()
        var cpuNonZero: Int128 = 0
        var memoryNonZero: Int128 = 0
        var ports: [HostPort] = []
        for container in spec["containers"]?.arrayValue ?? [] {
            let requests = Self.requests(of: container)
            sum = sum + requests
            cpuNonZero += requests.cpu == 0 ? Self.defaultCPU : requests.cpu
            memoryNonZero += requests.memory == 0 ? Self.defaultMemory : requests.memory
            ports += Self.hostPorts(of: container)
        }
        // Init containers run one at a time before the rest, so the pod needs the largest of
        // them; restartable ones (sidecars) keep running and add to everything after them.
        var initMax = ResourceAmounts()
        var sidecars = ResourceAmounts()
        for container in spec["initContainers"]?.arrayValue ?? [] {
            let requests = Self.requests(of: container)
            if container["restartPolicy"]?.stringValue == "Always" {
                sidecars = sidecars + requests
                sum = sum + requests
                ports += Self.hostPorts(of: container)
            } else {
                initMax = initMax.max(sidecars + requests)
            }
        }
        var total = sum.max(initMax)
        let overhead = ResourceAmounts(list: spec["overhead"])
        total = total + overhead
        requests = total
        requestList = total.names.map { ($0, total[$0]) }.filter { $0.1 > 0 }
        nonZeroCPU = Swift.max(cpuNonZero + sidecars.cpu, initMax.cpu) + overhead.cpu
        nonZeroMemory = Swift.max(memoryNonZero + sidecars.memory, initMax.memory) + overhead.memory
        hostPorts = ports

        var selector: [String: String] = [:]
        for (label, value) in spec["nodeSelector"]?.objectValue ?? JSONObject() {
            selector[label] = value.stringValue ?? ""
        }
        nodeSelector = selector
        if let terms = spec[path: "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms"]?.arrayValue {
            requiredTerms = terms.map(NodeSelectorTerm.init)
        } else {
            requiredTerms = nil
        }
        tolerations = (spec["tolerations"]?.arrayValue ?? []).map(Toleration.init)
    }

    /// A container's requests; a resource with only a limit requests the limit (as defaulting
    /// sets it, for objects written before defaulting did).
    private static func requests(of container: JSONValue) -> ResourceAmounts {
        var requests = ResourceAmounts(list: container[path: "resources", "requests"])
        let limits = ResourceAmounts(list: container[path: "resources", "limits"])
        for name in limits.names where container[path: "resources", "requests", name] == nil {
            requests[name] = limits[name]
        }
        return requests
    }

    private static func hostPorts(of container: JSONValue) -> [HostPort] {
        (container["ports"]?.arrayValue ?? []).compactMap { port in
            guard let number = port["hostPort"]?.intValue, number > 0 else { return nil }
            let ip = port["hostIP"]?.stringValue ?? ""
            return HostPort(ip: ip.isEmpty ? HostPort.anyIP : ip, proto: port["protocol"]?.stringValue ?? "TCP", port: number)
        }
    }
}

/// What a pod takes from the node it is on, as the node's sums count it.
struct PodUsage: Sendable {
    var requests: ResourceAmounts
    var nonZeroCPU: Int128
    var nonZeroMemory: Int128
    var hostPorts: [HostPort]
    var ownerUID: String?

    init(_ info: PodInfo) {
        requests = info.requests
        nonZeroCPU = info.nonZeroCPU
        nonZeroMemory = info.nonZeroMemory
        hostPorts = info.hostPorts
        ownerUID = info.ownerUID
    }
}

extension PodInfo {
    /// Whether this scheduler should place the pod: unassigned, ours, not gated, not going away.
    static func isPending(_ pod: JSONValue) -> Bool {
        let nodeName = pod[path: "spec", "nodeName"]?.stringValue ?? ""
        guard nodeName.isEmpty, pod[path: "metadata", "deletionTimestamp"] == nil else { return false }
        let scheduler = pod[path: "spec", "schedulerName"]?.stringValue ?? ""
        guard scheduler.isEmpty || scheduler == Scheduler.schedulerName else { return false }
        if let gates = pod[path: "spec", "schedulingGates"]?.arrayValue, !gates.isEmpty { return false }
        return !isTerminal(pod)
    }

    /// Bound to a node and still holding its resources.
    static func assignedNode(_ pod: JSONValue) -> String? {
        guard let node = pod[path: "spec", "nodeName"]?.stringValue, !node.isEmpty, !isTerminal(pod) else { return nil }
        return node
    }

    static func isTerminal(_ pod: JSONValue) -> Bool {
        let phase = pod[path: "status", "phase"]?.stringValue
        return phase == "Succeeded" || phase == "Failed"
    }
}
