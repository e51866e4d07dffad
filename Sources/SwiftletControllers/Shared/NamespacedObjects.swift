import SwiftletAPI
import SwiftletClient
import SwiftletMachinery

/// What controllers that keep one object in every namespace share (the default ServiceAccount,
/// the root CA ConfigMap): a queue of namespace names, the test of a namespace still taking
/// objects, and a create that a concurrent creator has already made.
enum NamespacedObjects {
    static func queueEveryNamespace(_ namespaces: SharedInformer, into queue: WorkQueue<String>) {
        let add: @Sendable (JSONValue) -> Void = { ns in
            if let name = ns[path: "metadata", "name"]?.stringValue { queue.add(name) }
        }
        namespaces.addEventHandler(EventHandler(onAdd: add, onUpdate: { _, ns in add(ns) }))
    }

    /// A namespace that exists and is not being deleted: the API refuses new objects in one that is.
    static func isActive(_ namespace: JSONValue?) -> Bool {
        guard let namespace else { return false }
        return namespace[path: "status", "phase"]?.stringValue != "Terminating" && namespace[path: "metadata", "deletionTimestamp"] == nil
    }

    /// Creates the object; one made meanwhile by someone else is what the caller wanted too.
    static func create(_ resource: ResourceInfo, _ object: JSONValue, with client: APIClient) async throws {
        do {
            _ = try await client.create(resource, object)
        } catch {
            if !error.isAlreadyExists { throw error }
        }
    }
}
