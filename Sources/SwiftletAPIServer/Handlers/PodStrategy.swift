import SwiftletAPI
import SwiftletMachinery

/// Pods get the default not-ready/unreachable tolerations, their ServiceAccount's image pull
/// secrets, start Pending, and a pod bound to a node is deleted gracefully: it is marked, and
/// the node's agent removes it once its containers have stopped.
struct PodStrategy: ResourceStrategy {
    /// `--default-toleration-seconds`: see `DefaultTolerationSeconds`.
    var defaultTolerationSeconds: Int64
    /// A ServiceAccount by namespace and name, from the API server's cache.
    var serviceAccount: @Sendable (String, String) -> JSONValue?

    func admit(_ object: inout JSONValue) {
        DefaultTolerationSeconds.admit(&object, seconds: defaultTolerationSeconds)
    }

    func prepareForCreate(_ object: inout JSONValue, context: StrategyContext) throws(APIError) {
        copyImagePullSecrets(&object)
        object["status"] = ["phase": "Pending", "qosClass": .string(Self.qosClass(object))]
    }

    /// As upstream's ServiceAccount admission: a pod that names no image pull secrets gets
    /// those of its ServiceAccount (`default` when it names none), in their order.
    private func copyImagePullSecrets(_ pod: inout JSONValue) {
        guard (pod[path: "spec", "imagePullSecrets"]?.arrayValue ?? []).isEmpty else { return }
        let namespace = pod[path: "metadata", "namespace"]?.stringValue ?? "default"
        let name = pod[path: "spec", "serviceAccountName"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } ?? "default"
        let secrets = serviceAccount(namespace, name)?["imagePullSecrets"]?.arrayValue?
            .compactMap { $0["name"]?.stringValue }.filter { !$0.isEmpty } ?? []
        guard !secrets.isEmpty else { return }
        pod[path: "spec", "imagePullSecrets"] = .array(secrets.map { ["name": .string($0)] })
    }

    func gracefulDeletion(_ object: JSONValue, requested: Int64?) -> Int64? {
        guard object[path: "spec", "nodeName"]?.stringValue?.isEmpty == false else { return 0 }
        let phase = object[path: "status", "phase"]?.stringValue
        if phase == "Succeeded" || phase == "Failed" { return 0 }
        return max(0, requested ?? object[path: "spec", "terminationGracePeriodSeconds"]?.intValue ?? 30)
    }

    /// Kubernetes' QoS classes: Guaranteed when every container has equal requests and
    /// limits for cpu and memory, BestEffort when none has any, Burstable otherwise.
    static func qosClass(_ pod: JSONValue) -> String {
        let containers = (pod[path: "spec", "containers"]?.arrayValue ?? []) + (pod[path: "spec", "initContainers"]?.arrayValue ?? [])
        var anySet = false
        var guaranteed = true
        for c in containers {
            let requests = c[path: "resources", "requests"]?.objectValue ?? JSONObject()
            let limits = c[path: "resources", "limits"]?.objectValue ?? JSONObject()
            if !requests.isEmpty || !limits.isEmpty { anySet = true }
            for resource in ["cpu", "memory"] {
                guard let limit = limits[resource] else { guaranteed = false; continue }
                if let request = requests[resource], request != limit { guaranteed = false }
            }
        }
        if !anySet { return "BestEffort" }
        return guaranteed ? "Guaranteed" : "Burstable"
    }
}

/// Namespaces start Active with the `kubernetes` finalizer, and the system ones stay.
struct NamespaceStrategy: ResourceStrategy {
    static let undeletable: Set<String> = ["default", "kube-system", "kube-public", "kube-node-lease"]

    func prepareForCreate(_ object: inout JSONValue, context: StrategyContext) throws(APIError) {
        object["status"] = ["phase": "Active"]
        if object[path: "spec", "finalizers"] == nil { object[path: "spec", "finalizers"] = ["kubernetes"] }
        let name = object[path: "metadata", "name"]?.stringValue ?? ""
        // Upstream labels every namespace with its own name, for namespace selectors.
        object[path: "metadata", "labels", "kubernetes.io/metadata.name"] = .string(name)
    }

    func prepareForUpdate(_ object: inout JSONValue, old: JSONValue, context: StrategyContext) throws(APIError) {
        let name = object[path: "metadata", "name"]?.stringValue ?? ""
        object[path: "metadata", "labels", "kubernetes.io/metadata.name"] = .string(name)
    }

    /// A namespace goes only when the namespace controller has emptied it and removed its
    /// `spec.finalizers` (through `/finalize`).
    func holdsDeletion(_ object: JSONValue) -> Bool {
        !(object[path: "spec", "finalizers"]?.arrayValue ?? []).isEmpty
    }

    func prepareForDeletion(_ object: inout JSONValue) {
        object[path: "status", "phase"] = "Terminating"
    }
}
