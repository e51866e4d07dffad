import SwiftletAPI
import SwiftletClient
import SwiftletMachinery

/// `controller.BaseControllerRefManager`: an owner claims the objects of one resource in its
/// namespace (pods for ReplicaSets, ReplicationControllers and DaemonSets; ControllerRevisions
/// for DaemonSets). It keeps those it controls and still selects, releases those it controls
/// and no longer selects, and adopts matching orphans, once a read of the owner from the API
/// server (`RecheckDeletionTimestamp`) has shown the cached owner is still the live one.
///
/// Adoption and release are JSON patches whose tests pin the object's uid and its
/// ownerReferences as the cache saw them, so a recreated namesake or a concurrent claim by
/// another controller is never overwritten.
struct ControllerRefManager {
    let client: APIClient
    /// The owner as the cache holds it.
    let owner: JSONValue
    let ownerResource: ResourceInfo
    /// The reference adoption adds.
    let controllerReference: JSONValue
    let selector: LabelSelector

    var ownerUID: String { owner[path: "metadata", "uid"]?.stringValue ?? "" }

    /// `ClaimObject` over `objects`: the claimed ones (adopted ones as the API server returned
    /// them). An object that could not be settled (the fresh owner read failed, or an orphan
    /// changed under the patch and is still an orphan) is skipped and, after the others have
    /// been handled, the first such error is thrown: the owner is retried with backoff rather
    /// than acting on a count that misses a pod it is about to own.
    func claim(_ resource: ResourceInfo, _ objects: [JSONValue]) async throws -> [JSONValue] {
        let deleting = owner[path: "metadata", "deletionTimestamp"] != nil
        var claimed: [JSONValue] = []
        var firstError: (any Error)?
        var canAdopt: Result<Void, APIError>?
        for object in objects {
            let matches = selector.matches(object[path: "metadata", "labels"]?.objectValue)
            if let ref = Indexer.controllerReference(of: object) {
                guard ref["uid"]?.stringValue == ownerUID else { continue }  // another controller's
                if matches {
                    claimed.append(object)
                } else if !deleting {
                    do { try await release(resource, object) } catch { firstError = firstError ?? error }
                }
                continue
            }
            guard matches, !deleting, object[path: "metadata", "deletionTimestamp"] == nil else { continue }
            if canAdopt == nil { canAdopt = await recheckOwner() }
            if case .failure(let error) = canAdopt {
                firstError = firstError ?? error
                continue
            }
            do {
                if let adopted = try await adopt(resource, object) { claimed.append(adopted) }
            } catch {
                firstError = firstError ?? error
            }
        }
        if let firstError { throw firstError }
        return claimed
    }

    /// `RecheckDeletionTimestamp` with an uncached read: the owner still exists with this
    /// uid and is not being deleted.
    func recheckOwner() async -> Result<Void, APIError> {
        let namespace = owner[path: "metadata", "namespace"]?.stringValue
        let name = owner[path: "metadata", "name"]?.stringValue ?? ""
        let fresh: JSONValue
        do {
            fresh = try await client.get(ownerResource, namespace: namespace, name: name)
        } catch {
            return .failure(error)
        }
        let got = fresh[path: "metadata", "uid"]?.stringValue ?? ""
        if got != ownerUID {
            return .failure(APIError(code: 409, reason: "Conflict",
                                     message: "original \(ownerResource.kind) \(namespace ?? "")/\(name) is gone: got uid \(got), wanted \(ownerUID)"))
        }
        if let deleted = fresh[path: "metadata", "deletionTimestamp"]?.stringValue {
            return .failure(APIError(code: 409, reason: "Conflict",
                                     message: "\(namespace ?? "")/\(name) has just been deleted at \(deleted)"))
        }
        return .success(())
    }

    /// Adds the controller reference. Nil when the object is not ours to count: gone,
    /// replaced by a namesake, or controlled by another owner meanwhile. When the patch's
    /// tests fail because the cache was behind, the object is read again: an adoption by an
    /// earlier sync of this owner makes it ours.
    func adopt(_ resource: ResourceInfo, _ object: JSONValue) async throws -> JSONValue? {
        let refs = (object[path: "metadata", "ownerReferences"]?.arrayValue ?? []) + [controllerReference]
        do {
            return try await patchOwnerReferences(resource, object, to: refs)
        } catch {
            if error.code == 404 { return nil }
            guard error.code == 422 || error.code == 409 else { throw error }
        }
        let fresh: JSONValue
        do {
            fresh = try await client.get(resource, namespace: object[path: "metadata", "namespace"]?.stringValue,
                                         name: object[path: "metadata", "name"]?.stringValue ?? "")
        } catch {
            if error.code == 404 { return nil }
            throw error
        }
        guard fresh[path: "metadata", "uid"] == object[path: "metadata", "uid"] else { return nil }
        guard let ref = Indexer.controllerReference(of: fresh) else {
            let name = object[path: "metadata", "name"]?.stringValue ?? ""
            throw APIError(code: 409, reason: "Conflict",
                           message: "\(resource.singular) \(name) changed while being adopted; will retry")
        }
        guard ref["uid"]?.stringValue == ownerUID else { return nil }
        return fresh
    }

    /// Removes this owner's references. An object that is gone or has changed meanwhile (the
    /// patch's tests fail, upstream's Invalid) is left alone: its event brings the owner back.
    func release(_ resource: ResourceInfo, _ object: JSONValue) async throws {
        let remaining = (object[path: "metadata", "ownerReferences"]?.arrayValue ?? []).filter {
            $0["uid"]?.stringValue != ownerUID
        }
        do {
            _ = try await patchOwnerReferences(resource, object, to: remaining)
        } catch {
            if error.code == 404 || error.code == 422 { return }
            throw error
        }
    }

    private func patchOwnerReferences(_ resource: ResourceInfo, _ object: JSONValue,
                                      to refs: [JSONValue]) async throws(APIError) -> JSONValue {
        let patch: JSONValue = [
            ["op": "test", "path": "/metadata/uid", "value": object[path: "metadata", "uid"] ?? ""],
            ["op": "test", "path": "/metadata/ownerReferences", "value": object[path: "metadata", "ownerReferences"] ?? .null],
            refs.isEmpty ? ["op": "remove", "path": "/metadata/ownerReferences"]
                         : ["op": "add", "path": "/metadata/ownerReferences", "value": .array(refs)],
        ]
        return try await client.patch(resource, namespace: object[path: "metadata", "namespace"]?.stringValue,
                                      name: object[path: "metadata", "name"]?.stringValue ?? "", .json(patch))
    }
}
