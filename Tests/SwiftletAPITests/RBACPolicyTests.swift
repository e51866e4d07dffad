import Testing
import SwiftletAPI
import SwiftletMachinery

/// RBAC's evaluator against upstream's cases: rule matching (rbac_test.go's TestRuleMatches),
/// coverage for escalation checks (policy_comparator_test.go), and binding resolution.
@Suite struct RBACPolicyTests {
    func request(_ verb: String, _ group: String, _ resource: String, sub: String = "", name: String = "", namespace: String = "ns") -> AuthorizationAttributes {
        AuthorizationAttributes(verb: verb, apiGroup: group, resource: resource, subresource: sub, namespace: namespace, name: name)
    }

    @Test func rulesMatchVerbsGroupsResourcesAndNames() {
        let pods = PolicyRule(verbs: ["get", "list"], apiGroups: [""], resources: ["pods"])
        #expect(pods.allows(request("get", "", "pods", name: "p")))
        #expect(!pods.allows(request("delete", "", "pods", name: "p")))
        #expect(!pods.allows(request("get", "apps", "pods", name: "p")))
        #expect(!pods.allows(request("get", "", "services", name: "p")))
        // A subresource is its own resource: `pods` does not reach `pods/log`.
        #expect(!pods.allows(request("get", "", "pods", sub: "log", name: "p")))
        #expect(PolicyRule(verbs: ["get"], apiGroups: [""], resources: ["pods/log"]).allows(request("get", "", "pods", sub: "log", name: "p")))
        #expect(PolicyRule(verbs: ["get"], apiGroups: ["*"], resources: ["*/scale"]).allows(request("get", "apps", "deployments", sub: "scale", name: "d")))
        #expect(!PolicyRule(verbs: ["get"], apiGroups: ["*"], resources: ["*/scale"]).allows(request("get", "apps", "deployments", name: "d")))
        // `*` matches every resource and subresource.
        let star = PolicyRule(verbs: ["*"], apiGroups: ["*"], resources: ["*"])
        #expect(star.allows(request("escalate", "rbac.authorization.k8s.io", "roles", name: "r")))
        #expect(star.allows(request("create", "", "pods", sub: "exec", name: "p")))

        // Names restrict; a request with no name (list, create) is not within them.
        let named = PolicyRule(verbs: ["get", "list"], apiGroups: [""], resources: ["configmaps"], resourceNames: ["settings"])
        #expect(named.allows(request("get", "", "configmaps", name: "settings")))
        #expect(!named.allows(request("get", "", "configmaps", name: "other")))
        #expect(!named.allows(request("list", "", "configmaps")))
    }

    @Test func nonResourceURLsMatchExactlyOrByTrailingStar() {
        let rule = PolicyRule(verbs: ["get"], nonResourceURLs: ["/healthz", "/apis/*"])
        #expect(rule.allows(AuthorizationAttributes(verb: "get", path: "/healthz")))
        #expect(!rule.allows(AuthorizationAttributes(verb: "get", path: "/healthz/ping")))
        #expect(rule.allows(AuthorizationAttributes(verb: "get", path: "/apis/apps/v1")))
        #expect(!rule.allows(AuthorizationAttributes(verb: "get", path: "/apis")))
        #expect(!rule.allows(AuthorizationAttributes(verb: "post", path: "/healthz")))
        // Resource rules never match paths, nor path rules resources.
        #expect(!PolicyRule(verbs: ["*"], apiGroups: ["*"], resources: ["*"]).allows(AuthorizationAttributes(verb: "get", path: "/api")))
        #expect(!rule.allows(request("get", "", "pods", name: "p")))
        #expect(PolicyRule(verbs: ["*"], nonResourceURLs: ["*"]).allows(AuthorizationAttributes(verb: "get", path: "/anything")))
    }

    @Test func coverageBreaksRulesDown() {
        let owner = [
            PolicyRule(verbs: ["get", "list", "watch"], apiGroups: [""], resources: ["pods", "services"]),
            PolicyRule(verbs: ["*"], apiGroups: ["apps"], resources: ["deployments"]),
            PolicyRule(verbs: ["get"], apiGroups: ["*"], resources: ["*/scale"]),
            PolicyRule(verbs: ["get"], apiGroups: [""], resources: ["configmaps"], resourceNames: ["a", "b"]),
            PolicyRule(verbs: ["get"], nonResourceURLs: ["/metrics/*"]),
        ]
        // Exact and partial subsets are covered; the union of two owner rules covers too.
        #expect(PolicyRule.uncovered([PolicyRule(verbs: ["get"], apiGroups: [""], resources: ["pods"])], by: owner).isEmpty)
        #expect(PolicyRule.uncovered([PolicyRule(verbs: ["get", "delete", "patch"], apiGroups: ["apps"], resources: ["deployments"])], by: owner).isEmpty)
        #expect(PolicyRule.uncovered([PolicyRule(verbs: ["get"], apiGroups: ["apps"], resources: ["deployments/scale"])], by: owner).isEmpty)
        #expect(PolicyRule.uncovered([PolicyRule(verbs: ["get"], apiGroups: [""], resources: ["configmaps"], resourceNames: ["a"])], by: owner).isEmpty)
        #expect(PolicyRule.uncovered([PolicyRule(verbs: ["get"], nonResourceURLs: ["/metrics/cpu"])], by: owner).isEmpty)
        // What is not held comes back broken down, one verb and resource each.
        let missing = PolicyRule.uncovered([PolicyRule(verbs: ["get", "delete"], apiGroups: [""], resources: ["pods", "secrets"])], by: owner)
        #expect(missing == [
            PolicyRule(verbs: ["delete"], apiGroups: [""], resources: ["pods"]),
            PolicyRule(verbs: ["get"], apiGroups: [""], resources: ["secrets"]),
            PolicyRule(verbs: ["delete"], apiGroups: [""], resources: ["secrets"]),
        ])
        #expect(PolicyRule.compacted(missing).map(\.description) == [
            #"{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}"#,
            #"{APIGroups:[""], Resources:["secrets"], Verbs:["get" "delete"]}"#,
        ])
        // Names held do not cover all names; a wildcard verb request needs a wildcard verb.
        #expect(!PolicyRule.uncovered([PolicyRule(verbs: ["get"], apiGroups: [""], resources: ["configmaps"])], by: owner).isEmpty)
        #expect(!PolicyRule.uncovered([PolicyRule(verbs: ["*"], apiGroups: [""], resources: ["pods"])], by: owner).isEmpty)
    }

    static func binding(_ kind: String, _ name: String, namespace: String? = nil, role: (String, String), subjects: [JSONValue]) -> JSONValue {
        var metadata: JSONValue = ["name": .string(name)]
        if let namespace { metadata["namespace"] = .string(namespace) }
        return ["kind": .string(kind), "metadata": metadata, "roleRef": ["kind": .string(role.0), "name": .string(role.1)],
                "subjects": .array(subjects)]
    }

    @Test func bindingsGrantTheirRolesToTheirSubjects() {
        let policy = RBACPolicy(
            clusterRoles: [["metadata": ["name": "reader"], "rules": [["verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]]]]],
            roles: [["metadata": ["name": "cm-writer", "namespace": "dev"], "rules": [["verbs": ["create"], "apiGroups": [""], "resources": ["configmaps"]]]]],
            clusterRoleBindings: [Self.binding("ClusterRoleBinding", "ops-read", role: ("ClusterRole", "reader"), subjects: [["kind": "Group", "name": "ops"]])],
            roleBindings: [
                Self.binding("RoleBinding", "alice-cm", namespace: "dev", role: ("Role", "cm-writer"), subjects: [["kind": "User", "name": "alice"]]),
                Self.binding("RoleBinding", "sa-read", namespace: "dev", role: ("ClusterRole", "reader"), subjects: [["kind": "ServiceAccount", "name": "app"]]),
                Self.binding("RoleBinding", "dangling", namespace: "dev", role: ("Role", "missing"), subjects: [["kind": "User", "name": "bob"]]),
            ])
        let alice = UserInfo(name: "alice", groups: ["system:authenticated"])
        let ops = UserInfo(name: "carol", groups: ["ops"])
        let serviceAccount = UserInfo(name: "system:serviceaccount:dev:app", groups: ["system:serviceaccounts"])

        #expect(policy.authorize(alice, request("create", "", "configmaps", namespace: "dev")) ==
                .allow(reason: #"RBAC: allowed by RoleBinding "alice-cm" in namespace "dev" of Role "cm-writer" to User "alice""#))
        #expect(policy.authorize(alice, request("create", "", "configmaps", namespace: "prod")) == .noOpinion)
        #expect(policy.authorize(alice, request("list", "", "pods", namespace: "dev")) == .noOpinion)
        // A cluster binding reaches every namespace and the cluster scope.
        #expect(policy.authorize(ops, request("list", "", "pods", namespace: "")) ==
                .allow(reason: #"RBAC: allowed by ClusterRoleBinding "ops-read" of ClusterRole "reader" to Group "ops""#))
        // A ClusterRole bound in a namespace grants only there; a ServiceAccount subject
        // without a namespace is the binding's.
        #expect(policy.authorize(serviceAccount, request("get", "", "pods", name: "p", namespace: "dev")).allowedForTest)
        #expect(!policy.authorize(serviceAccount, request("get", "", "pods", name: "p", namespace: "prod")).allowedForTest)
        #expect(!policy.authorize(UserInfo(name: "bob", groups: []), request("get", "", "pods", name: "p", namespace: "dev")).allowedForTest)
        #expect(Set(policy.rules(for: alice, namespace: "dev")) == [PolicyRule(verbs: ["create"], apiGroups: [""], resources: ["configmaps"])])
    }

    @Test func theBootstrapPolicyGivesEveryUserDiscoveryAndSelfReviews() {
        let policy = RBACPolicy(clusterRoles: BootstrapPolicy.clusterRoles, clusterRoleBindings: BootstrapPolicy.clusterRoleBindings)
        let someone = UserInfo(name: "someone", groups: ["system:authenticated"])
        #expect(policy.authorize(someone, AuthorizationAttributes(verb: "get", path: "/apis/apps/v1")).allowedForTest)
        #expect(policy.authorize(someone, AuthorizationAttributes(verb: "get", path: "/openapi/v3")).allowedForTest)
        #expect(policy.authorize(someone, request("create", "authorization.k8s.io", "selfsubjectaccessreviews", namespace: "")).allowedForTest)
        #expect(!policy.authorize(someone, request("list", "", "pods")).allowedForTest)
        // RBAC grants nodes nothing, as upstream since 1.8: `system:node` is bound to nobody,
        // and the Node authorizer decides for kubelets.
        let node = UserInfo(name: "system:node:a", groups: ["system:nodes", "system:authenticated"])
        #expect(!policy.authorize(node, request("list", "", "pods", namespace: "")).allowedForTest)
        #expect(!policy.authorize(node, request("get", "", "secrets", name: "s")).allowedForTest)
    }
}

extension RBACPolicy.Decision {
    var allowedForTest: Bool { if case .allow = self { return true } else { return false } }
}
