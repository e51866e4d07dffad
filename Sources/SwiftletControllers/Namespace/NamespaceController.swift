import SwiftletAPI
import SwiftletClient
import SwiftletMachinery

/// Kubernetes' namespace controller (pkg/controller/namespace): empties a namespace that is
/// being deleted, then releases it.
///
/// A namespace with a `deletionTimestamp` (phase Terminating) has every object of every
/// namespaced resource in it deleted (in the background: the garbage collector takes care of
/// what they own). Objects that linger (finalizers, graceful pod deletion) are waited for:
/// each deletion seen by an informer of that resource queues the namespace again, and the
/// namespace is re-checked every `recheckInterval` regardless. Once nothing remains, the
/// `kubernetes` finalizer is removed from `spec.finalizers` with a PUT on
/// `namespaces/{name}/finalize`, and the namespace is deleted once more (as upstream's
/// `deleteNamespaceWhenDone`): the server removes it once its `metadata.finalizers` are empty too.
public final class NamespaceController: Controller {
    public let name = "namespace"
    /// The finalizer this controller owns in `spec.finalizers`.
    public static let finalizer = "kubernetes"
    private let client: APIClient
    private let log: LogSink
    private let namespaces: SharedInformer
    private let queue: WorkQueue<String>
    private let recheckInterval: Duration

    /// The resources whose objects are deleted from a terminating namespace.
    static let contentResources: [ResourceInfo] = Resources.all.filter(\.namespaced)

    public convenience init(context: ControllerContext) {
        self.init(context: context, recheckInterval: .seconds(2))
    }

    init(context: ControllerContext, recheckInterval: Duration) {
        client = context.client(for: "namespace-controller")
        log = context.log
        self.recheckInterval = recheckInterval
        namespaces = context.informers.informer(for: Resources.namespaces)
        queue = WorkQueue(clock: context.clock, backoff: ItemBackoff(base: .milliseconds(5), max: .seconds(300)))
        namespaces.addEventHandler(EventHandler(
            onAdd: { [weak self] ns in self?.enqueueIfDeleting(ns) },
            onUpdate: { [weak self] _, ns in self?.enqueueIfDeleting(ns) }))
        // A deleted object of a terminating namespace may have been the last one: look again.
        // Only informers that others share anyway are used (events would be a cache of its own).
        for resource in Self.contentResources where resource.qualifiedResource != Resources.events.qualifiedResource {
            context.informers.informer(for: resource).addEventHandler(EventHandler(onDelete: { [weak self] object in
                guard let self, let ns = object[path: "metadata", "namespace"]?.stringValue,
                      let namespace = self.namespaces.get(name: ns) else { return }
                self.enqueueIfDeleting(namespace)
            }))
        }
    }

    public func run(workers: Int) async {
        let runner = ControllerRunner(name: name, queue: queue, workers: workers, log: log) { [self] key in
            try await self.sync(key)
        }
        await runner.run()
    }

    private func enqueueIfDeleting(_ namespace: JSONValue) {
        guard Self.isDeleting(namespace), let name = namespace[path: "metadata", "name"]?.stringValue else { return }
        queue.add(name)
    }

    private static func isDeleting(_ object: JSONValue) -> Bool {
        object[path: "metadata", "deletionTimestamp"].map { !$0.isNull } ?? false
    }

    func sync(_ name: String) async throws {
        guard let cached = namespaces.get(name: name), Self.isDeleting(cached) else { return }
        var namespace: JSONValue
        do {
            namespace = try await client.get(Resources.namespaces, name: name)
        } catch {
            if error.code == 404 { return }
            throw error
        }
        guard Self.isDeleting(namespace) else { return }
        let finalizers = namespace[path: "spec", "finalizers"]?.arrayValue ?? []
        guard finalizers.contains(.string(Self.finalizer)) else { return }

        if namespace[path: "status", "phase"]?.stringValue != "Terminating" {
            namespace[path: "status", "phase"] = "Terminating"
            namespace = try await client.update(Resources.namespaces, namespace, subresource: "status")
        }

        let remaining = try await deleteContent(of: name)
        guard remaining == 0 else {
            queue.addAfter(name, recheckInterval)
            return
        }

        namespace[path: "spec", "finalizers"] = .array(finalizers.filter { $0 != .string(Self.finalizer) })
        log("namespace: \(name) is empty; removing the \(Self.finalizer) finalizer")
        let finalized: JSONValue
        do {
            finalized = try await client.update(Resources.namespaces, namespace, subresource: "finalize")
        } catch {
            if error.code == 404 { return }
            throw error
        }
        // As kube-controller-manager (deleteNamespaceWhenDone): once finalized, delete again;
        // the server removes it now unless metadata finalizers still hold it.
        guard (finalized[path: "spec", "finalizers"]?.arrayValue ?? []).isEmpty,
              finalized[path: "metadata", "uid"] != nil else { return }
        do {
            try await client.delete(Resources.namespaces, name: name,
                                    options: DeleteOptions(preconditionUID: finalized[path: "metadata", "uid"]?.stringValue))
        } catch {
            if error.code == 404 || error.code == 409 { return }
            throw error
        }
    }

    /// Deletes what is left in the namespace; returns how many objects are still there
    /// (being deleted, or created meanwhile).
    private func deleteContent(of namespace: String) async throws(APIError) -> Int {
        var remaining = 0
        // And the custom resources served now, which upstream finds through discovery too.
        let builtIn = Set(Self.contentResources.map(\.qualifiedResource))
        let custom = try await client.serverResources().filter {
            $0.namespaced && $0.verbs.contains("delete") && $0.verbs.contains("list") && !builtIn.contains($0.qualifiedResource)
        }
        for resource in Self.contentResources + custom {
            let items = try await client.list(resource, namespace: namespace).items
            for item in items {
                guard !Self.isDeleting(item) else {
                    remaining += 1
                    continue
                }
                guard let name = item[path: "metadata", "name"]?.stringValue else { continue }
                do {
                    let answer = try await client.delete(resource, namespace: namespace, name: name, options: DeleteOptions(
                        propagationPolicy: .background, preconditionUID: item[path: "metadata", "uid"]?.stringValue))
                    // The object comes back marked for deletion while it is still there
                    // (finalizers, grace); a Status or the unmarked object once it is gone.
                    if Self.isDeleting(answer) { remaining += 1 }
                } catch {
                    if error.code == 404 { continue }
                    if error.code == 409 { remaining += 1; continue }
                    throw error
                }
            }
        }
        return remaining
    }
}
