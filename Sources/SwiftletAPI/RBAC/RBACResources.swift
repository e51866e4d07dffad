import SwiftletMachinery

extension Resources {
    public static let roles = rbac("roles", "Role", namespaced: true)
    public static let clusterroles = rbac("clusterroles", "ClusterRole", namespaced: false)
    public static let rolebindings = rbac("rolebindings", "RoleBinding", namespaced: true)
    public static let clusterrolebindings = rbac("clusterrolebindings", "ClusterRoleBinding", namespaced: false)

    private static func rbac(_ resource: String, _ kind: String, namespaced: Bool) -> ResourceInfo {
        ResourceInfo(group: RBAC.group, version: "v1", resource: resource, singular: kind.lowercased(), kind: kind,
                     namespaced: namespaced, verbs: allVerbs)
    }
}

extension ResourceTypes {
    public static let roles = ResourceType(
        Resources.roles, validate: { o, _ in RBACValidation.role(o, namespaced: true) })
    public static let clusterRoles = ResourceType(
        Resources.clusterroles, validate: { o, _ in RBACValidation.role(o, namespaced: false) })
    public static let roleBindings = ResourceType(
        Resources.rolebindings, defaults: RBACValidation.defaultBinding,
        validate: { o, old in RBACValidation.binding(o, old: old, namespaced: true) }, table: RBACValidation.bindingPrinter)
    public static let clusterRoleBindings = ResourceType(
        Resources.clusterrolebindings, defaults: RBACValidation.defaultBinding,
        validate: { o, old in RBACValidation.binding(o, old: old, namespaced: false) }, table: RBACValidation.bindingPrinter)
}

/// `rbac.authorization.k8s.io/v1` defaulting, validation and printing, as upstream's
/// pkg/apis/rbac/{v1/defaults.go,validation} and the binding printer.
enum RBACValidation {
    /// Subjects and role references name the RBAC group unless they are ServiceAccounts.
    static func defaultBinding(_ binding: inout JSONValue) {
        if FieldRead.string(binding[path: "roleRef", "apiGroup"]).isEmpty, binding["roleRef"] != nil {
            binding[path: "roleRef", "apiGroup"] = .string(RBAC.group)
        }
        guard var subjects = binding["subjects"]?.arrayValue else { return }
        for i in subjects.indices where FieldRead.string(subjects[i]["apiGroup"]).isEmpty {
            let kind = FieldRead.string(subjects[i]["kind"])
            if kind == "User" || kind == "Group" { subjects[i]["apiGroup"] = .string(RBAC.group) }
        }
        binding["subjects"] = .array(subjects)
    }

    static func role(_ role: JSONValue, namespaced: Bool) -> [FieldError] {
        var errors = ObjectMetaValidation.validate(role, rule: .pathSegment)
        for (i, rule) in FieldRead.objects(role["rules"]).enumerated() {
            errors += policyRule(PolicyRule(rule), namespaced: namespaced, ValidationPath("rules").index(i))
        }
        if let aggregation = role["aggregationRule"], !aggregation.isNull {
            let selectors = FieldRead.objects(aggregation["clusterRoleSelectors"])
            if selectors.isEmpty {
                errors.append(.required("aggregationRule.clusterRoleSelectors", "at least one clusterRoleSelector required if aggregationRule is non-nil"))
            }
            for (i, selector) in selectors.enumerated() {
                errors += LabelSelector.validate(selector, path: ValidationPath("aggregationRule.clusterRoleSelectors").index(i).description)
            }
        }
        return errors
    }

    static func policyRule(_ rule: PolicyRule, namespaced: Bool, _ path: ValidationPath) -> [FieldError] {
        var errors: [FieldError] = []
        if rule.verbs.isEmpty { errors.append(.required(path.child("verbs").description, "verbs must contain at least one value")) }
        let urls: JSONValue = .array(rule.nonResourceURLs.map { .string($0) })
        if !rule.nonResourceURLs.isEmpty {
            if namespaced {
                errors.append(.invalid(path.child("nonResourceURLs").description, urls, "namespaced rules cannot apply to non-resource URLs"))
            }
            if !rule.apiGroups.isEmpty || !rule.resources.isEmpty || !rule.resourceNames.isEmpty {
                errors.append(.invalid(path.child("nonResourceURLs").description, urls, "rules cannot apply to both regular resources and non-resource URLs"))
            }
            return errors
        }
        if rule.apiGroups.isEmpty { errors.append(.required(path.child("apiGroups").description, "resource rules must supply at least one api group")) }
        if rule.resources.isEmpty { errors.append(.required(path.child("resources").description, "resource rules must supply at least one resource")) }
        return errors
    }

    static func binding(_ binding: JSONValue, old: JSONValue?, namespaced: Bool) -> [FieldError] {
        var errors = ObjectMetaValidation.validate(binding, rule: .pathSegment)
        let roleRef = binding["roleRef"] ?? .object(JSONObject())
        let group = FieldRead.string(roleRef["apiGroup"])
        if group != RBAC.group { errors.append(.notSupported("roleRef.apiGroup", .string(group), [RBAC.group])) }
        let kind = FieldRead.string(roleRef["kind"])
        let kinds = namespaced ? ["Role", "ClusterRole"] : ["ClusterRole"]
        if !kinds.contains(kind) { errors.append(.notSupported("roleRef.kind", .string(kind), kinds)) }
        let name = FieldRead.string(roleRef["name"])
        if name.isEmpty {
            errors.append(.required("roleRef.name"))
        } else {
            errors += NameRule.pathSegment.check(name).map { .invalid("roleRef.name", .string(name), $0) }
        }
        for (i, subject) in FieldRead.objects(binding["subjects"]).enumerated() {
            errors += self.subject(subject, namespaced: namespaced, ValidationPath("subjects").index(i))
        }
        if let old, old["roleRef"] != binding["roleRef"] {
            errors.append(.invalid("roleRef", binding["roleRef"], "cannot change roleRef"))
        }
        return errors
    }

    static func subject(_ subject: JSONValue, namespaced: Bool, _ path: ValidationPath) -> [FieldError] {
        var errors: [FieldError] = []
        let name = FieldRead.string(subject["name"])
        let group = FieldRead.string(subject["apiGroup"])
        if name.isEmpty { errors.append(.required(path.child("name").description)) }
        switch FieldRead.string(subject["kind"]) {
        case "ServiceAccount":
            if !name.isEmpty {
                errors += NameFormat.dns1123Subdomain(name).map { .invalid(path.child("name").description, .string(name), $0) }
            }
            if !group.isEmpty { errors.append(.notSupported(path.child("apiGroup").description, .string(group), [""])) }
            if !namespaced, FieldRead.string(subject["namespace"]).isEmpty { errors.append(.required(path.child("namespace").description)) }
        case "User", "Group":
            if group != RBAC.group { errors.append(.notSupported(path.child("apiGroup").description, .string(group), [RBAC.group])) }
        case let kind:
            errors.append(.notSupported(path.child("kind").description, .string(kind), ["ServiceAccount", "User", "Group"]))
        }
        return errors
    }

    static let bindingPrinter = TablePrinter(
        columns: [
            TableFormat.name,
            TableFormat.column("Role", "string", "RoleRef is the reference to the role this binding grants."),
            TableFormat.age,
            TableFormat.column("Users", "string", "Users in the binding.", priority: 1),
            TableFormat.column("Groups", "string", "Groups in the binding.", priority: 1),
            TableFormat.column("ServiceAccounts", "string", "ServiceAccounts in the binding.", priority: 1),
        ],
        cells: { binding, now in
            let subjects = FieldRead.objects(binding["subjects"])
            func names(_ kind: String) -> String {
                subjects.filter { FieldRead.string($0["kind"]) == kind }.map { subject in
                    let name = FieldRead.string(subject["name"])
                    return kind == "ServiceAccount" ? "\(FieldRead.string(subject["namespace"])):\(name)" : name
                }.joined(separator: ", ")
            }
            return [
                TableFormat.objectName(binding),
                .string("\(FieldRead.string(binding[path: "roleRef", "kind"]))/\(FieldRead.string(binding[path: "roleRef", "name"]))"),
                TableFormat.creationAge(binding, now: now),
                .string(names("User")), .string(names("Group")), .string(names("ServiceAccount")),
            ]
        })
}
