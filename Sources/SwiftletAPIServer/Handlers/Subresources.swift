import Foundation
import NIOHTTP1
import SwiftletAPI
import SwiftletMachinery

extension APIServer {
    /// The autoscaling/v1 Scale view of a workload: its desired and current replicas, and
    /// its selector as text (what `kubectl scale` and autoscalers read).
    func scale(of object: JSONValue, type: ResourceType) -> JSONValue {
        let metadata = object["metadata"] ?? .object(JSONObject())
        var scaleMetadata = JSONValue.object(JSONObject())
        for field in ["name", "namespace", "uid", "resourceVersion", "creationTimestamp"] { scaleMetadata[field] = metadata[field] }
        let fields = type.scale
        var status: JSONValue = ["replicas": .int(object[keyPath: fields.statusReplicas]?.intValue ?? 0)]
        switch fields.selector {
        case .labelMap(let path):
            let pairs = (object[keyPath: path]?.objectValue ?? JSONObject()).sortedByKey
            status["selector"] = .string(pairs.compactMap { p in p.value.stringValue.map { "\(p.key)=\($0)" } }.joined(separator: ","))
        case .labelSelector(let path):
            status["selector"] = .string((try? LabelSelector.fromJSON(object[keyPath: path] ?? .null).description) ?? "")
        case .text(let path?):
            if let text = object[keyPath: path]?.stringValue { status["selector"] = .string(text) }
        case .text(nil):
            break
        }
        return [
            "kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": scaleMetadata,
            "spec": ["replicas": .int(object[keyPath: fields.specReplicas]?.intValue ?? 0)],
            "status": status,
        ]
    }

    func getScale(_ storage: ResourceStorage, namespace: String?, name: String, request: HTTPRequest) throws(APIError) -> HTTPResponse {
        let cached = try storage.get(namespace: namespace, name: name)
        let scale = scale(of: cached.object(), type: storage.type)
        if wantsTable(request) {
            try checkIncludeObject(request)
            return .json(table(TableConverter.scale, [scale], revision: cached.revision, continueToken: nil, request: request))
        }
        return .json(scale)
    }

    /// What strategic merge patches of a Scale follow.
    static let scaleSchema = KubernetesSchema.schema(group: "autoscaling", version: "v1", kind: "Scale")

    /// PUT or PATCH of `/scale`: the patch or replacement applies to the Scale object, and
    /// only its `spec.replicas` reaches the workload.
    func updateScale(_ storage: ResourceStorage, namespace: String?, name: String, request: HTTPRequest, patchType: String?) throws(APIError) -> HTTPResponse {
        let dryRun = try isDryRun(request)
        let info = storage.info
        let body: JSONParser.Result
        do { body = try JSONParser.parse(request.body) } catch {
            throw APIError.badRequest("error decoding patch: \(error.message)")
        }
        let patch = try patchType.map { t throws(APIError) in try PatchType(contentType: t) }
        let updated = try storage.guaranteedUpdate(namespace: namespace, name: name, subresource: nil, dryRun: dryRun,
                                                   ownership: .update(manager: try fieldManager(request))) { (current: JSONValue) throws(APIError) -> JSONValue in
            let currentScale = scale(of: current, type: storage.type)
            let desired: JSONValue
            if let patch {
                desired = try patch.apply(body.value, to: currentScale, schema: Self.scaleSchema)
            } else {
                desired = body.value
                if let rv = desired[path: "metadata", "resourceVersion"]?.stringValue, !rv.isEmpty,
                   rv != current[path: "metadata", "resourceVersion"]?.stringValue {
                    throw APIError.conflict(group: info.group, resource: info.resource, name: name,
                        detail: "the object has been modified; please apply your changes to the latest version and try again")
                }
            }
            guard let replicas = desired[path: "spec", "replicas"]?.intValue else {
                throw APIError.invalid(group: "autoscaling", kind: "Scale", name: name, errors: [.required("spec.replicas")])
            }
            if replicas < 0 {
                throw APIError.invalid(group: "autoscaling", kind: "Scale", name: name, errors: [
                    .invalid("spec.replicas", .int(replicas), "must be greater than or equal to 0"),
                ])
            }
            var object = current
            object[keyPath: storage.type.scale.specReplicas] = .int(replicas)
            return object
        }
        return .json(scale(of: updated, type: storage.type))
    }

    /// POST pods/{name}/binding: assigns a pending pod to a node, once.
    func bind(_ storage: ResourceStorage, namespace: String?, name: String, request: HTTPRequest) throws(APIError) -> HTTPResponse {
        let binding: JSONValue
        do { binding = try JSONParser.parse(request.body).value } catch {
            throw APIError.badRequest("couldn't get version/kind; json parse error: \(error.message)")
        }
        guard let node = binding[path: "target", "name"]?.stringValue, !node.isEmpty else {
            throw APIError.invalid(group: "", kind: "Binding", name: name, errors: [.required("target.name")])
        }
        let now = RFC3339.string(from: config.clock())
        _ = try storage.guaranteedUpdate(namespace: namespace, name: name, subresource: "binding", dryRun: try isDryRun(request),
                                         ownership: .unrecorded) { (current: JSONValue) throws(APIError) -> JSONValue in
            if current[path: "metadata", "deletionTimestamp"] != nil {
                throw APIError.conflict(group: "", resource: "pods", name: name, detail: "pod \(name) is being deleted, cannot be assigned to a host")
            }
            if let existing = current[path: "spec", "nodeName"]?.stringValue, !existing.isEmpty {
                throw APIError.conflict(group: "", resource: "pods/binding", name: name, detail: "pod \(name) is already assigned to node \"\(existing)\"")
            }
            var pod = current
            pod[path: "spec", "nodeName"] = .string(node)
            var conditions = (pod[path: "status", "conditions"]?.arrayValue ?? []).filter { $0["type"]?.stringValue != "PodScheduled" }
            conditions.append(["type": "PodScheduled", "status": "True", "lastProbeTime": .null, "lastTransitionTime": .string(now)])
            pod[path: "status", "conditions"] = .array(conditions)
            return pod
        }
        return .json(["kind": "Status", "apiVersion": "v1", "metadata": .object(JSONObject()), "status": "Success", "code": 201], status: .created)
    }
}
