import SwiftletAPI
import SwiftletMachinery

/// One ownerReference, as the garbage collector needs it.
struct OwnerReference: Sendable, Hashable {
    var apiVersion: String
    var kind: String
    var name: String
    var uid: String
    var blockOwnerDeletion: Bool

    init(apiVersion: String, kind: String, name: String, uid: String, blockOwnerDeletion: Bool) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.name = name
        self.uid = uid
        self.blockOwnerDeletion = blockOwnerDeletion
    }

    init?(_ json: JSONValue) {
        guard let uid = json["uid"]?.stringValue, !uid.isEmpty else { return nil }
        self.init(apiVersion: json["apiVersion"]?.stringValue ?? "", kind: json["kind"]?.stringValue ?? "",
                  name: json["name"]?.stringValue ?? "", uid: uid,
                  blockOwnerDeletion: json["blockOwnerDeletion"]?.boolValue ?? false)
    }

    static func all(of object: JSONValue) -> [OwnerReference] {
        (object[path: "metadata", "ownerReferences"]?.arrayValue ?? []).compactMap(OwnerReference.init)
    }
}

/// Where an object lives: enough to GET, PATCH or DELETE it.
struct ObjectIdentity: Sendable, Hashable, CustomStringConvertible {
    var apiVersion: String
    var kind: String
    var namespace: String?
    var name: String
    var uid: String

    init(apiVersion: String, kind: String, namespace: String?, name: String, uid: String) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.namespace = namespace.flatMap { $0.isEmpty ? nil : $0 }
        self.name = name
        self.uid = uid
    }

    init?(_ object: JSONValue, resource: ResourceInfo) {
        guard let uid = object[path: "metadata", "uid"]?.stringValue, !uid.isEmpty,
              let name = object[path: "metadata", "name"]?.stringValue else { return nil }
        self.init(apiVersion: resource.apiVersion, kind: resource.kind,
                  namespace: object[path: "metadata", "namespace"]?.stringValue, name: name, uid: uid)
    }

    /// The owner an ownerReference names, seen from a dependent in `namespace`: namespaced
    /// owners live in their dependent's namespace (ownerReferences cannot cross namespaces).
    init(owner: OwnerReference, dependentNamespace: String?) {
        let namespaced = Resources.lookup(apiVersion: owner.apiVersion, kind: owner.kind)?.namespaced ?? true
        self.init(apiVersion: owner.apiVersion, kind: owner.kind, namespace: namespaced ? dependentNamespace : nil,
                  name: owner.name, uid: owner.uid)
    }

    var description: String {
        "\(kind) \(namespace.map { "\($0)/" } ?? "")\(name) (uid \(uid))"
    }
}

/// A vertex of the ownership graph: an object seen by an informer, or (virtual) one only
/// named by some dependent's ownerReference, whose existence is still to be checked.
struct GraphNode: Sendable {
    var identity: ObjectIdentity
    var owners: [OwnerReference] = []
    var dependents: Set<String> = []
    var virtual: Bool
    var beingDeleted = false
    var deletingDependents = false
    var orphaning = false
}

/// What a change to the graph asks the collector to look at.
enum GCWork: Hashable, Sendable {
    /// Check whether the object should go (its owners are gone or deleting in the foreground),
    /// or, for an owner deleting in the foreground, whether it may now go.
    case attemptToDelete(String)
    /// Remove the owner's references from its dependents, then its `orphan` finalizer.
    case attemptToOrphan(String)
}

/// The ownership graph: uid → node, with edges both ways. A plain value, kept under the
/// collector's lock; each mutation returns the work it makes necessary.
struct OwnershipGraph: Sendable {
    private(set) var nodes: [String: GraphNode] = [:]

    func node(_ uid: String) -> GraphNode? { nodes[uid] }

    /// An informer saw `object` (added or updated).
    mutating func observe(_ object: JSONValue, resource: ResourceInfo) -> [GCWork] {
        guard let identity = ObjectIdentity(object, resource: resource) else { return [] }
        let uid = identity.uid
        let owners = OwnerReference.all(of: object)
        let finalizers = Set((object[path: "metadata", "finalizers"]?.arrayValue ?? []).compactMap(\.stringValue))
        let beingDeleted = object[path: "metadata", "deletionTimestamp"].map { !$0.isNull } ?? false
        var work: [GCWork] = []

        let old = nodes[uid]
        var node = old ?? GraphNode(identity: identity, virtual: false)
        let wasVirtual = old?.virtual ?? false
        let oldOwners = old?.virtual == false ? old!.owners : []
        let wasDeletingDependents = old?.virtual == false && old!.deletingDependents
        node.identity = identity
        node.virtual = false
        node.owners = owners
        node.beingDeleted = beingDeleted
        node.deletingDependents = beingDeleted && finalizers.contains("foregroundDeletion")
        node.orphaning = beingDeleted && finalizers.contains("orphan")
        nodes[uid] = node
        if wasVirtual {
            // Confirmed to exist: it may itself be a dangling dependent.
            work.append(.attemptToDelete(uid))
        }

        // Edges: drop the owners no longer referenced, add the new ones.
        let oldByUID = Dictionary(oldOwners.map { ($0.uid, $0) }, uniquingKeysWith: { a, _ in a })
        let newByUID = Dictionary(owners.map { ($0.uid, $0) }, uniquingKeysWith: { a, _ in a })
        for (ownerUID, ref) in oldByUID where newByUID[ownerUID] == nil || (ref.blockOwnerDeletion && newByUID[ownerUID]?.blockOwnerDeletion == false) {
            if newByUID[ownerUID] == nil { nodes[ownerUID]?.dependents.remove(uid) }
            // An owner waiting for its blocking dependents may now be free to go.
            if nodes[ownerUID]?.deletingDependents == true { work.append(.attemptToDelete(ownerUID)) }
        }
        for ref in owners where oldByUID[ref.uid] == nil {
            if nodes[ref.uid] == nil {
                // Not seen (yet): a virtual node, checked against the server.
                nodes[ref.uid] = GraphNode(identity: ObjectIdentity(owner: ref, dependentNamespace: identity.namespace), virtual: true)
                work.append(.attemptToDelete(ref.uid))
            }
            nodes[ref.uid]!.dependents.insert(uid)
            if let owner = nodes[ref.uid], !owner.virtual, owner.beingDeleted, !owner.deletingDependents, !owner.orphaning {
                // A new dependent of an owner that is already going (it may be gone by now).
                work.append(.attemptToDelete(uid))
            } else if nodes[ref.uid]?.deletingDependents == true {
                work.append(.attemptToDelete(uid))
            } else if nodes[ref.uid]?.orphaning == true {
                work.append(.attemptToOrphan(ref.uid))
            }
        }

        // Transitions of the object's own deletion.
        if node.orphaning { work.append(.attemptToOrphan(uid)) }
        if node.deletingDependents {
            if !wasDeletingDependents {
                for dependent in node.dependents { work.append(.attemptToDelete(dependent)) }
            }
            work.append(.attemptToDelete(uid))
        }
        if old == nil, !owners.isEmpty {
            // A new object with owners (also every object of the initial list): check them.
            work.append(.attemptToDelete(uid))
        }
        return work
    }

    /// An informer saw `object` deleted.
    mutating func remove(_ object: JSONValue, resource: ResourceInfo) -> [GCWork] {
        guard let identity = ObjectIdentity(object, resource: resource) else { return [] }
        return removeNode(identity.uid)
    }

    /// Removes a node (observed or virtual) that no longer exists: its dependents may now be
    /// dangling, and owners waiting on it may now go.
    mutating func removeNode(_ uid: String) -> [GCWork] {
        guard let node = nodes.removeValue(forKey: uid) else { return [] }
        var work: [GCWork] = []
        for ref in node.owners {
            nodes[ref.uid]?.dependents.remove(uid)
            if let owner = nodes[ref.uid] {
                if owner.deletingDependents { work.append(.attemptToDelete(ref.uid)) }
                if owner.virtual, owner.dependents.isEmpty { nodes[ref.uid] = nil }
            }
        }
        for dependent in node.dependents.sorted() { work.append(.attemptToDelete(dependent)) }
        return work
    }

    /// The dependents whose reference to `uid` has `blockOwnerDeletion`: what a foreground
    /// deletion of `uid` waits for.
    func blockingDependents(of uid: String) -> [GraphNode] {
        guard let node = nodes[uid] else { return [] }
        return node.dependents.sorted().compactMap { nodes[$0] }.filter { dependent in
            dependent.owners.contains { $0.uid == uid && $0.blockOwnerDeletion }
        }
    }

    func dependents(of uid: String) -> [GraphNode] {
        (nodes[uid]?.dependents.sorted() ?? []).compactMap { nodes[$0] }
    }
}
