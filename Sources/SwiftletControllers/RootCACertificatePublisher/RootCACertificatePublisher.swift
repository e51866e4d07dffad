import SwiftletAPI
import SwiftletClient
import SwiftletMachinery

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
        client = context.client(for: "root-ca-cert-publisher")
        log = context.log
        caPEM = caCertificatePEM
        namespaces = context.informers.informer(for: Resources.namespaces)
        configMaps = context.informers.informer(for: Resources.configmaps)
        queue = WorkQueue(clock: context.clock)
        let queue = self.queue
        NamespacedObjects.queueEveryNamespace(namespaces, into: queue)
        let configMap: @Sendable (JSONValue) -> Void = { cm in
            if cm[path: "metadata", "name"]?.stringValue == Self.configMapName,
               let ns = cm[path: "metadata", "namespace"]?.stringValue { queue.add(ns) }
        }
        configMaps.addEventHandler(EventHandler(onUpdate: { _, cm in configMap(cm) }, onDelete: configMap))
    }

    public func run(workers: Int) async {
        await ControllerRunner(name: name, queue: queue, workers: workers, log: log) { [self] namespace in
            try await self.sync(namespace)
        }.run()
    }

    func sync(_ namespace: String) async throws {
        guard NamespacedObjects.isActive(namespaces.get(ObjectKey(namespace: nil, name: namespace))) else { return }
        let data: JSONValue = ["ca.crt": .string(caPEM)]
        if let existing = configMaps.get(ObjectKey(namespace: namespace, name: Self.configMapName)) {
            guard existing["data"] != data else { return }
            var updated = existing
            updated["data"] = data
            _ = try await client.update(Resources.configmaps, updated)
            return
        }
        try await NamespacedObjects.create(Resources.configmaps, [
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": ["name": .string(Self.configMapName), "namespace": .string(namespace)], "data": data,
        ], with: client)
    }
}
