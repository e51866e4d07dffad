import SwiftletAPI
import SwiftletMachinery

/// Upstream's Node authorizer (`plugin/pkg/auth/authorizer/node`) for kubelets' identities
/// (`system:node:NAME` in `system:nodes`): Secrets, ConfigMaps, ServiceAccount tokens and pods
/// only for the pods bound to that node, Leases only its own, everything else by the static
/// node rules (`BootstrapPolicy.nodeRules`). What it does not allow it has no opinion on, and
/// RBAC decides.
///
/// Upstream walks a graph kept from informers; here the relationships are read from the pod
/// watch cache when asked: the pods of one namespace bound to the node, and what they name.
struct NodeAuthorizer: Sendable {
    /// The pods of a namespace, from the API server's cache.
    let podsInNamespace: @Sendable (String) -> [JSONValue]

    enum Decision: Equatable {
        case allow
        case noOpinion(reason: String)
    }

    func authorize(node: String, _ a: AuthorizationAttributes) -> Decision {
        guard !node.isEmpty else { return .noOpinion(reason: "unknown node for user") }
        if a.isResourceRequest {
            switch (a.apiGroup, a.resource) {
            case ("", "secrets"): return readReferenced(node, .secret, a)
            case ("", "configmaps"): return readReferenced(node, .configMap, a)
            case ("", "serviceaccounts"): return createToken(node, a)
            case ("coordination.k8s.io", "leases"): return lease(node, a)
            case ("", "pods"): return pod(node, a)
            default: break
            }
        }
        return BootstrapPolicy.nodeRules.contains(where: { $0.allows(a) }) ? .allow : .noOpinion(reason: "")
    }

    private func readReferenced(_ node: String, _ kind: PodReferences.Kind, _ a: AuthorizationAttributes) -> Decision {
        guard ["get", "list", "watch"].contains(a.verb) else { return .noOpinion(reason: "can only read resources of this type") }
        guard a.subresource.isEmpty else { return .noOpinion(reason: "cannot read subresource") }
        guard !a.namespace.isEmpty else { return .noOpinion(reason: "can only read namespaced object of this type") }
        return related(node, a) { PodReferences.names($0, kind).contains(a.name) }
    }

    private func createToken(_ node: String, _ a: AuthorizationAttributes) -> Decision {
        guard a.verb == "create", !a.name.isEmpty else {
            return .noOpinion(reason: "can only create tokens for individual service accounts")
        }
        guard a.subresource == "token" else { return .noOpinion(reason: "can only create token subresource of serviceaccount") }
        return related(node, a) { Self.serviceAccount(of: $0) == a.name }
    }

    private func lease(_ node: String, _ a: AuthorizationAttributes) -> Decision {
        guard ["get", "create", "update", "patch", "delete"].contains(a.verb) else {
            return .noOpinion(reason: "can only get, create, update, patch, or delete a node lease")
        }
        guard a.namespace == NodeObjects.leaseNamespace else {
            return .noOpinion(reason: "can only access leases in the \(GoText.quote(NodeObjects.leaseNamespace)) system namespace")
        }
        // A create names no object in its path: NodeRestriction checks the body's name.
        guard a.verb == "create" || a.name == node else {
            return .noOpinion(reason: "can only access node lease with the same name as the requesting node")
        }
        return .allow
    }

    /// Reads of one pod need it bound to the node; lists and watches need the node's own
    /// `spec.nodeName` field selector. Writes go by the rules, and NodeRestriction.
    private func pod(_ node: String, _ a: AuthorizationAttributes) -> Decision {
        switch a.verb {
        case "get" where a.subresource.isEmpty || a.subresource == "status":
            return related(node, a) { FieldRead.string($0[path: "metadata", "name"]) == a.name }
        case "list", "watch":
            let selector = try? FieldSelector.parse(a.fieldSelector)
            guard selector?.requiredValue(for: "spec.nodeName") == node else {
                return .noOpinion(reason: "can only list/watch pods with spec.nodeName=\(node) field selector")
            }
            return .allow
        default:
            return BootstrapPolicy.nodeRules.contains(where: { $0.allows(a) }) ? .allow : .noOpinion(reason: "")
        }
    }

    /// Whether a pod of the request's namespace bound to the node relates to the object.
    private func related(_ node: String, _ a: AuthorizationAttributes, _ relates: (JSONValue) -> Bool) -> Decision {
        guard !a.name.isEmpty else { return .noOpinion(reason: "No Object name found") }
        let found = podsInNamespace(a.namespace).contains { pod in
            FieldRead.string(pod[path: "spec", "nodeName"]) == node && relates(pod)
        }
        return found ? .allow : .noOpinion(reason: "no relationship found between node '\(node)' and this object")
    }

    static func serviceAccount(of pod: JSONValue) -> String {
        let name = FieldRead.string(pod[path: "spec", "serviceAccountName"])
        return name.isEmpty ? ServiceAccountAdmission.defaultName : name
    }
}
