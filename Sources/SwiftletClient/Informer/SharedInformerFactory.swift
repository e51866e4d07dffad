import Synchronization
import SwiftletAPI

/// Hands out one informer per resource and namespace, so controllers that watch the same
/// resource share one cache and one watch instead of each holding a copy.
///
/// The pattern: build every controller (each asks for its informers, registers handlers and
/// indexers), then `start()`, then `waitForSync()` before running workers.
public final class SharedInformerFactory: Sendable {
    private let client: APIClient
    private let clock: any Clock
    private let log: LogSink
    private let informers = Mutex<[String: SharedInformer]>([:])

    public init(client: APIClient, clock: any Clock = SystemClock(), log: @escaping LogSink = ClientLog.standardError) {
        self.client = client
        self.clock = clock
        self.log = log
    }

    /// The shared informer for `resource`, in `namespace` or (nil) all namespaces.
    public func informer(for resource: ResourceInfo, namespace: String? = nil) -> SharedInformer {
        let scope = resource.namespaced ? namespace ?? "" : ""
        return informers.withLock { all in
            let key = "\(resource.qualifiedResource)/\(scope)"
            if let existing = all[key] { return existing }
            let informer = SharedInformer(client: client, resource: resource, namespace: scope.isEmpty ? nil : scope,
                                          clock: clock, log: log)
            all[key] = informer
            return informer
        }
    }

    /// Starts every informer handed out so far (informers asked for later need another call).
    public func start() {
        for informer in informers.withLock({ Array($0.values) }) { informer.start() }
    }

    /// True once every informer handed out so far has synced; false if one was stopped first.
    public func waitForSync() async -> Bool {
        for informer in informers.withLock({ Array($0.values) }) {
            guard await informer.waitForSync() else { return false }
        }
        return true
    }

    public func shutDown() {
        for informer in informers.withLock({ Array($0.values) }) { informer.stop() }
    }
}
