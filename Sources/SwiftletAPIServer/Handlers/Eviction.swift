import Foundation
import SwiftletAPI
import SwiftletMachinery

extension APIServer {
    /// POST pods/{name}/eviction: deletes the pod if its PodDisruptionBudget allows one more
    /// disruption, and takes that disruption from the budget; 429 while the budget blocks, as
    /// upstream's eviction REST does (kubectl drain retries then).
    func evict(_ pods: ResourceStorage, namespace: String?, name: String, request: HTTPRequest) throws(APIError) -> HTTPResponse {
        let eviction: JSONValue
        if mediaType(request) == KubernetesProtobuf.mediaType {
            eviction = try KubernetesProtobuf.decode(request.body, defaultAPIVersion: "policy/v1", defaultKind: "Eviction")
        } else {
            do { eviction = try JSONParser.parse(request.body).value } catch {
                throw APIError.badRequest("couldn't get version/kind; json parse error: \(error.message)")
            }
        }
        if let evicted = eviction[path: "metadata", "name"]?.stringValue, !evicted.isEmpty, evicted != name {
            throw APIError.badRequest("name in URL does not match name in Eviction object")
        }
        var options = ResourceStorage.DeleteOptions()
        options.dryRun = try isDryRun(request) || eviction[path: "deleteOptions", "dryRun"]?.arrayValue?.isEmpty == false
        options.gracePeriodSeconds = eviction[path: "deleteOptions", "gracePeriodSeconds"]?.intValue
        options.preconditionUID = eviction[path: "deleteOptions", "preconditions", "uid"]?.stringValue
        options.preconditionResourceVersion = eviction[path: "deleteOptions", "preconditions", "resourceVersion"]?.stringValue

        let pod = try pods.get(namespace: namespace, name: name).object()
        if !Self.evictionIgnoresBudgets(pod) {
            try takeDisruption(for: pod, namespace: namespace ?? "", dryRun: options.dryRun)
        }
        _ = try pods.delete(namespace: namespace, name: name, options: options)
        return .json(["kind": "Status", "apiVersion": "v1", "metadata": .object(JSONObject()), "status": "Success", "code": 201],
                     status: .created)
    }

    /// Pods that are not running, or already going, are evicted whatever their budgets say.
    static func evictionIgnoresBudgets(_ pod: JSONValue) -> Bool {
        let phase = pod[path: "status", "phase"]?.stringValue
        return phase == "Succeeded" || phase == "Failed" || phase == "Pending" || pod[path: "metadata", "deletionTimestamp"] != nil
    }

    /// The budget covering the pod gives up one disruption, or the eviction is refused.
    private func takeDisruption(for pod: JSONValue, namespace: String, dryRun: Bool) throws(APIError) {
        guard let budgets = storage(for: Resources.poddisruptionbudgets) else { return }
        let labels = pod[path: "metadata", "labels"]?.objectValue
        let matching = budgets.cache.list(prefix: Resources.poddisruptionbudgets.storagePrefix(namespace: namespace), filter: WatchFilter())
            .items.map { $0.object() }.filter { pdb in
                // A null selector matches no pod; an empty one, every pod of the namespace.
                guard let json = pdb[path: "spec", "selector"], !json.isNull, let selector = try? LabelSelector.fromJSON(json) else { return false }
                return selector.matches(labels)
            }
        guard let pdb = matching.first else { return }
        if matching.count > 1 {
            throw APIError.internalError("This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.")
        }
        let pdbName = pdb[path: "metadata", "name"]?.stringValue ?? ""
        let podName = pod[path: "metadata", "name"]?.stringValue ?? ""
        let now = RFC3339.string(from: config.clock())
        _ = try budgets.guaranteedUpdate(namespace: namespace, name: pdbName, subresource: "status", dryRun: dryRun,
                                         ownership: .unrecorded) { (current: JSONValue) throws(APIError) -> JSONValue in
            let observed = current[path: "status", "observedGeneration"]?.intValue ?? 0
            if observed < (current[path: "metadata", "generation"]?.intValue ?? 0) {
                throw Self.budgetRefusal("The disruption budget \(pdbName) is still being processed by the server.")
            }
            let allowed = current[path: "status", "disruptionsAllowed"]?.intValue ?? 0
            if allowed <= 0 {
                let desired = current[path: "status", "desiredHealthy"]?.intValue ?? 0
                let healthy = current[path: "status", "currentHealthy"]?.intValue ?? 0
                throw Self.budgetRefusal("The disruption budget \(pdbName) needs \(desired) healthy pods and has \(healthy) currently")
            }
            var updated = current
            updated[path: "status", "disruptionsAllowed"] = .int(allowed - 1)
            // Counted as disrupted until the controller sees the pod go (or two minutes pass).
            updated[path: "status", "disruptedPods", podName] = .string(now)
            return updated
        }
    }

    static func budgetRefusal(_ cause: String) -> APIError {
        APIError(code: 429, reason: "TooManyRequests", message: "Cannot evict pod as it would violate the pod's disruption budget.",
                 details: ["causes": [["reason": "DisruptionBudget", "message": .string(cause)]]])
    }
}
