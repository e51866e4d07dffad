import SwiftletAPI
import SwiftletMachinery

/// Upstream's NodeRestriction admission (`plugin/pkg/admission/noderestriction`): a kubelet's
/// writes reach only its own Node and Lease, the pods bound to it (status, eviction, deletion),
/// and tokens bound to those pods. Its messages are upstream's.
extension APIServer {
    static let mirrorPodAnnotation = "kubernetes.io/config.mirror"

    /// Called for a node user's creates, updates, patches and deletes, before they run.
    func admitNodeWrite(node: String, _ a: AuthorizationAttributes, storage: ResourceStorage, request: HTTPRequest) throws(APIError) {
        func forbidden(_ reason: String) -> APIError {
            .forbidden(group: a.apiGroup, resource: a.resource, name: a.name.isEmpty ? nil : a.name, reason: reason)
        }
        let operation = a.verb == "patch" ? "UPDATE" : a.verb == "deletecollection" ? "DELETE" : a.verb.uppercased()
        switch (a.apiGroup, a.resource) {
        case ("", "pods"):
            switch a.subresource {
            case "":
                if a.verb == "create" {
                    let (pod, _) = try decodeBody(request, type: storage.type)
                    guard pod[path: "metadata", "annotations", Self.mirrorPodAnnotation] != nil else {
                        throw forbidden("pod does not have \(GoText.quote(Self.mirrorPodAnnotation)) annotation, node \(GoText.quote(node)) can only create mirror pods")
                    }
                    guard FieldRead.string(pod[path: "spec", "nodeName"]) == node else {
                        throw forbidden("node \(GoText.quote(node)) can only create pods with spec.nodeName set to itself")
                    }
                    return
                }
                guard a.verb == "delete" else {
                    throw forbidden("unexpected operation \(GoText.quote(operation)), node \(GoText.quote(node)) can only create and delete mirror pods")
                }
                guard try boundNode(ofPod: a.name, namespace: a.namespace, storage: storage) == node else {
                    throw forbidden("node \(GoText.quote(node)) can only delete pods with spec.nodeName set to itself")
                }
            case "status":
                guard a.verb == "update" || a.verb == "patch" else { throw forbidden("unexpected operation \(GoText.quote(operation))") }
                guard try boundNode(ofPod: a.name, namespace: a.namespace, storage: storage) == node else {
                    throw forbidden("node \(GoText.quote(node)) can only update pod status for pods with spec.nodeName set to itself")
                }
            case "eviction":
                guard a.verb == "create" else { throw forbidden("unexpected operation \(operation)") }
                guard try boundNode(ofPod: a.name, namespace: a.namespace, storage: storage) == node else {
                    throw forbidden("node \(node) can only evict pods with spec.nodeName set to itself")
                }
            default:
                throw forbidden("unexpected pod subresource \(GoText.quote(a.subresource)), only 'status' and 'eviction' are allowed")
            }
        case ("", "nodes"):
            var requested = a.name
            if a.verb == "create" {
                let (object, _) = try decodeBody(request, type: storage.type)
                requested = FieldRead.string(object[path: "metadata", "name"])
                guard requested == node else {
                    throw forbidden("node \(GoText.quote(node)) is not allowed to modify node \(GoText.quote(requested))")
                }
                let labels = Set((object[path: "metadata", "labels"]?.objectValue ?? JSONObject()).keys)
                let refused = NodeLabelPolicy.forbidden(labels)
                if !refused.isEmpty {
                    throw forbidden("node \(GoText.quote(node)) is not allowed to set the following labels: \(refused.joined(separator: ", "))")
                }
                return
            }
            guard requested == node else {
                throw forbidden("node \(GoText.quote(node)) is not allowed to modify node \(GoText.quote(requested))")
            }
        case ("", "serviceaccounts") where a.verb == "create" && a.subresource == "token":
            let (tokenRequest, _) = try decodeBody(request, type: Self.tokenRequestType)
            let reference = tokenRequest[path: "spec", "boundObjectRef"] ?? .null
            let podName = FieldRead.string(reference["name"])
            guard FieldRead.string(reference["apiVersion"]) == "v1", FieldRead.string(reference["kind"]) == "Pod", !podName.isEmpty else {
                throw forbidden("node requested token not bound to a pod")
            }
            let uid = FieldRead.string(reference["uid"])
            guard !uid.isEmpty else { throw forbidden("node requested token with a pod binding without a uid") }
            guard let pods = self.storage(for: Resources.pods) else { throw APIError.notFoundPath() }
            let pod = try pods.get(namespace: a.namespace, name: podName).object()
            guard FieldRead.string(pod[path: "metadata", "uid"]) == uid else {
                throw forbidden("the UID in the bound object reference (\(uid)) does not match the UID in record. The object might have been deleted and then recreated")
            }
            guard FieldRead.string(pod[path: "spec", "nodeName"]) == node else {
                throw forbidden("node requested token bound to a pod scheduled on a different node")
            }
        case ("coordination.k8s.io", "leases"):
            guard a.namespace == NodeObjects.leaseNamespace else {
                throw forbidden("can only access leases in the \(GoText.quote(NodeObjects.leaseNamespace)) system namespace")
            }
            var name = a.name
            if a.verb == "create" { name = FieldRead.string(try decodeBody(request, type: storage.type).0[path: "metadata", "name"]) }
            guard name == node else { throw forbidden("can only access node lease with the same name as the requesting node") }
        default:
            return
        }
    }

    /// The node a stored pod is bound to; a missing pod is the 404 upstream's admission returns.
    private func boundNode(ofPod name: String, namespace: String, storage: ResourceStorage) throws(APIError) -> String {
        FieldRead.string(try storage.get(namespace: namespace, name: name).object()[path: "spec", "nodeName"])
    }
}

/// Which of its own labels a node may set or change (upstream's `getForbiddenLabels` and the
/// kubelet's label set, `kubeletapis.IsKubeletLabel`): none under `node-restriction.kubernetes.io`,
/// and of the `kubernetes.io` and `k8s.io` labels only those the kubelet sets.
enum NodeLabelPolicy {
    static let kubeletLabels: Set<String> = [
        "kubernetes.io/hostname", "kubernetes.io/arch", "kubernetes.io/os", "beta.kubernetes.io/arch", "beta.kubernetes.io/os",
        "beta.kubernetes.io/instance-type", "node.kubernetes.io/instance-type",
        "failure-domain.beta.kubernetes.io/region", "failure-domain.beta.kubernetes.io/zone",
        "topology.kubernetes.io/region", "topology.kubernetes.io/zone",
    ]
    static let kubeletLabelNamespaces = ["kubelet.kubernetes.io", "node.kubernetes.io"]

    static func forbidden(_ labels: Set<String>) -> [String] {
        labels.filter { label in
            let namespace = label.contains("/") ? String(label.prefix { $0 != "/" }) : ""
            if within(namespace, "node-restriction.kubernetes.io") { return true }
            let isKubernetes = within(namespace, "kubernetes.io") || within(namespace, "k8s.io")
            return isKubernetes && !isKubeletLabel(label, namespace: namespace)
        }.sorted()
    }

    /// Labels that differ between two label sets, by key.
    static func changed(_ new: JSONObject, _ old: JSONObject) -> Set<String> {
        Set(new.keys).union(old.keys).filter { new[$0] != old[$0] }
    }

    private static func isKubeletLabel(_ label: String, namespace: String) -> Bool {
        kubeletLabels.contains(label) || kubeletLabelNamespaces.contains { within(namespace, $0) }
    }

    private static func within(_ namespace: String, _ domain: String) -> Bool {
        namespace == domain || namespace.hasSuffix("." + domain)
    }
}
