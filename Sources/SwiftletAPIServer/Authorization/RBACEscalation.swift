import SwiftletAPI
import SwiftletMachinery

/// Upstream's escalation prevention (pkg/registry/rbac/*/policybased): a user may write a
/// role only with permissions they hold themselves, or with the `escalate` verb on it, and
/// may bind a role only if they hold its permissions, or have the `bind` verb on it.
/// `system:masters` and the server's own writes (no request user) are not checked.
struct RBACEscalationStrategy: ResourceStrategy {
    let resource: ResourceInfo
    let authorizer: Authorizer

    func prepareForCreate(_ object: inout JSONValue, context: StrategyContext) throws(APIError) {
        try check(object)
    }

    func prepareForUpdate(_ object: inout JSONValue, old: JSONValue, context: StrategyContext) throws(APIError) {
        try check(object)
    }

    private func check(_ object: JSONValue) throws(APIError) {
        guard let user = RequestContext.user, !user.isSystemMaster else { return }
        let name = FieldRead.string(object[path: "metadata", "name"])
        let namespace = FieldRead.string(object[path: "metadata", "namespace"])
        switch resource {
        case Resources.roles, Resources.clusterroles:
            let escalate = AuthorizationAttributes(verb: "escalate", apiGroup: RBAC.group, resource: resource.resource,
                                                   namespace: namespace, name: name)
            if authorizer.authorize(user, escalate).allowed { return }
            if resource == Resources.clusterroles, let aggregation = object["aggregationRule"], !aggregation.isNull {
                throw APIError.forbidden(group: RBAC.group, resource: resource.resource, name: name,
                                         reason: "must have cluster-admin privileges to use the aggregationRule")
            }
            try confirmNoEscalation(user, rules: PolicyRule.rules(of: object), namespace: namespace, name: name)
        default:
            let kind = FieldRead.string(object[path: "roleRef", "kind"])
            let roleName = FieldRead.string(object[path: "roleRef", "name"])
            let bind = AuthorizationAttributes(verb: "bind", apiGroup: RBAC.group, resource: kind == "Role" ? "roles" : "clusterroles",
                                               namespace: namespace, name: roleName)
            if authorizer.authorize(user, bind).allowed { return }
            guard let rules = authorizer.policy().rules(ofRoleKind: kind, name: roleName, namespace: namespace) else {
                throw APIError.notFound(group: RBAC.group, resource: kind == "Role" ? "roles" : "clusterroles", name: roleName)
            }
            try confirmNoEscalation(user, rules: rules, namespace: namespace, name: name)
        }
    }

    /// Upstream's `ConfirmNoEscalation`: every permission granted must be one the user holds.
    private func confirmNoEscalation(_ user: UserInfo, rules: [PolicyRule], namespace: String, name: String) throws(APIError) {
        let missing = PolicyRule.uncovered(rules, by: authorizer.policy().rules(for: user, namespace: namespace))
        guard !missing.isEmpty else { return }
        let listed = PolicyRule.compacted(missing).map(\.description).sorted().joined(separator: "\n")
        throw APIError.forbidden(group: RBAC.group, resource: resource.resource, name: name,
                                 reason: "user \(user.describedWithGroups) is attempting to grant RBAC permissions not currently held:\n\(listed)")
    }
}
