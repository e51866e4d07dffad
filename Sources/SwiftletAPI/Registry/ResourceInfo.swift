/// Everything the API server needs to know about one REST resource: how discovery names it,
/// where it is stored, and which subresources it has.
public struct ResourceInfo: Sendable, Hashable {
    public var group: String
    public var version: String
    /// The plural, lower-case name used in URLs: `deployments`.
    public var resource: String
    public var singular: String
    public var kind: String
    public var namespaced: Bool
    public var shortNames: [String]
    public var categories: [String]
    public var verbs: [String]
    public var subresources: [Subresource]

    public struct Subresource: Sendable, Hashable {
        public var name: String
        public var group: String
        public var version: String
        public var kind: String
        public var verbs: [String]

        public init(name: String, group: String, version: String, kind: String, verbs: [String]) {
            self.name = name
            self.group = group
            self.version = version
            self.kind = kind
            self.verbs = verbs
        }
    }

    public init(group: String, version: String, resource: String, singular: String, kind: String, namespaced: Bool,
                shortNames: [String] = [], categories: [String] = [], verbs: [String], subresources: [Subresource] = []) {
        self.group = group
        self.version = version
        self.resource = resource
        self.singular = singular
        self.kind = kind
        self.namespaced = namespaced
        self.shortNames = shortNames
        self.categories = categories
        self.verbs = verbs
        self.subresources = subresources
    }

    public var groupVersion: String { group.isEmpty ? version : "\(group)/\(version)" }
    public var apiVersion: String { groupVersion }
    public var listKind: String { kind + "List" }

    /// `deployments.apps`, or `pods` for the core group: how errors and storage name it.
    public var qualifiedResource: String { group.isEmpty ? resource : "\(resource).\(group)" }

    /// The storage key prefix of all objects of this resource, ending in "/".
    public var storagePrefix: String { "/\(qualifiedResource)/" }

    public func storageKey(namespace: String?, name: String) -> String {
        if namespaced, let namespace { return "\(storagePrefix)\(namespace)/\(name)" }
        return "\(storagePrefix)\(name)"
    }

    public func storagePrefix(namespace: String?) -> String {
        if namespaced, let namespace { return "\(storagePrefix)\(namespace)/" }
        return storagePrefix
    }

    public func subresource(_ name: String) -> Subresource? { subresources.first { $0.name == name } }
}
