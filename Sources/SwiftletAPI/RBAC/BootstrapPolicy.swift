import SwiftletMachinery

/// The ClusterRoles and ClusterRoleBindings every cluster starts with, as upstream's
/// bootstrappolicy (plugin/pkg/auth/authorizer/rbac/bootstrappolicy) defines the ones
/// Swiftlet's resources need: the user-facing `cluster-admin`, `admin`, `edit` and `view`
/// (the last three aggregated from `system:aggregate-to-*`), discovery and self-review for
/// every authenticated user, and the roles of the system's own components.
///
/// The server creates them at start, and puts back the rules of any that carries
/// `rbac.authorization.kubernetes.io/autoupdate: "true"` (as all of them do until a user
/// says otherwise), as upstream's bootstrap-roles hook reconciles them.
public enum BootstrapPolicy {
    public static let autoupdateAnnotation = "rbac.authorization.kubernetes.io/autoupdate"
    static let aggregateLabel = "rbac.authorization.k8s.io/aggregate-to-"

    static let readVerbs = ["get", "list", "watch"]
    static let writeVerbs = ["create", "delete", "deletecollection", "patch", "update"]
    static let readWriteVerbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]

    static func rule(_ verbs: [String], _ groups: [String], _ resources: [String], names: [String] = []) -> PolicyRule {
        PolicyRule(verbs: verbs, apiGroups: groups, resources: resources, resourceNames: names)
    }

    static func urls(_ verbs: [String], _ urls: [String]) -> PolicyRule { PolicyRule(verbs: verbs, nonResourceURLs: urls) }

    static func clusterRole(_ name: String, _ rules: [PolicyRule], labels: [String: String] = [:], aggregates: String? = nil) -> JSONValue {
        var labelObject = JSONObject([("kubernetes.io/bootstrapping", "rbac-defaults")])
        for (key, value) in labels.sorted(by: { $0.key < $1.key }) { labelObject[key] = .string(value) }
        var role: JSONValue = [
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": ["name": .string(name), "labels": .object(labelObject), "annotations": [autoupdateAnnotation: "true"]],
            "rules": .array(rules.map(\.json)),
        ]
        if let aggregates {
            role["aggregationRule"] = ["clusterRoleSelectors": [["matchLabels": [aggregateLabel + aggregates: "true"]]]]
            role["rules"] = []
        }
        return role
    }

    static func clusterRoleBinding(_ name: String, role: String? = nil, users: [String] = [], groups: [String] = [],
                                   serviceAccounts: [(namespace: String, name: String)] = []) -> JSONValue {
        let subjects: [JSONValue] = users.map { ["apiGroup": .string(RBAC.group), "kind": "User", "name": .string($0)] }
            + groups.map { ["apiGroup": .string(RBAC.group), "kind": "Group", "name": .string($0)] }
            + serviceAccounts.map { ["kind": "ServiceAccount", "name": .string($0.name), "namespace": .string($0.namespace)] }
        return [
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": ["name": .string(name), "labels": ["kubernetes.io/bootstrapping": "rbac-defaults"],
                         "annotations": [autoupdateAnnotation: "true"]],
            "roleRef": ["apiGroup": .string(RBAC.group), "kind": "ClusterRole", "name": .string(role ?? name)],
            "subjects": .array(subjects),
        ]
    }

    /// What a node may do (upstream's `NodeRules`), as the Node authorizer applies them; the
    /// Secrets, ConfigMaps, ServiceAccount tokens, pods and Leases among them only for what
    /// its own pods name. Also published as the `system:node` ClusterRole.
    public static let nodeRules: [PolicyRule] = [
        rule(["create"], ["authentication.k8s.io"], ["tokenreviews"]),
        rule(["create"], ["authorization.k8s.io"], ["localsubjectaccessreviews", "subjectaccessreviews"]),
        rule(readVerbs, [""], ["services"]),
        rule(["create", "get", "list", "watch"], [""], ["nodes"]),
        rule(["patch", "update"], [""], ["nodes/status"]),
        rule(["patch", "update"], [""], ["nodes"]),
        rule(["create", "patch", "update"], ["", "events.k8s.io"], ["events"]),
        rule(readVerbs, [""], ["pods"]),
        rule(["create", "delete"], [""], ["pods"]),
        rule(["patch", "update"], [""], ["pods/status"]),
        rule(["create"], [""], ["pods/eviction"]),
        rule(readVerbs, [""], ["configmaps", "secrets"]),
        rule(["get"], [""], ["persistentvolumeclaims", "persistentvolumes"]),
        rule(["get"], [""], ["endpoints"]),
        rule(readVerbs, ["discovery.k8s.io"], ["endpointslices"]),
        rule(["create"], [""], ["serviceaccounts/token"]),
        rule(["create", "delete", "get", "patch", "update"], ["coordination.k8s.io"], ["leases"]),
        // Swiftlet's agents report the LoadBalancer ports they cannot take on the Service's status
        // (a condition), where k3s's ServiceLB controller reports them from the server.
        rule(["patch"], [""], ["services/status"]),
        // Swiftlet's agents ask the server for their streaming port's certificate, and renew their own.
        urls(["post"], ["/v1-swiftlet/node-serving-certificate", "/v1-swiftlet/node-client-certificate"]),
    ]

    /// Bootstrap objects earlier versions made and this one no longer does: deleted at start
    /// while they keep the autoupdate annotation.
    public static let retiredClusterRoles = ["system:swiftlet:node-volume-sources"]
    public static let retiredClusterRoleBindings = ["system:swiftlet:node-volume-sources"]

    public static let clusterRoles: [JSONValue] = [
        clusterRole("cluster-admin", [rule(["*"], ["*"], ["*"]), urls(["*"], ["*"])]),
        clusterRole("admin", [], aggregates: "admin"),
        clusterRole("edit", [], labels: [aggregateLabel + "admin": "true"], aggregates: "edit"),
        clusterRole("view", [], labels: [aggregateLabel + "edit": "true"], aggregates: "view"),
        clusterRole("system:aggregate-to-admin", [
            rule(["create"], ["authorization.k8s.io"], ["localsubjectaccessreviews"]),
            rule(readWriteVerbs, [RBAC.group], ["rolebindings", "roles"]),
        ], labels: [aggregateLabel + "admin": "true"]),
        clusterRole("system:aggregate-to-edit", [
            rule(readVerbs, [""], ["pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "secrets", "services/proxy"]),
            rule(["impersonate"], [""], ["serviceaccounts"]),
            rule(writeVerbs, [""], ["pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"]),
            rule(["create"], [""], ["pods/eviction"]),
            rule(writeVerbs, [""], ["configmaps", "events", "persistentvolumeclaims", "replicationcontrollers",
                                    "replicationcontrollers/scale", "secrets", "serviceaccounts", "services", "services/proxy"]),
            rule(["create"], [""], ["serviceaccounts/token"]),
            rule(writeVerbs, ["apps"], ["daemonsets", "deployments", "deployments/rollback", "deployments/scale", "replicasets",
                                        "replicasets/scale", "statefulsets", "statefulsets/scale"]),
            rule(writeVerbs, ["autoscaling"], ["horizontalpodautoscalers"]),
            rule(writeVerbs, ["batch"], ["cronjobs", "jobs"]),
            rule(writeVerbs, ["policy"], ["poddisruptionbudgets"]),
            rule(writeVerbs, ["networking.k8s.io"], ["ingresses", "networkpolicies"]),
            rule(readWriteVerbs, ["coordination.k8s.io"], ["leases"]),
        ], labels: [aggregateLabel + "edit": "true"]),
        clusterRole("system:aggregate-to-view", [
            rule(readVerbs, [""], ["configmaps", "endpoints", "persistentvolumeclaims", "persistentvolumeclaims/status", "pods",
                                   "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts", "services", "services/status"]),
            rule(readVerbs, [""], ["bindings", "events", "limitranges", "namespaces/status", "pods/log", "pods/status",
                                   "replicationcontrollers/status", "resourcequotas", "resourcequotas/status"]),
            rule(readVerbs, [""], ["namespaces"]),
            rule(readVerbs, ["discovery.k8s.io"], ["endpointslices"]),
            rule(readVerbs, ["apps"], ["controllerrevisions", "daemonsets", "daemonsets/status", "deployments", "deployments/scale",
                                       "deployments/status", "replicasets", "replicasets/scale", "replicasets/status", "statefulsets",
                                       "statefulsets/scale", "statefulsets/status"]),
            rule(readVerbs, ["autoscaling"], ["horizontalpodautoscalers", "horizontalpodautoscalers/status"]),
            rule(readVerbs, ["batch"], ["cronjobs", "cronjobs/status", "jobs", "jobs/status"]),
            rule(readVerbs, ["policy"], ["poddisruptionbudgets", "poddisruptionbudgets/status"]),
            rule(readVerbs, ["networking.k8s.io"], ["ingresses", "ingresses/status", "networkpolicies"]),
        ], labels: [aggregateLabel + "view": "true"]),
        clusterRole("system:discovery", [
            urls(["get"], ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*", "/readyz", "/version", "/version/"]),
        ]),
        clusterRole("system:public-info-viewer", [urls(["get"], ["/healthz", "/livez", "/readyz", "/version", "/version/"])]),
        clusterRole("system:basic-user", [
            rule(["create"], ["authorization.k8s.io"], ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]),
            rule(["create"], ["authentication.k8s.io"], ["selfsubjectreviews"]),
        ]),
        clusterRole("system:auth-delegator", [
            rule(["create"], ["authentication.k8s.io"], ["tokenreviews"]),
            rule(["create"], ["authorization.k8s.io"], ["subjectaccessreviews"]),
        ]),
        // What a kubelet does, until the Node authorizer narrows it to the node's own objects.
        clusterRole("system:node", nodeRules),
        // What the join token may do: trade itself for a node's own credentials (and, until the
        // agent has them, ask for its streaming certificate), as k3s's node bootstrap does.
        clusterRole("system:swiftlet:node-bootstrapper", [
            urls(["post"], ["/v1-swiftlet/node-client-certificate", "/v1-swiftlet/node-serving-certificate"]),
        ]),
        clusterRole("system:kube-scheduler", [
            rule(["create", "patch", "update"], ["", "events.k8s.io"], ["events"]),
            rule(["create"], ["coordination.k8s.io"], ["leases"]),
            rule(["get", "update"], ["coordination.k8s.io"], ["leases"], names: ["kube-scheduler"]),
            rule(["delete", "get", "list", "watch"], [""], ["nodes"]),
            rule(readVerbs, [""], ["pods"]),
            rule(["create"], [""], ["bindings", "pods/binding"]),
            rule(["patch", "update"], [""], ["pods/status"]),
            rule(readVerbs, ["", "apps"], ["replicationcontrollers", "replicasets", "statefulsets", "services"]),
            rule(readVerbs, ["policy"], ["poddisruptionbudgets"]),
            rule(readVerbs, [""], ["namespaces", "persistentvolumeclaims", "persistentvolumes"]),
            rule(["create"], ["authentication.k8s.io"], ["tokenreviews"]),
            rule(["create"], ["authorization.k8s.io"], ["subjectaccessreviews"]),
        ]),
        clusterRole("system:kube-controller-manager", [
            rule(["create", "patch", "update"], ["", "events.k8s.io"], ["events"]),
            rule(["create"], ["coordination.k8s.io"], ["leases"]),
            rule(["get", "update"], ["coordination.k8s.io"], ["leases"], names: ["kube-controller-manager"]),
            rule(["create"], [""], ["secrets", "serviceaccounts"]),
            rule(["delete"], [""], ["secrets"]),
            rule(["get"], [""], ["configmaps", "namespaces", "secrets", "serviceaccounts"]),
            rule(["update"], [""], ["secrets", "serviceaccounts"]),
            rule(["create"], ["authentication.k8s.io"], ["tokenreviews"]),
            rule(["create"], ["authorization.k8s.io"], ["subjectaccessreviews"]),
            rule(["list", "watch"], ["*"], ["*"]),
            rule(["create"], [""], ["serviceaccounts/token"]),
        ]),
    ] + controllerRoles.map { clusterRole(controllerRolePrefix + $0.name, $0.rules) }

    static let controllerRolePrefix = "system:controller:"
    /// Where the controllers' ServiceAccounts live.
    public static let controllerNamespace = "kube-system"

    /// The roles of the controllers Swiftlet runs, as upstream's `controller_policy.go` grants
    /// them, each bound to the controller's ServiceAccount in kube-system. Where Swiftlet's
    /// controller patches what upstream's updates, the role also has `patch` (marked below).
    public static let controllerRoles: [(name: String, rules: [PolicyRule])] = {
        let events = rule(["create", "update", "patch"], ["", "events.k8s.io"], ["events"])
        let apps = ["extensions", "apps"]
        return [
            ("clusterrole-aggregation-controller", [rule(["escalate", "get", "list", "watch", "update", "patch"], [RBAC.group], ["clusterroles"])]),
            ("daemon-set-controller", [
                rule(readVerbs, apps, ["daemonsets"]),
                rule(["update"], apps, ["daemonsets/status", "daemonsets/finalizers"]),
                rule(["list", "watch"], [""], ["nodes"]),
                // get: Swiftlet's controller reads a pod again when its adoption patch conflicts.
                rule(["list", "watch", "create", "delete", "patch", "get"], [""], ["pods"]),
                rule(["create"], [""], ["pods/binding"]),
                rule(["get", "list", "watch", "create", "delete", "update", "patch"], ["apps"], ["controllerrevisions"]),
                events,
            ]),
            ("deployment-controller", [
                // patch: Swiftlet's controller patches the Deployment's annotations and status.
                rule(["get", "list", "watch", "update", "patch"], apps, ["deployments"]),
                rule(["update", "patch"], apps, ["deployments/status"]),
                rule(["update"], apps, ["deployments/finalizers"]),
                rule(["get", "list", "watch", "create", "update", "patch", "delete"], ["apps", "extensions"], ["replicasets"]),
                rule(["get", "list", "watch", "update"], [""], ["pods"]),
                events,
            ]),
            ("disruption-controller", [
                rule(readVerbs, apps, ["deployments", "replicasets"]),
                rule(readVerbs, [""], ["replicationcontrollers"]),
                rule(readVerbs, ["policy"], ["poddisruptionbudgets"]),
                rule(readVerbs, ["apps"], ["statefulsets"]),
                // patch: Swiftlet's controller patches the budget's status.
                rule(["update", "patch"], ["policy"], ["poddisruptionbudgets/status"]),
                rule(["patch", "update"], [""], ["pods/status"]),
                rule(["get"], ["*"], ["*/scale"]),
                events,
            ]),
            ("endpoint-controller", [
                rule(readVerbs, [""], ["services", "pods"]),
                rule(["get", "list", "watch", "create", "update", "delete"], [""], ["endpoints"]),
                rule(["create"], [""], ["endpoints/restricted"]),
                events,
            ]),
            ("endpointslice-controller", [
                rule(readVerbs, [""], ["services", "pods", "nodes"]),
                rule(["update"], [""], ["services/finalizers"]),
                rule(["get", "list", "watch", "create", "update", "delete"], ["discovery.k8s.io"], ["endpointslices"]),
                events,
            ]),
            ("generic-garbage-collector", [rule(["get", "list", "watch", "patch", "update", "delete"], ["*"], ["*"]), events]),
            ("namespace-controller", [
                rule(["get", "list", "watch", "delete"], [""], ["namespaces"]),
                rule(["update"], [""], ["namespaces/finalize", "namespaces/status"]),
                rule(["get", "list", "watch", "delete", "deletecollection"], ["*"], ["*"]),
            ]),
            ("node-controller", [
                rule(["get", "list", "watch", "update", "delete", "patch"], [""], ["nodes"]),
                rule(["patch", "update"], [""], ["nodes/status", "pods/status"]),
                rule(["list", "watch", "get", "delete"], [""], ["pods"]),
                events,
            ]),
            ("replicaset-controller", [
                rule(["get", "list", "watch", "update"], apps, ["replicasets"]),
                rule(["update"], apps, ["replicasets/status", "replicasets/finalizers"]),
                // get: Swiftlet's controller reads a pod again when its adoption patch conflicts.
                rule(["list", "watch", "patch", "create", "delete", "get"], [""], ["pods"]),
                events,
            ]),
            ("replication-controller", [
                rule(["get", "list", "watch", "update"], [""], ["replicationcontrollers"]),
                rule(["update"], [""], ["replicationcontrollers/status", "replicationcontrollers/finalizers"]),
                rule(["list", "watch", "patch", "create", "delete", "get"], [""], ["pods"]),
                events,
            ]),
            ("root-ca-cert-publisher", [rule(["create", "update"], [""], ["configmaps"]), events]),
            ("service-account-controller", [rule(["create"], [""], ["serviceaccounts"]), events]),
            ("service-controller", [
                rule(readVerbs, [""], ["services"]),
                rule(["patch", "update"], [""], ["services/status"]),
                rule(["list", "watch"], [""], ["nodes"]),
                events,
            ]),
        ]
    }()

    public static let clusterRoleBindings: [JSONValue] = [
        clusterRoleBinding("cluster-admin", groups: [RBAC.systemMasters]),
        clusterRoleBinding("system:discovery", groups: ["system:authenticated"]),
        clusterRoleBinding("system:basic-user", groups: ["system:authenticated"]),
        clusterRoleBinding("system:public-info-viewer", groups: ["system:authenticated", "system:unauthenticated"]),
        clusterRoleBinding("system:kube-scheduler", users: ["system:kube-scheduler"]),
        clusterRoleBinding("system:kube-controller-manager", users: ["system:kube-controller-manager"]),
        // Bound to nobody, as upstream since 1.8: the Node authorizer grants nodes these rules,
        // and only for the objects of their own pods.
        clusterRoleBinding("system:node"),
        clusterRoleBinding("system:swiftlet:node-bootstrapper", groups: ["system:bootstrappers"]),
    ] + controllerRoles.map {
        clusterRoleBinding(controllerRolePrefix + $0.name, serviceAccounts: [(controllerNamespace, $0.name)])
    }
}
