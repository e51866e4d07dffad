import SwiftletAPI
import SwiftletMachinery

/// Pods get the default not-ready/unreachable tolerations, their ServiceAccount (its token
/// volume and image pull secrets), start Pending, and a pod bound to a node is deleted gracefully: it is marked, and
/// the node's agent removes it once its containers have stopped.
struct PodStrategy: ResourceStrategy {
    /// `--default-toleration-seconds`: see `DefaultTolerationSeconds`.
    var defaultTolerationSeconds: Int64
    /// A ServiceAccount by namespace and name, from the API server's cache.
    var serviceAccount: @Sendable (String, String) -> JSONValue?
    /// A namespace's labels, from the API server's cache (Pod Security levels).
    var namespaceLabels: @Sendable (String) -> JSONObject?
    /// Whether the ServiceAccount admission runs (`APIServerConfig.serviceAccountAdmission`).
    var serviceAccountAdmission: Bool
    /// The random end of generated names, for the token volume's.
    var nameSuffix: @Sendable () -> String

    func admit(_ object: inout JSONValue) {
        DefaultTolerationSeconds.admit(&object, seconds: defaultTolerationSeconds)
    }

    func prepareForCreate(_ object: inout JSONValue, context: StrategyContext) throws(APIError) {
        if serviceAccountAdmission {
            try ServiceAccountAdmission.admit(&object, serviceAccount: serviceAccount, volumeSuffix: nameSuffix)
        }
        try enforcePodSecurity(object)
        object["status"] = ["phase": "Pending", "qosClass": .string(Self.qosClass(object))]
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

    /// Pod Security admission: a pod that violates its namespace's `enforce` level is refused
    /// with upstream's message. The warn level is the write handlers' (`podSecurityWarnings`).
    func enforcePodSecurity(_ pod: JSONValue) throws(APIError) {
        let namespace = FieldRead.string(pod[path: "metadata", "namespace"])
        let labels = namespaceLabels(namespace)
        let level = PodSecurity.level("enforce", namespaceLabels: labels)
        let violations = PodSecurity.violations(pod, level: level)
        guard !violations.isEmpty else { return }
        let name = FieldRead.string(pod[path: "metadata", "name"])
        throw APIError.forbidden(group: "", resource: "pods", name: name.isEmpty ? nil : name,
                                 reason: "violates PodSecurity \(GoText.quote(PodSecurity.policyName(level, mode: "enforce", namespaceLabels: labels))): \(violations.joined(separator: ", "))")
    }
}
