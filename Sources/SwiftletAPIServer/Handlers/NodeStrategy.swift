import SwiftletAPI
import SwiftletMachinery

/// NodeRestriction's checks of a kubelet's updates of its own Node (`NodeRestriction` checks the
/// name): it may not change its taints, which steer workloads, nor labels outside the kubelet's
/// own set. Only updates of the Node itself change spec and labels; a status write changes status.
struct NodeStrategy: ResourceStrategy {
    func prepareForUpdate(_ object: inout JSONValue, old: JSONValue, context: StrategyContext) throws(APIError) {
        guard let node = RequestContext.user?.nodeName else { return }
        let name = FieldRead.string(old[path: "metadata", "name"])
        func taints(_ node: JSONValue) -> [JSONValue] { node[path: "spec", "taints"]?.arrayValue ?? [] }
        if taints(object) != taints(old) {
            throw APIError.forbidden(group: "", resource: "nodes", name: name, reason: "node \(GoText.quote(node)) is not allowed to modify taints")
        }
        let changed = NodeLabelPolicy.changed(object[path: "metadata", "labels"]?.objectValue ?? JSONObject(),
                                              old[path: "metadata", "labels"]?.objectValue ?? JSONObject())
        let refused = NodeLabelPolicy.forbidden(changed)
        if !refused.isEmpty {
            throw APIError.forbidden(group: "", resource: "nodes", name: name, reason: "is not allowed to modify labels: \(refused.joined(separator: ", "))")
        }
    }
}
