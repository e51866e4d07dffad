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
        client = context.client(for: "service-account-controller")
        log = context.log
        namespaces = context.informers.informer(for: Resources.namespaces)
        accounts = context.informers.informer(for: Resources.serviceaccounts)
        queue = WorkQueue(clock: context.clock)
        let queue = self.queue
        NamespacedObjects.queueEveryNamespace(namespaces, into: queue)
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
        guard NamespacedObjects.isActive(namespaces.get(ObjectKey(namespace: nil, name: namespace))),
              accounts.get(ObjectKey(namespace: namespace, name: Self.defaultName)) == nil else { return }
        try await NamespacedObjects.create(Resources.serviceaccounts, [
            "apiVersion": "v1", "kind": "ServiceAccount", "metadata": ["name": .string(Self.defaultName), "namespace": .string(namespace)],
        ], with: client)
    }
}
