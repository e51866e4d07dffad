import Synchronization
import SwiftletAPI
import SwiftletMachinery

/// Who a request is from, for the code a request reaches that decides by the requester
/// (RBAC's escalation checks), as upstream carries the user in the request context.
enum RequestContext {
    @TaskLocal static var user: UserInfo?
}

/// kube-apiserver's authorization chain as Swiftlet runs it: members of `system:masters`
/// may do anything (upstream's privileged-group authorizer), then the Node authorizer for
/// kubelets (`NodeAuthorizer`), then RBAC.
///
/// RBAC reads the four kinds' watch caches. The compiled `RBACPolicy` is kept until one of
/// the caches moves past the revision it was built at, so an ordinary request costs four
/// revision reads and a walk of the bindings that name the user.
final class Authorizer: Sendable {
    private let registry: ResourceRegistry
    private let nodes: NodeAuthorizer
    private let compiled = Mutex<(revisions: [Int64], policy: RBACPolicy)?>(nil)

    init(registry: ResourceRegistry) {
        self.registry = registry
        self.nodes = NodeAuthorizer(podsInNamespace: { [weak registry] namespace in
            guard let pods = registry?.storage(for: Resources.pods) else { return [] }
            return pods.cache.list(prefix: Resources.pods.storagePrefix(namespace: namespace), filter: WatchFilter()).items.map { $0.object() }
        })
    }

    enum Decision: Equatable {
        case allow(reason: String)
        case deny(reason: String)

        var allowed: Bool { if case .allow = self { return true } else { return false } }
        var reason: String { switch self { case .allow(let r), .deny(let r): return r } }
    }

    func authorize(_ user: UserInfo, _ attributes: AuthorizationAttributes) -> Decision {
        if user.isSystemMaster { return .allow(reason: "") }
        var refusal = ""
        if let node = user.nodeName {
            switch nodes.authorize(node: node, attributes) {
            case .allow: return .allow(reason: "")
            case .noOpinion(let reason): refusal = reason
            }
        }
        switch policy().authorize(user, attributes) {
        case .allow(let reason): return .allow(reason: reason)
        case .noOpinion: return .deny(reason: refusal)
        }
    }

    /// The four RBAC kinds' storages: built in, so they never change once registered.
    private let rbacStorages = Mutex<[ResourceStorage]?>(nil)

    /// The RBAC objects as they are now.
    func policy() -> RBACPolicy {
        let storages = rbacStorages.withLock { cached in
            if let cached { return cached }
            let found = [Resources.clusterroles, Resources.roles, Resources.clusterrolebindings, Resources.rolebindings]
                .compactMap { registry.storage(for: $0) }
            if found.count == 4 { cached = found }
            return found
        }
        guard storages.count == 4 else { return RBACPolicy() }
        let revisions = storages.map(\.cache.revision)
        if let current = compiled.withLock({ $0 }), current.revisions == revisions { return current.policy }
        func objects(_ storage: ResourceStorage) -> [JSONValue] {
            storage.cache.list(prefix: storage.info.storagePrefix, filter: WatchFilter()).items.map { $0.object() }
        }
        let policy = RBACPolicy(clusterRoles: objects(storages[0]), roles: objects(storages[1]),
                                clusterRoleBindings: objects(storages[2]), roleBindings: objects(storages[3]))
        compiled.withLock { $0 = (revisions, policy) }
        return policy
    }

    /// The 403 a refused request gets, worded as upstream's `forbiddenMessage`.
    static func forbidden(_ user: UserInfo, _ a: AuthorizationAttributes, reason: String = "") -> APIError {
        var message: String
        if !a.isResourceRequest {
            message = "User \(GoText.quote(user.name)) cannot \(a.verb) path \(GoText.quote(a.path))"
        } else {
            let resource = a.subresource.isEmpty ? a.resource : "\(a.resource)/\(a.subresource)"
            let scope = a.namespace.isEmpty ? "at the cluster scope" : "in the namespace \(GoText.quote(a.namespace))"
            message = "User \(GoText.quote(user.name)) cannot \(a.verb) resource \(GoText.quote(resource)) in API group \(GoText.quote(a.apiGroup)) \(scope)"
        }
        if !reason.isEmpty { message += ": \(reason)" }
        return .forbidden(group: a.apiGroup, resource: a.resource, name: a.name.isEmpty ? nil : a.name, reason: message)
    }
}

extension AuthorizationAttributes {
    /// What a request asks, as upstream's RequestInfoFactory reads it from the method and path.
    init(_ request: HTTPRequest) {
        let method = request.method.rawValue.lowercased()
        guard let info = APIRequestInfo(path: request.path) else {
            self.init(verb: method == "head" ? "get" : method, path: request.path)
            return
        }
        let verb: String
        switch request.method {
        case .GET, .HEAD:
            if info.name == nil {
                let watch = request.query["watch"]
                verb = watch != nil && watch != "false" && watch != "0" ? "watch" : "list"
            } else if info.resource == "pods", ["exec", "attach", "portforward"].contains(info.subresource ?? "") {
                // WebSocket upgrades of the streaming subresources are creates (KEP-4006).
                verb = "create"
            } else {
                verb = "get"
            }
        case .POST: verb = "create"
        case .PUT: verb = "update"
        case .PATCH: verb = "patch"
        case .DELETE: verb = info.name == nil ? "deletecollection" : "delete"
        default: verb = method
        }
        // A list or watch pinned to one name by `fieldSelector=metadata.name=NAME` is about that
        // object, as upstream's RequestInfoFactory reads it: `resourceNames` rules and the Node
        // authorizer see the name.
        var name = info.name ?? ""
        if name.isEmpty, verb == "list" || verb == "watch", let selector = request.query["fieldSelector"],
           let pinned = try? FieldSelector.parse(selector).requiredValue(for: "metadata.name"),
           NameRule.pathSegmentErrors(pinned).isEmpty {
            name = pinned
        }
        // A namespace is its own scope: rules in a namespace reach the namespace object too.
        let namespace = info.resource == "namespaces" ? (info.name ?? "") : (info.namespace ?? "")
        self.init(verb: verb, apiGroup: info.group, resource: info.resource, subresource: info.subresource ?? "",
                  namespace: namespace, name: name)
        if verb == "list" || verb == "watch" { fieldSelector = request.query["fieldSelector"] ?? "" }
    }
}
