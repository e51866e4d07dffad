import SwiftletMachinery

/// The Secrets and ConfigMaps a pod reads, as upstream's `VisitPodSecretNames` and
/// `VisitPodConfigmapNames` (`pkg/api/v1/pod`) find them: image pull secrets, volumes (and
/// projected sources), and every container's `env` and `envFrom`, init and ephemeral
/// containers included. The Node authorizer lets a node read exactly these for the pods bound
/// to it, and the node agent watches exactly these.
public enum PodReferences {
    public enum Kind: String, Sendable, Hashable {
        case secret
        case configMap = "configmap"
    }

    public static func secretNames(_ pod: JSONValue) -> Set<String> { names(pod, .secret) }
    public static func configMapNames(_ pod: JSONValue) -> Set<String> { names(pod, .configMap) }

    public static func names(_ pod: JSONValue, _ kind: Kind) -> Set<String> {
        var names = Set<String>()
        func add(_ value: JSONValue?) {
            let name = FieldRead.string(value)
            if !name.isEmpty { names.insert(name) }
        }
        let spec = pod["spec"] ?? .null
        if kind == .secret {
            for reference in spec["imagePullSecrets"]?.arrayValue ?? [] { add(reference["name"]) }
        }
        for volume in spec["volumes"]?.arrayValue ?? [] {
            switch kind {
            case .secret:
                add(volume[path: "secret", "secretName"])
                // Volume plugins that read their credentials from a Secret.
                for plugin in ["cephfs", "cinder", "flexVolume", "iscsi", "rbd", "scaleIO", "storageos", "csi"] {
                    add(volume[path: plugin, plugin == "csi" ? "nodePublishSecretRef" : "secretRef", "name"])
                }
                add(volume[path: "azureFile", "secretName"])
                for source in volume[path: "projected", "sources"]?.arrayValue ?? [] { add(source[path: "secret", "name"]) }
            case .configMap:
                add(volume[path: "configMap", "name"])
                for source in volume[path: "projected", "sources"]?.arrayValue ?? [] { add(source[path: "configMap", "name"]) }
            }
        }
        let keyReference = kind == .secret ? "secretKeyRef" : "configMapKeyRef"
        let sourceReference = kind == .secret ? "secretRef" : "configMapRef"
        for list in ["initContainers", "containers", "ephemeralContainers"] {
            for container in spec[list]?.arrayValue ?? [] {
                for variable in container["env"]?.arrayValue ?? [] { add(variable[path: "valueFrom", keyReference, "name"]) }
                for source in container["envFrom"]?.arrayValue ?? [] { add(source[path: sourceReference, "name"]) }
            }
        }
        return names
    }
}
