import Foundation
import NIOHTTP1
import SwiftletAPI
import SwiftletMachinery

extension APIServer {
    /// `dryRun=All` runs every step but the write.
    func isDryRun(_ request: HTTPRequest) throws(APIError) -> Bool {
        let values = request.query.all("dryRun")
        for v in values where v != "All" {
            throw APIError.badRequest("Invalid dry run value: \(v)")  // upstream accepts only "All"
        }
        return !values.isEmpty
    }

    /// The manager a write records in managedFields: the `fieldManager` parameter, or the
    /// client's User-Agent up to its first "/" (`kubectl`, `helm`), as upstream. A parameter
    /// over 128 bytes or with unprintable characters is refused as upstream's
    /// ValidateFieldManager refuses it (422 on the request's options).
    func fieldManager(_ request: HTTPRequest) throws(APIError) -> String {
        if let manager = request.query["fieldManager"], !manager.isEmpty {
            let options = request.method == .POST ? "CreateOptions" : request.method == .PUT ? "UpdateOptions" : "PatchOptions"
            if manager.utf8.count > 128 {
                throw APIError.invalid(group: "meta.k8s.io", kind: options, name: "", errors: [
                    FieldError(.tooLong, field: "fieldManager", value: .string(manager), detail: "may not be more than 128 bytes"),
                ])
            }
            if let bad = manager.unicodeScalars.first(where: { $0.properties.generalCategory == .control || $0.properties.generalCategory == .format }) {
                throw APIError.invalid(group: "meta.k8s.io", kind: options, name: "", errors: [
                    .invalid("fieldManager", .string(manager), "invalid character U+\(String(format: "%04X", bad.value))"),
                ])
            }
            return manager
        }
        let agent = request.headers.first(name: "user-agent") ?? ""
        return String(agent.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).first ?? "").prefix(128).description
    }

    /// The request body's media type, without parameters.
    func mediaType(_ request: HTTPRequest) -> String {
        request.contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
    }

    /// Decodes a JSON request body, applying the request's field validation to it.
    func decodeBody(_ request: HTTPRequest, type: ResourceType) throws(APIError) -> (JSONValue, [String]) {
        let info = type.info
        let contentType = mediaType(request)
        if contentType == KubernetesProtobuf.mediaType {
            // Typed Go clients (kubectl create namespace/configmap/deployment…) send protobuf.
            // It cannot carry unknown or duplicate fields, so upstream skips field validation.
            _ = try fieldValidation(request)
            let object = try KubernetesProtobuf.decode(request.body, defaultAPIVersion: info.apiVersion, defaultKind: info.kind)
            return (object, [])
        }
        guard contentType.isEmpty || contentType == "application/json" || contentType == "*/*" else {
            throw APIError.unsupportedMediaType(contentType)
        }
        let parsed: JSONParser.Result
        do { parsed = try JSONParser.parse(request.body) } catch {
            throw APIError.badRequest("couldn't get version/kind; json parse error: \(error.message)")
        }
        var object = parsed.value
        let warnings = try checkFields(&object, duplicates: parsed.duplicateKeys, type: type, request: request)
        return (object, warnings)
    }

    /// The request's `fieldValidation`: Strict rejects unknown and duplicate fields, Warn (the
    /// server's default) drops them with a warning, Ignore drops them silently.
    func fieldValidation(_ request: HTTPRequest) throws(APIError) -> FieldValidation.Directive {
        let text = request.query["fieldValidation"] ?? "Warn"
        guard let directive = FieldValidation.Directive(rawValue: text) else {
            throw APIError.badRequest("fieldValidation parameter unsupported: \(text)")
        }
        return directive
    }

    /// Checks a create or update body against the Kubernetes schema. Wrong types are always
    /// refused, as decoding into Kubernetes' typed structs refuses them.
    func checkFields(_ object: inout JSONValue, duplicates: [String], type: ResourceType, request: HTTPRequest) throws(APIError) -> [String] {
        let info = type.info
        guard object.objectValue != nil else {
            throw APIError.badRequest("Object 'Kind' is missing in '\(JSONWriter.string(object).prefix(200))'")
        }
        for field in ["apiVersion", "kind"] {
            if let value = object[field], value.stringValue == nil, !value.isNull {
                throw APIError.badRequest("couldn't get version/kind; json parse error: json: cannot unmarshal \(value.goJSONTypeName) into Go struct field .\(field) of type string")
            }
        }
        let directive = try fieldValidation(request)
        if let structural = type.structuralSchema { return try pruneCustomResource(&object, structural, type: type, directive: directive) }
        guard let schema = type.schema else { return [] }
        let result = FieldValidation.check(object, duplicateKeys: duplicates, schema: schema)
        if result.isClean { return [] }
        if let error = result.decodeFailure(kind: info.kind, version: info.version, directive: directive) { throw error }
        if !result.unknown.isEmpty { object = FieldValidation.removingUnknownFields(object, schema: schema) }
        return result.warnings(directive: directive)
    }

    /// A custom resource's fields the CRD's schema does not declare: refused under Strict,
    /// otherwise pruned, with a warning each under Warn, as apiextensions-apiserver does.
    func pruneCustomResource(_ object: inout JSONValue, _ schema: StructuralSchema, type: ResourceType,
                             directive: FieldValidation.Directive) throws(APIError) -> [String] {
        let unknown = schema.prune(&object)
        if unknown.isEmpty { return [] }
        switch directive {
        case .strict:
            let kind = type.info.kind
            throw APIError.badRequest("\(kind) in version \"\(type.info.version)\" cannot be handled as a \(kind): strict decoding error: "
                + unknown.map { "unknown field \"\($0)\"" }.joined(separator: ", "))
        case .warn: return unknown.map { "unknown field \"\($0)\"" }
        case .ignore: return []
        }
    }

    /// Checks the object a patch produced, worded as upstream words patch failures (422).
    func checkPatchedFields(_ object: inout JSONValue, patch: JSONValue, patchType: PatchType, duplicates: [String],
                            type: ResourceType, directive: FieldValidation.Directive) throws(APIError) -> [String] {
        if let structural = type.structuralSchema { return try pruneCustomResource(&object, structural, type: type, directive: directive) }
        guard let schema = type.schema else { return [] }
        let mode: FieldValidation.Mode = patchType == .strategic ? .strategicMergePatch : .mergePatch
        let result = FieldValidation.check(object, duplicateKeys: duplicates, schema: schema, mode: mode)
        if result.isClean { return [] }
        let shown = patchType == .strategic ? FieldValidation.goMapText(patch) : JSONWriter.string(object)
        if let error = result.patchFailure(patch: shown, directive: directive) { throw error }
        if !result.unknown.isEmpty { object = FieldValidation.removingUnknownFields(object, schema: schema) }
        return result.warnings(directive: directive)
    }

    /// Pod Security's warn mode: what a created pod, or a created workload's pod template, would
    /// break in its namespace's warn level (which defaults to a stricter enforce level), as warnings.
    func podSecurityWarnings(_ info: ResourceInfo, _ object: JSONValue) -> [String] {
        guard let template = PodSecurity.podTemplate(of: object, group: info.group, resource: info.resource),
              let namespace = object[path: "metadata", "namespace"]?.stringValue else { return [] }
        let labels = storage(for: Resources.namespaces)?.cache.get(Resources.namespaces.storageKey(namespace: nil, name: namespace))?
            .object()[path: "metadata", "labels"]?.objectValue
        let policy = PodSecurity.warnPolicy(namespaceLabels: labels)
        let violations = PodSecurity.violations(template, level: policy.level)
        return violations.isEmpty ? [] : ["would violate PodSecurity \(GoText.quote(policy.name)): \(violations.joined(separator: ", "))"]
    }

    /// Pod Security on updates, as upstream evaluates them: a pod whose spec changed, or a
    /// workload whose pod template changed, gets the warn level's warnings as on create; a
    /// namespace whose enforce level changes is told which of its pods the new level refuses,
    /// grouped by what they break ("web (and 2 other pods): privileged").
    func podSecurityUpdateWarnings(_ info: ResourceInfo, _ updated: JSONValue, old: JSONValue?, subresource: String?) -> [String] {
        guard subresource == nil, let old else { return [] }
        if info == Resources.namespaces { return podSecurityNamespaceWarnings(updated, old: old) }
        guard let template = PodSecurity.podTemplate(of: updated, group: info.group, resource: info.resource),
              let oldTemplate = PodSecurity.podTemplate(of: old, group: info.group, resource: info.resource),
              template["spec"] != oldTemplate["spec"] || template[path: "metadata", "annotations"] != oldTemplate[path: "metadata", "annotations"]
        else { return [] }
        return podSecurityWarnings(info, updated)
    }

    /// Upstream's namespace evaluation: pods grouped by the reasons they break, each group named
    /// by its first pod in name order, the lines sorted.
    private func podSecurityNamespaceWarnings(_ namespace: JSONValue, old: JSONValue) -> [String] {
        let labels = namespace[path: "metadata", "labels"]?.objectValue, oldLabels = old[path: "metadata", "labels"]?.objectValue
        let level = PodSecurity.level("enforce", namespaceLabels: labels)
        let policy = PodSecurity.policyName(level, mode: "enforce", namespaceLabels: labels)
        guard level != .privileged, policy != PodSecurity.policyName(PodSecurity.level("enforce", namespaceLabels: oldLabels),
                                                                     mode: "enforce", namespaceLabels: oldLabels),
              let pods = storage(for: Resources.pods) else { return [] }
        let name = FieldRead.string(namespace[path: "metadata", "name"])
        var groups: [String: (first: String, count: Int)] = [:]
        for cached in pods.cache.list(prefix: Resources.pods.storagePrefix(namespace: name), filter: WatchFilter()).items {
            let pod = cached.object()
            let reasons = PodSecurity.violatedReasons(pod, level: level)
            guard !reasons.isEmpty else { continue }
            let podName = FieldRead.string(pod[path: "metadata", "name"])
            let group = groups[reasons.joined(separator: ", ")]
            groups[reasons.joined(separator: ", ")] = (min(group?.first ?? podName, podName), (group?.count ?? 0) + 1)
        }
        guard !groups.isEmpty else { return [] }
        let lines = groups.map { reasons, group in
            switch group.count {
            case 1: return "\(group.first): \(reasons)"
            case 2: return "\(group.first) (and 1 other pod): \(reasons)"
            default: return "\(group.first) (and \(group.count - 1) other pods): \(reasons)"
            }
        }.sorted()
        return ["existing pods in namespace \(GoText.quote(name)) violate the new PodSecurity enforce level \(GoText.quote(policy))"] + lines
    }

    func warningHeaders(_ warnings: [String]) -> HTTPHeaders {
        var headers = HTTPHeaders()
        for w in warnings {
            headers.add(name: "Warning", value: "299 - \"\(w.replacingOccurrences(of: "\"", with: "\\\""))\"")
        }
        return headers
    }

    func create(_ storage: ResourceStorage, namespace: String?, request: HTTPRequest) throws(APIError) -> HTTPResponse {
        let dryRun = try isDryRun(request)
        let (object, warnings) = try decodeBody(request, type: storage.type)
        let created = try storage.create(namespace: namespace, object: object, dryRun: dryRun,
                                         ownership: .update(manager: try fieldManager(request)))
        return .json(created, status: .created, headers: warningHeaders(warnings + podSecurityWarnings(storage.info, created)))
    }

    func update(_ storage: ResourceStorage, namespace: String?, name: String, subresource: String?, request: HTTPRequest) throws(APIError) -> HTTPResponse {
        let dryRun = try isDryRun(request)
        let (object, warnings) = try decodeBody(request, type: storage.type)
        let old = storage.cache.get(storage.info.storageKey(namespace: namespace, name: name))?.object()
        let updated = try storage.update(namespace: namespace, name: name, object: object, subresource: subresource, dryRun: dryRun,
                                         ownership: .update(manager: try fieldManager(request)))
        return .json(updated, headers: warningHeaders(warnings + podSecurityUpdateWarnings(storage.info, updated, old: old, subresource: subresource)))
    }

    func patch(_ storage: ResourceStorage, namespace: String?, name: String, subresource: String?, request: HTTPRequest) throws(APIError) -> HTTPResponse {
        if mediaType(request) == Self.applyMediaType {
            return try apply(storage, namespace: namespace, name: name, subresource: subresource, request: request)
        }
        let dryRun = try isDryRun(request)
        let info = storage.info
        let patchType = try PatchType(contentType: request.contentType)
        if patchType == .strategic, storage.type.structuralSchema != nil {
            // Custom resources have no strategic merge metadata: upstream refuses the format.
            throw APIError(code: 415, reason: "UnsupportedMediaType",
                           message: "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml")
        }
        let parsed: JSONParser.Result
        do { parsed = try JSONParser.parse(request.body) } catch {
            throw APIError.badRequest("error decoding patch: \(error.message)")
        }
        let directive = try fieldValidation(request)
        var warnings: [String] = []
        var old: JSONValue?
        let updated = try storage.guaranteedUpdate(namespace: namespace, name: name, subresource: subresource, dryRun: dryRun,
                                                   ownership: .update(manager: try fieldManager(request))) { (current: JSONValue) throws(APIError) -> JSONValue in
            old = current
            var patched = try patchType.apply(parsed.value, to: current, schema: storage.type.schema)
            // A resourceVersion the patch sets is a precondition, as upstream's: the patch
            // applies only to that version (clients use it for optimistic locking).
            if let wanted = patched[path: "metadata", "resourceVersion"]?.stringValue, !wanted.isEmpty,
               wanted != current[path: "metadata", "resourceVersion"]?.stringValue {
                throw APIError.conflict(group: info.group, resource: info.resource, name: name,
                    detail: "the object has been modified; please apply your changes to the latest version and try again")
            }
            warnings = try checkPatchedFields(&patched, patch: parsed.value, patchType: patchType, duplicates: parsed.duplicateKeys,
                                              type: storage.type, directive: directive)
            return patched
        }
        return .json(updated, headers: warningHeaders(warnings + podSecurityUpdateWarnings(info, updated, old: old, subresource: subresource)))
    }

    func deleteOptions(_ request: HTTPRequest) throws(APIError) -> ResourceStorage.DeleteOptions {
        var options = ResourceStorage.DeleteOptions()
        options.dryRun = try isDryRun(request)
        if !request.body.isEmpty {
            let body: JSONValue
            if mediaType(request) == KubernetesProtobuf.mediaType {
                // client-go's typed clients (helm uninstall, kubectl drain) send DeleteOptions as protobuf.
                body = try KubernetesProtobuf.decode(request.body, defaultAPIVersion: "meta.k8s.io/v1", defaultKind: "DeleteOptions")
                if let kind = body["kind"]?.stringValue, kind != "DeleteOptions" {
                    throw APIError.badRequest("\(kind) in version \"\(body["apiVersion"]?.stringValue ?? "")\" cannot be handled as a DeleteOptions")
                }
            } else {
                do { body = try JSONParser.parse(request.body).value } catch {
                    throw APIError.badRequest("couldn't get version/kind; json parse error: \(error.message)")
                }
            }
            options.gracePeriodSeconds = body["gracePeriodSeconds"]?.intValue
            options.propagationPolicy = body["propagationPolicy"]?.stringValue
            options.orphanDependents = body["orphanDependents"]?.boolValue
            if options.propagationPolicy == nil, let orphan = options.orphanDependents {
                options.propagationPolicy = orphan ? "Orphan" : "Background"
            }
            options.preconditionUID = body[path: "preconditions", "uid"]?.stringValue
            options.preconditionResourceVersion = body[path: "preconditions", "resourceVersion"]?.stringValue
            if body["dryRun"]?.arrayValue?.isEmpty == false { options.dryRun = true }
        }
        if let grace = request.query["gracePeriodSeconds"] { options.gracePeriodSeconds = Int64(grace) }
        if let policy = request.query["propagationPolicy"] { options.propagationPolicy = policy }
        if let policy = options.propagationPolicy, !["Orphan", "Background", "Foreground"].contains(policy) {
            throw APIError.invalid(group: "", kind: "DeleteOptions", name: "", errors: [
                .notSupported("propagationPolicy", .string(policy), ["Foreground", "Background", "Orphan", "nil"]),
            ])
        }
        return options
    }

    func delete(_ storage: ResourceStorage, namespace: String?, name: String, request: HTTPRequest) throws(APIError) -> HTTPResponse {
        let info = storage.info
        try storage.strategy.checkDelete(name: name)
        let options = try deleteOptions(request)
        let (object, gone) = try storage.delete(namespace: namespace, name: name, options: options)
        if gone, !storage.type.returnsDeletedObject {
            // Upstream answers most finished deletes with a Status naming what went.
            return .json([
                "kind": "Status", "apiVersion": "v1", "metadata": .object(JSONObject()), "status": "Success",
                "details": [
                    "name": .string(name), "group": .string(info.group), "kind": .string(info.resource),
                    "uid": object[path: "metadata", "uid"] ?? .null,
                ],
            ])
        }
        // Upstream answers 202 only for a delete still in progress that asked, with the
        // deprecated orphanDependents=false, for its dependents to go; 200 otherwise.
        return .json(object, status: !gone && options.orphanDependents == false ? .accepted : .ok)
    }

    func deleteCollection(_ storage: ResourceStorage, namespace: String?, request: HTTPRequest) throws(APIError) -> HTTPResponse {
        let info = storage.info
        let filter = try self.filter(for: request, type: storage.type, namespace: namespace)
        let options = try deleteOptions(request)
        let page = storage.cache.list(prefix: info.storagePrefix(namespace: namespace), filter: filter)
        var deleted: [JSONValue] = []
        for item in page.items {
            do {
                deleted.append(try storage.delete(namespace: item.namespace, name: item.name, options: options).object)
            } catch where error.code == 404 {
                continue  // gone meanwhile: that is what was asked
            }
        }
        return .json([
            "kind": .string(info.listKind), "apiVersion": .string(info.apiVersion),
            "metadata": ["resourceVersion": .string(String(storage.cache.revision))], "items": .array(deleted),
        ])
    }
}

/// The three patch formats kube-apiserver accepts for built-in kinds.
enum PatchType {
    case json, merge, strategic

    init(contentType: String) throws(APIError) {
        let base = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        switch base {
        case "application/json-patch+json": self = .json
        case "application/merge-patch+json": self = .merge
        case "application/strategic-merge-patch+json": self = .strategic
        default:
            throw APIError(code: 415, reason: "UnsupportedMediaType",
                           message: "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json")
        }
    }

    func apply(_ patch: JSONValue, to current: JSONValue, schema: SchemaNode?) throws(APIError) -> JSONValue {
        do {
            switch self {
            case .json: return try JSONPatch.apply(patch, to: current, limits: .apiServer)
            case .merge:
                try MergePatch.validate(patch)
                return MergePatch.apply(patch, to: current)
            case .strategic:
                if patch.objectValue == nil, !patch.isNull {
                    throw APIError.badRequest("json: cannot unmarshal \(patch.goJSONTypeName) into Go value of type map[string]interface {}")
                }
                return try StrategicMergePatch.apply(patch, to: current, schema: schema)
            }
        } catch let error as APIError {
            throw error
        } catch let error as PatchError {
            throw error.apiError
        } catch {
            throw APIError.internalError("\(error)")
        }
    }
}
