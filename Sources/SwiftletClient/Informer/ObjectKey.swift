import SwiftletMachinery

/// Names one object of a resource: what informer caches are keyed by and what controllers
/// put in their work queues (client-go's `namespace/name` keys). Queues hold keys, not
/// objects, so that a sync always reads the newest state from the cache.
public struct ObjectKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Nil for cluster-scoped objects.
    public var namespace: String?
    public var name: String

    public init(namespace: String?, name: String) {
        self.namespace = namespace.flatMap { $0.isEmpty ? nil : $0 }
        self.name = name
    }

    /// The key of an object, from its metadata; nil if it has no name.
    public init?(_ object: JSONValue) {
        guard let name = object[path: "metadata", "name"]?.stringValue, !name.isEmpty else { return nil }
        self.init(namespace: object[path: "metadata", "namespace"]?.stringValue, name: name)
    }

    public var description: String { namespace.map { "\($0)/\(name)" } ?? name }

    public static func < (a: ObjectKey, b: ObjectKey) -> Bool { a.description < b.description }
}
