import SwiftletMachinery

/// The RBAC objects of a cluster, compiled for authorization: roles' rules by name, bindings
/// with their subjects. Built from the four kinds' objects and rebuilt when any of them
/// changes, so a request only walks bindings and matches rules, never decodes JSON.
///
/// Decisions follow upstream's RBAC authorizer (plugin/pkg/auth/authorizer/rbac): a request is
/// allowed when a ClusterRoleBinding, or a RoleBinding in the request's namespace, binds a
/// subject the user is to a role with a rule that allows it. Nothing is ever denied outright:
/// no rule means no opinion, and the server refuses what no authorizer allows.
public struct RBACPolicy: Sendable {
    struct Binding: Sendable {
        var kind: String
        var name: String
        var namespace: String
        var roleKind: String
        var roleName: String
        var subjects: [RBACSubject]
    }

    var clusterRoles: [String: [PolicyRule]] = [:]
    var roles: [String: [PolicyRule]] = [:]
    var clusterRoleBindings: [Binding] = []
    var roleBindings: [String: [Binding]] = [:]

    public init(clusterRoles: [JSONValue] = [], roles: [JSONValue] = [], clusterRoleBindings: [JSONValue] = [],
                roleBindings: [JSONValue] = []) {
        for role in clusterRoles { self.clusterRoles[Self.name(role)] = PolicyRule.rules(of: role) }
        for role in roles { self.roles[Self.key(Self.namespace(role), Self.name(role))] = PolicyRule.rules(of: role) }
        self.clusterRoleBindings = clusterRoleBindings.map { Self.binding($0, kind: "ClusterRoleBinding") }
        for binding in roleBindings {
            self.roleBindings[Self.namespace(binding), default: []].append(Self.binding(binding, kind: "RoleBinding"))
        }
    }

    public enum Decision: Sendable, Equatable {
        case allow(reason: String)
        case noOpinion
    }

    public func authorize(_ user: UserInfo, _ attributes: AuthorizationAttributes) -> Decision {
        var found: String?
        visitRules(for: user, namespace: attributes.namespace) { binding, rules in
            guard rules.contains(where: { $0.allows(attributes) }) else { return true }
            found = Self.reason(binding, user: user)
            return false
        }
        return found.map { .allow(reason: $0) } ?? .noOpinion
    }

    /// Every rule bound to the user cluster-wide and, with a namespace, in it: what
    /// SelfSubjectRulesReview lists and what escalation checks compare against.
    public func rules(for user: UserInfo, namespace: String) -> [PolicyRule] {
        var out: [PolicyRule] = []
        visitRules(for: user, namespace: namespace) { _, rules in
            out += rules
            return true
        }
        return out
    }

    /// The rules a role reference grants (`Role` resolved in `namespace`); nil when the role
    /// does not exist.
    public func rules(ofRoleKind kind: String, name: String, namespace: String) -> [PolicyRule]? {
        kind == "ClusterRole" ? clusterRoles[name] : roles[Self.key(namespace, name)]
    }

    /// Calls `visit` with each binding that applies to the user and its role's rules, cluster
    /// bindings first, until it returns false.
    private func visitRules(for user: UserInfo, namespace: String, _ visit: (Binding, [PolicyRule]) -> Bool) {
        for binding in clusterRoleBindings where binding.subjects.contains(where: { $0.applies(to: user, bindingNamespace: "") }) {
            guard let rules = rules(ofRoleKind: binding.roleKind, name: binding.roleName, namespace: "") else { continue }
            if !visit(binding, rules) { return }
        }
        guard !namespace.isEmpty else { return }
        for binding in roleBindings[namespace] ?? [] where binding.subjects.contains(where: { $0.applies(to: user, bindingNamespace: namespace) }) {
            guard let rules = rules(ofRoleKind: binding.roleKind, name: binding.roleName, namespace: namespace) else { continue }
            if !visit(binding, rules) { return }
        }
    }

    /// Upstream's allow reason: `RBAC: allowed by ClusterRoleBinding "x" of ClusterRole "y" to User "u"`.
    private static func reason(_ binding: Binding, user: UserInfo) -> String {
        let subject = binding.subjects.first { $0.applies(to: user, bindingNamespace: binding.namespace) }
        let where_ = binding.namespace.isEmpty ? "" : " in namespace \(GoText.quote(binding.namespace))"
        let who = subject.map { "\($0.kind) \(GoText.quote($0.kind == "ServiceAccount" ? "\($0.namespace.isEmpty ? binding.namespace : $0.namespace)/\($0.name)" : $0.name))" } ?? ""
        return "RBAC: allowed by \(binding.kind) \(GoText.quote(binding.name))\(where_) of \(binding.roleKind) \(GoText.quote(binding.roleName)) to \(who)"
    }

    private static func name(_ object: JSONValue) -> String { FieldRead.string(object[path: "metadata", "name"]) }
    private static func namespace(_ object: JSONValue) -> String { FieldRead.string(object[path: "metadata", "namespace"]) }
    private static func key(_ namespace: String, _ name: String) -> String { "\(namespace)/\(name)" }

    private static func binding(_ object: JSONValue, kind: String) -> Binding {
        Binding(kind: kind, name: name(object), namespace: namespace(object),
                roleKind: FieldRead.string(object[path: "roleRef", "kind"]), roleName: FieldRead.string(object[path: "roleRef", "name"]),
                subjects: FieldRead.objects(object["subjects"]).map(RBACSubject.init))
    }
}
