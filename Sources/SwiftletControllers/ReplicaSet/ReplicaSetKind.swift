import SwiftletAPI
import SwiftletMachinery

extension ReplicaSetController {
    /// The two resources this controller keeps: apps/v1 ReplicaSets (a `metav1.LabelSelector`)
    /// and core/v1 ReplicationControllers (a plain label map). Everything else is the same.
    public enum Kind: Sendable {
        case replicaSet, replicationController

        var resource: ResourceInfo {
            switch self {
            case .replicaSet: return Resources.replicasets
            case .replicationController: return Resources.replicationcontrollers
            }
        }

        var kind: String {
            switch self {
            case .replicaSet: return "ReplicaSet"
            case .replicationController: return "ReplicationController"
            }
        }

        var apiVersion: String {
            switch self {
            case .replicaSet: return "apps/v1"
            case .replicationController: return "v1"
            }
        }

        /// The controller's name in the manager (kube-controller-manager's `--controllers`).
        var controllerName: String {
            switch self {
            case .replicaSet: return "replicaset"
            case .replicationController: return "replicationcontroller"
            }
        }

        /// The events' `source.component`.
        var component: String {
            switch self {
            case .replicaSet: return "replicaset-controller"
            case .replicationController: return "replication-controller"
            }
        }

        /// The selector of `spec.selector`: `LabelSelectorAsSelector` for ReplicaSets,
        /// `labels.Set(...).AsSelector()` for ReplicationControllers.
        func selector(of object: JSONValue) throws(SelectorParseError) -> LabelSelector {
            switch self {
            case .replicaSet:
                return try LabelSelector.fromJSON(object[path: "spec", "selector"])
            case .replicationController:
                var set: [String: String] = [:]
                for (key, value) in object[path: "spec", "selector"]?.objectValue ?? JSONObject() {
                    set[key] = value.stringValue ?? ""
                }
                return LabelSelector(matching: set)
            }
        }
    }
}
