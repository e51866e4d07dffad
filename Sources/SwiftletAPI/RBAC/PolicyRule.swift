import SwiftletMachinery

/// Who makes a request, as authentication found them: upstream's `user.Info`.
public struct UserInfo: Sendable, Equatable {
    public var name: String
    public var uid: String
    public var groups: [String]
    public var extra: [String: [String]]

    public init(name: String, uid: String = "", groups: [String], extra: [String: [String]] = [:]) {
        self.name = name
        self.uid = uid
        self.groups = groups
        self.extra = extra
    }

    /// Upstream's wording of a user in RBAC refusals: `"alice" (groups=["dev" "system:authenticated"])`.
    public var describedWithGroups: String {
        "\(GoText.quote(name)) (groups=[\(groups.map(GoText.quote).joined(separator: " "))])"
    }

    public var isSystemMaster: Bool { groups.contains(RBAC.systemMasters) }

    /// The node a kubelet's identity names (`system:node:NAME` in `system:nodes`), as
    /// upstream's NodeIdentifier reads it; nil for anyone else, "" for a node user without a name.
    public var nodeName: String? {
        guard name.hasPrefix(RBAC.nodeUserPrefix), groups.contains(RBAC.nodesGroup) else { return nil }
        return String(name.dropFirst(RBAC.nodeUserPrefix.count))
    }
}

/// What a request asks to do, as upstream's `authorizer.Attributes`: a verb on a resource
/// (`get pods` in a namespace, by name) or on a path (`get /healthz`).
public struct AuthorizationAttributes: Sendable, Equatable {
    public var verb: String
    public var isResourceRequest: Bool
    public var apiGroup: String
    public var resource: String
    public var subresource: String
    public var namespace: String
    public var name: String
    public var path: String
    /// A list's or watch's `fieldSelector`, as sent (the Node authorizer reads `spec.nodeName`).
    public var fieldSelector = ""

    public init(verb: String, apiGroup: String = "", resource: String, subresource: String = "", namespace: String = "", name: String = "") {
        self.verb = verb
        self.isResourceRequest = true
        self.apiGroup = apiGroup
        self.resource = resource
        self.subresource = subresource
        self.namespace = namespace
        self.name = name
        self.path = ""
    }

    public init(verb: String, path: String) {
        self.verb = verb
        self.isResourceRequest = false
        self.apiGroup = ""
        self.resource = ""
        self.subresource = ""
        self.namespace = ""
        self.name = ""
        self.path = path
    }
}

/// One `rules` entry of a Role or ClusterRole.
public struct PolicyRule: Sendable, Hashable, CustomStringConvertible {
    public var verbs: [String]
    public var apiGroups: [String]
    public var resources: [String]
    public var resourceNames: [String]
    public var nonResourceURLs: [String]

    public init(verbs: [String], apiGroups: [String] = [], resources: [String] = [], resourceNames: [String] = [],
                nonResourceURLs: [String] = []) {
        self.verbs = verbs
        self.apiGroups = apiGroups
        self.resources = resources
        self.resourceNames = resourceNames
        self.nonResourceURLs = nonResourceURLs
    }

    public init(_ json: JSONValue) {
        verbs = FieldRead.strings(json["verbs"])
        apiGroups = FieldRead.strings(json["apiGroups"])
        resources = FieldRead.strings(json["resources"])
        resourceNames = FieldRead.strings(json["resourceNames"])
        nonResourceURLs = FieldRead.strings(json["nonResourceURLs"])
    }

    public var json: JSONValue {
        var out = JSONObject()
        if !verbs.isEmpty { out["verbs"] = .array(verbs.map { .string($0) }) }
        if !apiGroups.isEmpty { out["apiGroups"] = .array(apiGroups.map { .string($0) }) }
        if !resources.isEmpty { out["resources"] = .array(resources.map { .string($0) }) }
        if !resourceNames.isEmpty { out["resourceNames"] = .array(resourceNames.map { .string($0) }) }
        if !nonResourceURLs.isEmpty { out["nonResourceURLs"] = .array(nonResourceURLs.map { .string($0) }) }
        return .object(out)
    }

    public static func rules(of role: JSONValue) -> [PolicyRule] { FieldRead.objects(role["rules"]).map(PolicyRule.init) }

    /// As upstream's `CompactString` prints rules in escalation refusals:
    /// `{APIGroups:["apps"], Resources:["deployments"], Verbs:["get"]}`.
    public var description: String {
        func list(_ name: String, _ values: [String]) -> String? {
            values.isEmpty ? nil : "\(name):[\(values.map(GoText.quote).joined(separator: " "))]"
        }
        let parts = [list("APIGroups", apiGroups), list("Resources", resources), list("ResourceNames", resourceNames),
                     list("NonResourceURLs", nonResourceURLs), list("Verbs", verbs)].compactMap { $0 }
        return "{\(parts.joined(separator: ", "))}"
    }

    // MARK: Matching, as upstream's rbac.go RuleAllows

    public func allows(_ a: AuthorizationAttributes) -> Bool {
        guard Self.matches(verbs, a.verb) else { return false }
        if !a.isResourceRequest {
            return nonResourceURLs.contains { $0 == "*" || $0 == a.path || ($0.hasSuffix("*") && a.path.hasPrefix(String($0.dropLast()))) }
        }
        guard Self.matches(apiGroups, a.apiGroup) else { return false }
        let combined = a.subresource.isEmpty ? a.resource : "\(a.resource)/\(a.subresource)"
        let resourceMatches = resources.contains { r in
            r == "*" || r == combined || (!a.subresource.isEmpty && r == "*/\(a.subresource)")
        }
        guard resourceMatches else { return false }
        return resourceNames.isEmpty || (!a.name.isEmpty && resourceNames.contains(a.name))
    }

    static func matches(_ values: [String], _ value: String) -> Bool {
        values.contains("*") || values.contains(value)
    }

    // MARK: Coverage, as upstream's validation.Covers

    /// Whether every permission of `rules` is held by `owned`: what a user must hold to create
    /// a role with those rules, or bind one, without the `escalate` or `bind` verb. Rules are
    /// broken down to single verbs, groups, resources and names, each of which some owned
    /// rule must cover. Returns the servant rules that are not covered.
    public static func uncovered(_ rules: [PolicyRule], by owned: [PolicyRule]) -> [PolicyRule] {
        var missing: [PolicyRule] = []
        for rule in rules {
            for atom in rule.breakdown() where !owned.contains(where: { $0.covers(atom) }) {
                missing.append(atom)
            }
        }
        return missing
    }

    /// Rules that differ only in their verbs, merged, as upstream's `CompactRules` lists what
    /// an escalation lacks.
    public static func compacted(_ rules: [PolicyRule]) -> [PolicyRule] {
        var out: [PolicyRule] = []
        for rule in rules {
            if let i = out.firstIndex(where: { $0.apiGroups == rule.apiGroups && $0.resources == rule.resources
                                               && $0.resourceNames == rule.resourceNames && $0.nonResourceURLs == rule.nonResourceURLs }) {
                for verb in rule.verbs where !out[i].verbs.contains(verb) { out[i].verbs.append(verb) }
            } else {
                out.append(rule)
            }
        }
        return out
    }

    /// Single-valued rules, one per combination, as upstream's `BreakdownRule`.
    func breakdown() -> [PolicyRule] {
        var out: [PolicyRule] = []
        for group in apiGroups {
            for resource in resources {
                for verb in verbs {
                    if resourceNames.isEmpty {
                        out.append(PolicyRule(verbs: [verb], apiGroups: [group], resources: [resource]))
                    } else {
                        for name in resourceNames {
                            out.append(PolicyRule(verbs: [verb], apiGroups: [group], resources: [resource], resourceNames: [name]))
                        }
                    }
                }
            }
        }
        for url in nonResourceURLs {
            for verb in verbs { out.append(PolicyRule(verbs: [verb], nonResourceURLs: [url])) }
        }
        return out
    }

    /// Whether this rule grants everything `other` does (upstream's `ruleCovers`).
    func covers(_ other: PolicyRule) -> Bool {
        let verbsCovered = verbs.contains("*") || other.verbs.allSatisfy(verbs.contains)
        let groupsCovered = apiGroups.contains("*") || other.apiGroups.allSatisfy(apiGroups.contains)
        let resourcesCovered = other.resources.allSatisfy { resource in
            if resources.contains("*") || resources.contains(resource) { return true }
            // `*/scale` covers `deployments/scale`; `deployments/*` is no wildcard upstream either.
            if let slash = resource.firstIndex(of: "/") { return resources.contains("*" + resource[slash...]) }
            return false
        }
        // A rule for some names never covers one for all of them.
        let namesCovered = resourceNames.isEmpty || (!other.resourceNames.isEmpty && other.resourceNames.allSatisfy(resourceNames.contains))
        let urlsCovered = other.nonResourceURLs.allSatisfy { url in
            nonResourceURLs.contains { $0 == "*" || $0 == url || ($0.hasSuffix("*") && url.hasPrefix(String($0.dropLast()))) }
        }
        return verbsCovered && groupsCovered && resourcesCovered && namesCovered && urlsCovered
    }
}

/// A RoleBinding's or ClusterRoleBinding's subject.
public struct RBACSubject: Sendable, Hashable {
    public var kind: String
    public var name: String
    public var namespace: String

    public init(_ json: JSONValue) {
        kind = FieldRead.string(json["kind"])
        name = FieldRead.string(json["name"])
        namespace = FieldRead.string(json["namespace"])
    }

    /// As upstream's `appliesToUser`: a User by name, a Group by membership, a ServiceAccount
    /// by its user name (`system:serviceaccount:NS:NAME`; the binding's namespace when the
    /// subject names none).
    public func applies(to user: UserInfo, bindingNamespace: String) -> Bool {
        switch kind {
        case "User": return user.name == name
        case "Group": return user.groups.contains(name)
        case "ServiceAccount":
            let ns = namespace.isEmpty ? bindingNamespace : namespace
            return !ns.isEmpty && user.name == "system:serviceaccount:\(ns):\(name)"
        default: return false
        }
    }
}

public enum RBAC {
    public static let group = "rbac.authorization.k8s.io"
    public static let systemMasters = "system:masters"
    /// Kubelets' identities: `system:node:NAME` in the group `system:nodes`.
    public static let nodeUserPrefix = "system:node:"
    public static let nodesGroup = "system:nodes"
}
