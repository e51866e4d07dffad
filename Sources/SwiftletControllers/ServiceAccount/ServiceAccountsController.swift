import SwiftletAPI
import SwiftletClient
import SwiftletMachinery

/// Upstream's serviceaccount controller: every active namespace has a ServiceAccount named
/// `default`, created again if it is deleted. Pods that name no ServiceAccount run as it.
public final class ServiceAccountsController: Controller {
    public let name = "serviceaccount"
    public static let defaultName = "default"
    private let client: APIClient
    private let log: LogSink
    private let namespaces: SharedInformer
    private let accounts: SharedInformer
    private let queue: WorkQueue<String>

    public init(context: ControllerContext) {
        client = context.client
        log = context.log
        namespaces = context.informers.informer(for: Resources.namespaces)
        accounts = context.informers.informer(for: Resources.serviceaccounts)
        queue = WorkQueue(clock: context.clock)
        let queue = self.queue
        let namespace: @Sendable (JSONValue) -> Void = { ns in
            if let name = ns[path: "metadata", "name"]?.stringValue { queue.add(name) }
        }
        namespaces.addEventHandler(EventHandler(onAdd: namespace, onUpdate: { _, ns in namespace(ns) }))
        accounts.addEventHandler(EventHandler(onDelete: { account in
            if account[path: "metadata", "name"]?.stringValue == Self.defaultName,
               let ns = account[path: "metadata", "namespace"]?.stringValue { queue.add(ns) }
        }))
    }

    public func run(workers: Int) async {
        await ControllerRunner(name: name, queue: queue, workers: workers, log: log) { [self] namespace in
            try await self.sync(namespace)
        }.run()
    }

    func sync(_ namespace: String) async throws {
        guard let ns = namespaces.get(ObjectKey(namespace: nil, name: namespace)),
              ns[path: "status", "phase"]?.stringValue != "Terminating", ns[path: "metadata", "deletionTimestamp"] == nil,
              accounts.get(ObjectKey(namespace: namespace, name: Self.defaultName)) == nil else { return }
        do {
            _ = try await client.create(Resources.serviceaccounts, [
                "apiVersion": "v1", "kind": "ServiceAccount", "metadata": ["name": .string(Self.defaultName), "namespace": .string(namespace)],
            ])
        } catch {
            // Made meanwhile by someone else: what this sync wanted.
            if !error.isAlreadyExists { throw error }
        }
    }
}

/// Upstream's root-ca-cert-publisher: every namespace has the ConfigMap `kube-root-ca.crt`
/// with the cluster CA (`ca.crt`), which the projected service-account volume mounts beside
/// the token so pods can verify the API server. Changed or deleted, it is put back.
public final class RootCACertificatePublisher: Controller {
    public let name = "root-ca-cert-publisher"
    public static let configMapName = "kube-root-ca.crt"
    private let client: APIClient
    private let log: LogSink
    private let caPEM: String
    private let namespaces: SharedInformer
    private let configMaps: SharedInformer
    private let queue: WorkQueue<String>

    public init(context: ControllerContext, caCertificatePEM: String) {
        client = context.client
        log = context.log
        caPEM = caCertificatePEM
        namespaces = context.informers.informer(for: Resources.namespaces)
        configMaps = context.informers.informer(for: Resources.configmaps)
        queue = WorkQueue(clock: context.clock)
        let queue = self.queue
        let namespace: @Sendable (JSONValue) -> Void = { ns in
            if let name = ns[path: "metadata", "name"]?.stringValue { queue.add(name) }
        }
        let configMap: @Sendable (JSONValue) -> Void = { cm in
            if cm[path: "metadata", "name"]?.stringValue == Self.configMapName,
               let ns = cm[path: "metadata", "namespace"]?.stringValue { queue.add(ns) }
        }
        namespaces.addEventHandler(EventHandler(onAdd: namespace, onUpdate: { _, ns in namespace(ns) }))
        configMaps.addEventHandler(EventHandler(onUpdate: { _, cm in configMap(cm) }, onDelete: configMap))
    }

    public func run(workers: Int) async {
        await ControllerRunner(name: name, queue: queue, workers: workers, log: log) { [self] namespace in
            try await self.sync(namespace)
        }.run()
    }

    func sync(_ namespace: String) async throws {
        guard let ns = namespaces.get(ObjectKey(namespace: nil, name: namespace)),
              ns[path: "status", "phase"]?.stringValue != "Terminating", ns[path: "metadata", "deletionTimestamp"] == nil else { return }
        let data: JSONValue = ["ca.crt": .string(caPEM)]
        if let existing = configMaps.get(ObjectKey(namespace: namespace, name: Self.configMapName)) {
            guard existing["data"] != data else { return }
            var updated = existing
            updated["data"] = data
            _ = try await client.update(Resources.configmaps, updated)
            return
        }
        do {
            _ = try await client.create(Resources.configmaps, [
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": ["name": .string(Self.configMapName), "namespace": .string(namespace)], "data": data,
            ])
        } catch {
            // Made meanwhile by someone else: what this sync wanted.
            if !error.isAlreadyExists { throw error }
        }
    }
}
