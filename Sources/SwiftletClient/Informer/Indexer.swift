import SwiftletMachinery

/// A secondary index of an informer's cache: the values an object is filed under. Controllers
/// look objects up by index instead of scanning the cache on every sync, e.g. "the pods this
/// ReplicaSet controls" is one `byIndex` lookup by the ReplicaSet's uid.
public struct Indexer: Sendable {
    public let name: String
    public let values: @Sendable (JSONValue) -> [String]

    public init(name: String, values: @escaping @Sendable (JSONValue) -> [String]) {
        self.name = name
        self.values = values
    }

    /// Every informer has it: cluster-scoped objects are filed under "".
    public static let namespace = Indexer(name: "namespace") { object in
        [object[path: "metadata", "namespace"]?.stringValue ?? ""]
    }

    /// Objects by the uid of their controller (the ownerReference with `controller: true`).
    /// By uid, not name, so that a deleted and recreated owner does not adopt the old one's
    /// dependents by accident.
    public static let controllerUID = Indexer(name: "controllerUID") { object in
        guard let owner = controllerReference(of: object), let uid = owner["uid"]?.stringValue else { return [] }
        return [uid]
    }

    /// The ownerReference marked `controller: true`; an object has at most one.
    public static func controllerReference(of object: JSONValue) -> JSONValue? {
        object[path: "metadata", "ownerReferences"]?.arrayValue?.first { $0["controller"]?.boolValue == true }
    }
}
