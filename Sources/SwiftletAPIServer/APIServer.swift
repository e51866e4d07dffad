import Foundation
import Synchronization
import SwiftletAPI
import SwiftletMachinery
import SwiftletStorage

/// The Kubernetes API over one datastore: the per-resource storages and watch caches, the
/// service allocators, and the system objects every cluster starts with.
///
/// `handle(_:)` serves HTTP requests; in-process clients (controllers) call the same
/// storages, so both go through the same defaulting, validation and admission.
public final class APIServer: Sendable {
    public let config: APIServerConfig
    public let store: any Store
    /// The resources served now: the built-in ones, and those added at run time.
    let registry: ResourceRegistry
    let allocators: ServiceAllocators
    let openAPIDocuments = OpenAPIDocuments()
    let authorizer: Authorizer
    /// The node agents that serve pods' logs, exec and attach.
    public let nodeStreaming = NodeStreamingRegistry()
    /// Requests being served now, read-only and mutating apart.
    let readOnlyInFlight: InFlightLimit
    let mutatingInFlight: InFlightLimit
    private let bookmarkTask: Mutex<Task<Void, Never>?>

    public init(config: APIServerConfig, store: any Store) throws {
        self.config = config
        self.store = store
        guard let cidr = IPv4CIDR(config.serviceCIDR) else {
            throw APIServerError.invalidConfiguration("invalid service CIDR \(config.serviceCIDR)")
        }
        allocators = ServiceAllocators(serviceCIDR: cidr, nodePortRange: config.nodePortRange)
        let context = StrategyContext(dryRun: false, allocators: allocators)
        let registry = ResourceRegistry(store: store, context: context, clock: config.clock, nameSuffix: config.nameSuffix)
        // The built-in resources whose strategies need more than the defaults.
        let serviceAccount: @Sendable (String, String) -> JSONValue? = { [weak registry] namespace, name in
            registry?.storage(for: Resources.serviceaccounts)?.cache.get(
                Resources.serviceaccounts.storageKey(namespace: namespace, name: name))?.object()
        }
        let namespaceLabels: @Sendable (String) -> JSONObject? = { [weak registry] name in
            registry?.storage(for: Resources.namespaces)?.cache.get(Resources.namespaces.storageKey(namespace: nil, name: name))?
                .object()[path: "metadata", "labels"]?.objectValue
        }
                let definitions = CustomResourceDefinitionStrategy(registry: { [weak registry] in registry }, clock: config.clock)
        let authorizer = Authorizer(registry: registry)
        var strategies: [ResourceInfo: any ResourceStrategy] = [
            Resources.services: ServiceStrategy(),
            Resources.pods: PodStrategy(defaultTolerationSeconds: config.defaultTolerationSeconds, serviceAccount: serviceAccount,
                                        namespaceLabels: namespaceLabels, serviceAccountAdmission: config.serviceAccountAdmission,
                                        nameSuffix: config.nameSuffix),
            Resources.namespaces: NamespaceStrategy(),
            Resources.nodes: NodeStrategy(),
            Resources.customresourcedefinitions: definitions,
        ]
        for resource in [Resources.roles, Resources.clusterroles, Resources.rolebindings, Resources.clusterrolebindings] {
            strategies[resource] = RBACEscalationStrategy(resource: resource, authorizer: authorizer)
        }
        for type in ResourceTypes.builtIn {
            try registry.register(type, strategy: strategies[type.info] ?? DefaultStrategy())
        }
        // The custom resources of every CRD stored.
        if let crds = registry.storage(for: Resources.customresourcedefinitions) {
            for cached in crds.cache.list(prefix: crds.info.storagePrefix, filter: WatchFilter()).items {
                definitions.afterWrite(cached.object())
            }
        }
        self.registry = registry
        self.authorizer = authorizer
        self.readOnlyInFlight = InFlightLimit(config.maxRequestsInFlight)
        self.mutatingInFlight = InFlightLimit(config.maxMutatingRequestsInFlight)
        self.bookmarkTask = Mutex(nil)
        try rebuildAllocations()
        try bootstrap()
        startBookmarks()
    }

    func storage(for info: ResourceInfo) -> ResourceStorage? { registry.storage(for: info) }

    /// Marks every stored Service's addresses as used: the allocators' state is derived
    /// from the objects, so it cannot drift from them across restarts.
    private func rebuildAllocations() throws {
        guard let services = storage(for: Resources.services) else { return }
        for cached in services.cache.list(prefix: Resources.services.storagePrefix, filter: WatchFilter()).items {
            let service = cached.object()
            if let ip = service[path: "spec", "clusterIP"]?.stringValue, ip != "None", !ip.isEmpty {
                try? allocators.clusterIPs.allocate(ip)
            }
            for port in service[path: "spec", "ports"]?.arrayValue ?? [] {
                if let nodePort = port["nodePort"]?.intValue { try? allocators.nodePorts.allocate(Int(nodePort)) }
            }
        }
    }

    /// How the server's own writes appear in managedFields, as upstream's loopback client does.
    static let bootstrapOwner = ResourceStorage.FieldOwnership.update(manager: "kube-apiserver")

    /// The objects a new cluster has: the four system namespaces, the `kubernetes` Service
    /// with its Endpoints and EndpointSlice pointing at this server, and the cluster DNS Service.
    private func bootstrap() throws {
        let namespaces = storage(for: Resources.namespaces)!
        for name in ["default", "kube-system", "kube-public", "kube-node-lease"]
        where namespaces.cache.get(Resources.namespaces.storageKey(namespace: nil, name: name)) == nil {
            _ = try namespaces.create(namespace: nil, object: ["metadata": ["name": .string(name)]], dryRun: false, ownership: Self.bootstrapOwner)
        }
        let services = storage(for: Resources.services)!
        let kubernetesIP = allocators.clusterIPs.cidr.address(1)
        if services.cache.get(Resources.services.storageKey(namespace: "default", name: "kubernetes")) == nil {
            _ = try services.create(namespace: "default", object: [
                "metadata": ["name": "kubernetes", "labels": ["component": "apiserver", "provider": "kubernetes"]],
                "spec": [
                    "clusterIP": .string(kubernetesIP), "type": "ClusterIP", "sessionAffinity": "None",
                    "ports": [["name": "https", "port": 443, "protocol": "TCP", "targetPort": .int(Int64(config.securePort))]],
                ],
            ], dryRun: false, ownership: Self.bootstrapOwner)
        }
        // Cluster DNS at the service range's tenth address, as k3s puts CoreDNS. It has no
        // selector: every node agent answers it itself (node-local, like NodeLocal DNSCache).
        if services.cache.get(Resources.services.storageKey(namespace: "kube-system", name: "kube-dns")) == nil {
            _ = try services.create(namespace: "kube-system", object: [
                "metadata": ["name": "kube-dns", "labels": [
                    "k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "SwiftletDNS",
                ]],
                "spec": [
                    "clusterIP": .string(allocators.clusterIPs.cidr.address(10)), "type": "ClusterIP",
                    "ports": [
                        ["name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53],
                        ["name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53],
                    ],
                ],
            ], dryRun: false, ownership: Self.bootstrapOwner)
        }
        try bootstrapKubernetesEndpoints()
        try bootstrapRBAC()
    }

    /// Upstream's bootstrap roles and bindings: created when missing, and put back as
    /// defined while they keep the autoupdate annotation (a user who sets it to "false" owns
    /// the object from then on). Those an earlier version made and this one retired go, on the
    /// same terms.
    private func bootstrapRBAC() throws {
        for (resource, names) in [(Resources.clusterroles, BootstrapPolicy.retiredClusterRoles),
                                  (Resources.clusterrolebindings, BootstrapPolicy.retiredClusterRoleBindings)] {
            let storage = storage(for: resource)!
            for name in names {
                guard let existing = storage.cache.get(resource.storageKey(namespace: nil, name: name))?.object(),
                      existing[path: "metadata", "annotations", BootstrapPolicy.autoupdateAnnotation] == "true" else { continue }
                _ = try storage.delete(namespace: nil, name: name, options: .init())
            }
        }
        for (resource, objects) in [(Resources.clusterroles, BootstrapPolicy.clusterRoles),
                                    (Resources.clusterrolebindings, BootstrapPolicy.clusterRoleBindings)] {
            let storage = storage(for: resource)!
            for object in objects {
                let name = FieldRead.string(object[path: "metadata", "name"])
                guard let existing = storage.cache.get(resource.storageKey(namespace: nil, name: name))?.object() else {
                    _ = try storage.create(namespace: nil, object: object, dryRun: false, ownership: Self.bootstrapOwner)
                    continue
                }
                guard existing[path: "metadata", "annotations", BootstrapPolicy.autoupdateAnnotation] == "true" else { continue }
                // Aggregated roles' rules are the aggregation controller's to write.
                let fields = object["aggregationRule"] != nil ? ["aggregationRule"] : ["rules", "roleRef", "subjects"]
                guard fields.contains(where: { existing[$0] != object[$0] }) else { continue }
                _ = try storage.guaranteedUpdate(namespace: nil, name: name, subresource: nil, dryRun: false, ownership: Self.bootstrapOwner) { current in
                    var updated = current
                    for field in fields { updated[field] = object[field] }
                    return updated
                }
            }
        }
    }

    /// The `kubernetes` Service's Endpoints and EndpointSlice point at this server, as the
    /// kube-apiserver's endpoint reconciler keeps them.
    private func bootstrapKubernetesEndpoints() throws {
        let endpoints = storage(for: Resources.endpoints)!
        let desiredSubsets: JSONValue = [[
            "addresses": [["ip": .string(config.advertiseAddress)]],
            "ports": [["name": "https", "port": .int(Int64(config.securePort)), "protocol": "TCP"]],
        ]]
        if let existing = endpoints.cache.get(Resources.endpoints.storageKey(namespace: "default", name: "kubernetes")) {
            if existing.object()["subsets"] != desiredSubsets {
                _ = try endpoints.guaranteedUpdate(namespace: "default", name: "kubernetes", subresource: nil, dryRun: false, ownership: Self.bootstrapOwner) { current in
                    var o = current
                    o["subsets"] = desiredSubsets
                    return o
                }
            }
        } else {
            _ = try endpoints.create(namespace: "default", object: [
                "metadata": ["name": "kubernetes", "labels": ["endpointslice.kubernetes.io/skip-mirror": "true"]],
                "subsets": desiredSubsets,
            ], dryRun: false, ownership: Self.bootstrapOwner)
        }
        let slices = storage(for: Resources.endpointslices)!
        let desiredSlice: JSONValue = [
            "addressType": "IPv4",
            "endpoints": [["addresses": [.string(config.advertiseAddress)], "conditions": ["ready": true]]],
            "ports": [["name": "https", "port": .int(Int64(config.securePort)), "protocol": "TCP"]],
        ]
        if let existing = slices.cache.get(Resources.endpointslices.storageKey(namespace: "default", name: "kubernetes")) {
            let current = existing.object()
            if current["endpoints"] != desiredSlice["endpoints"] || current["ports"] != desiredSlice["ports"] {
                _ = try slices.guaranteedUpdate(namespace: "default", name: "kubernetes", subresource: nil, dryRun: false, ownership: Self.bootstrapOwner) { current in
                    var o = current
                    o["endpoints"] = desiredSlice["endpoints"]
                    o["ports"] = desiredSlice["ports"]
                    return o
                }
            }
        } else {
            var slice = desiredSlice
            slice["metadata"] = ["name": "kubernetes", "labels": [
                "kubernetes.io/service-name": "kubernetes",
                "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
            ]]
            _ = try slices.create(namespace: "default", object: slice, dryRun: false, ownership: Self.bootstrapOwner)
        }
    }

    private func startBookmarks() {
        let registry = self.registry
        let interval = config.bookmarkInterval
        let task = Task.detached {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                for storage in registry.storages { storage.cache.sendBookmarks() }
            }
        }
        bookmarkTask.withLock { $0 = task }
    }

    /// Stops the store watches, ends every client watch, and stops the timers.
    public func shutdown() {
        bookmarkTask.withLock { $0?.cancel() }
        registry.shutdown()
    }
}

public enum APIServerError: Error, CustomStringConvertible {
    case invalidConfiguration(String)
    public var description: String {
        switch self {
        case .invalidConfiguration(let m): return m
        }
    }
}
