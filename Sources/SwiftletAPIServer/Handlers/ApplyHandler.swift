import Foundation
import NIOHTTP1
import SwiftletAPI
import SwiftletMachinery

extension APIServer {
    static let applyMediaType = "application/apply-patch+yaml"

    /// Server-side apply: PATCH with `application/apply-patch+yaml` merges the applied
    /// configuration into the object (creating it if there is none) with the manager's field
    /// ownership, as upstream's apply patcher does.
    func apply(_ storage: ResourceStorage, namespace: String?, name: String, subresource: String?,
               request: HTTPRequest) throws(APIError) -> HTTPResponse {
        let dryRun = try isDryRun(request)
        let info = storage.info
        guard request.query["fieldManager"]?.isEmpty == false else {
            throw APIError.badRequest("fieldManager is required for apply requests")
        }
        let manager = try fieldManager(request)
        let force = request.query.bool("force") && request.query["force"] != "false"
        var applied = try ApplyBody.decode(request.body)
        let warnings = try checkFields(&applied, duplicates: [], type: storage.type, request: request)
        try checkApplied(applied, info: info, name: name)

        let fieldManager = storage.fieldManager(subresource: subresource)
        let time = RFC3339.string(from: config.clock())
        let key = info.storageKey(namespace: namespace, name: name)
        if subresource == nil, storage.cache.get(key) == nil {
            let (object, entries) = try fieldManager.apply(live: nil, config: applied, manager: manager, force: force, time: time)
            var created = object
            created[path: "metadata", "managedFields"] = ManagedFieldsEntry.json(entries)
            do {
                let stored = try storage.create(namespace: namespace, object: created, dryRun: dryRun, ownership: .applied)
                return .json(stored, status: .created, headers: warningHeaders(warnings + podSecurityWarnings(storage.info, stored)))
            } catch where error.isAlreadyExists {
                // Created meanwhile: apply to what is there now.
            }
        }
        var old: JSONValue?
        let updated = try storage.guaranteedUpdate(namespace: namespace, name: name, subresource: subresource, dryRun: dryRun,
                                                   ownership: .applied) { (current: JSONValue) throws(APIError) -> JSONValue in
            old = current
            if let wanted = applied[path: "metadata", "resourceVersion"]?.stringValue, !wanted.isEmpty,
               wanted != current[path: "metadata", "resourceVersion"]?.stringValue {
                throw APIError.conflict(group: info.group, resource: info.resource, name: name,
                    detail: "the object has been modified; please apply your changes to the latest version and try again")
            }
            var (object, entries) = try fieldManager.apply(live: current, config: applied, manager: manager, force: force, time: time)
            object[path: "metadata", "managedFields"] = ManagedFieldsEntry.json(entries)
            return object
        }
        return .json(updated, headers: warningHeaders(warnings + podSecurityUpdateWarnings(info, updated, old: old, subresource: subresource)))
    }

    /// The applied configuration must name the resource and object it is sent to.
    private func checkApplied(_ config: JSONValue, info: ResourceInfo, name: String) throws(APIError) {
        let apiVersion = config["apiVersion"]?.stringValue ?? "", kind = config["kind"]?.stringValue ?? ""
        if apiVersion.isEmpty || kind.isEmpty {
            throw APIError.badRequest("invalid object type: \(apiVersion.isEmpty ? "" : "/\(apiVersion)"), Kind=\(kind)")
        }
        if apiVersion != info.apiVersion || kind != info.kind {
            throw APIError.badRequest(
                "the API version in the data (\(apiVersion)) does not match the expected API version (\(info.apiVersion))"
                    + (kind == info.kind ? "" : ", and the kind (\(kind)) does not match the expected kind (\(info.kind))"))
        }
        if let bodyName = config[path: "metadata", "name"]?.stringValue, !bodyName.isEmpty, bodyName != name {
            throw APIError.badRequest("the name of the object (\(bodyName)) does not match the name on the URL (\(name))")
        }
    }
}
