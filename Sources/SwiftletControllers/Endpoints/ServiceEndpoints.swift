import Synchronization
import SwiftletAPI
import SwiftletClient
import SwiftletMachinery

/// What the Endpoints and EndpointSlice controllers share: which pods back a Service, whether
/// each is ready, and which port each Service port resolves to on each pod
/// (pkg/api/v1/endpoints, pkg/controller/util/endpoint upstream).
enum ServiceEndpoints {
    /// Queues a Service when it changes, and every Service that selects a pod when the pod
    /// changes (both the Services of its old labels and of its new ones).
    static func queueServices(on queue: WorkQueue<ObjectKey>, services: SharedInformer, pods: SharedInformer) {
        services.addEventHandler(EventHandler(
            onAdd: { if let key = ObjectKey($0) { queue.add(key) } },
            onUpdate: { _, new in if let key = ObjectKey(new) { queue.add(key) } },
            onDelete: { if let key = ObjectKey($0) { queue.add(key) } }))
        let enqueueServices: @Sendable (JSONValue) -> Void = { pod in
            for key in Self.services(selecting: pod, services: services) { queue.add(key) }
        }
        pods.addEventHandler(EventHandler(
            onAdd: enqueueServices,
            onUpdate: { old, new in
                if old[path: "metadata", "labels"] != new[path: "metadata", "labels"] { enqueueServices(old) }
                enqueueServices(new)
            },
            onDelete: enqueueServices))
    }

    /// A Service's selector, or nil when it has none: such a Service's endpoints are managed
    /// by someone else (the `kubernetes` Service's by the API server), and left alone.
    static func selector(of service: JSONValue) -> [String: String]? {
        guard let object = service[path: "spec", "selector"]?.objectValue, !object.isEmpty else { return nil }
        var selector: [String: String] = [:]
        for (key, value) in object { selector[key] = value.stringValue ?? "" }
        return selector
    }

    static func labels(of object: JSONValue) -> [String: String] {
        var labels: [String: String] = [:]
        for (key, value) in object[path: "metadata", "labels"]?.objectValue ?? JSONObject() {
            labels[key] = value.stringValue ?? ""
        }
        return labels
    }

    static func matches(_ selector: [String: String], _ labels: [String: String]) -> Bool {
        selector.allSatisfy { labels[$0.key] == $0.value }
    }

    /// The pods in the Service's namespace its selector picks, in key order.
    static func selectedPods(of service: JSONValue, selector: [String: String], pods: SharedInformer) -> [JSONValue] {
        let namespace = service[path: "metadata", "namespace"]?.stringValue ?? ""
        return pods.byIndex(name: Indexer.namespace.name, value: namespace).filter { matches(selector, labels(of: $0)) }
    }

    /// The Services in `pod`'s namespace whose selector picks it.
    static func services(selecting pod: JSONValue, services: SharedInformer) -> [ObjectKey] {
        let namespace = pod[path: "metadata", "namespace"]?.stringValue ?? ""
        let podLabels = labels(of: pod)
        return services.byIndex(name: Indexer.namespace.name, value: namespace).compactMap { service in
            guard let selector = selector(of: service), matches(selector, podLabels) else { return nil }
            return ObjectKey(service)
        }
    }

    /// Upstream's `ShouldPodBeInEndpoints`: a pod with an address that has not finished for
    /// good; a terminating pod only when `includeTerminating`.
    static func shouldInclude(_ pod: JSONValue, includeTerminating: Bool) -> Bool {
        let phase = pod[path: "status", "phase"]?.stringValue
        let restartPolicy = pod[path: "spec", "restartPolicy"]?.stringValue ?? "Always"
        if restartPolicy == "Never", phase == "Failed" || phase == "Succeeded" { return false }
        if restartPolicy == "OnFailure", phase == "Succeeded" { return false }
        if !includeTerminating, isTerminating(pod) { return false }
        return !(podIP(pod) ?? "").isEmpty
    }

    static func isTerminating(_ pod: JSONValue) -> Bool {
        pod[path: "metadata", "deletionTimestamp"].map { !$0.isNull } ?? false
    }

    static func podIP(_ pod: JSONValue) -> String? {
        if let ip = pod[path: "status", "podIP"]?.stringValue, !ip.isEmpty { return ip }
        return pod[path: "status", "podIPs"]?.arrayValue?.first?["ip"]?.stringValue
    }

    /// The container port a Service port reaches on `pod`: a number as given, a name looked
    /// up among the pod's container ports of the same protocol, or the Service port itself
    /// when no targetPort is set. Nil when a name matches no container port.
    static func resolvePort(_ servicePort: JSONValue, on pod: JSONValue) -> Int64? {
        let proto = servicePort["protocol"]?.stringValue ?? "TCP"
        switch servicePort["targetPort"] {
        case .some(.int(let number)):
            return number
        case .some(.string(let name)):
            if let number = Int64(name) { return number }
            for container in pod[path: "spec", "containers"]?.arrayValue ?? [] {
                for port in container["ports"]?.arrayValue ?? []
                where port["name"]?.stringValue == name && (port["protocol"]?.stringValue ?? "TCP") == proto {
                    return port["containerPort"]?.intValue
                }
            }
            return nil
        default:
            return servicePort["port"]?.intValue
        }
    }

    static func isHeadless(_ service: JSONValue) -> Bool {
        service[path: "spec", "clusterIP"]?.stringValue == "None"
    }

    /// `pod.spec.hostname`, when the pod names this Service as its subdomain (DNS for
    /// StatefulSet members).
    static func hostname(of pod: JSONValue, service: JSONValue) -> String? {
        guard let hostname = pod[path: "spec", "hostname"]?.stringValue, !hostname.isEmpty,
              pod[path: "spec", "subdomain"]?.stringValue == service[path: "metadata", "name"]?.stringValue else { return nil }
        return hostname
    }

    static func targetRef(_ pod: JSONValue) -> JSONValue {
        ["kind": "Pod", "namespace": pod[path: "metadata", "namespace"] ?? "",
         "name": pod[path: "metadata", "name"] ?? "", "uid": pod[path: "metadata", "uid"] ?? ""]
    }

    static func resourceVersion(_ object: JSONValue?) -> Int64 {
        object?[path: "metadata", "resourceVersion"]?.stringValue.flatMap { Int64($0) } ?? 0
    }
}

/// What a controller last wrote, so that a sync running before the informer has caught up
/// with its own writes waits for that (the informer's event brings the key back) instead of
/// acting on the stale copy: creating a duplicate, or updating into a conflict. The role of
/// upstream's endpointSliceTracker.
final class WrittenObjects: Sendable {
    enum Expectation: Sendable, Equatable {
        case atLeast(Int64)
        case gone
    }

    private let expected = Mutex<[ObjectKey: [String: Expectation]]>([:])

    func wrote(_ object: JSONValue, for owner: ObjectKey) {
        guard let name = object[path: "metadata", "name"]?.stringValue else { return }
        let version = ServiceEndpoints.resourceVersion(object)
        expected.withLock { $0[owner, default: [:]][name] = .atLeast(version) }
    }

    func deleted(_ name: String, for owner: ObjectKey) {
        expected.withLock { $0[owner, default: [:]][name] = .gone }
    }

    /// The informer saw `name` deleted: whatever was expected of it, it is settled.
    func observedDeletion(_ name: String, for owner: ObjectKey) {
        expected.withLock { all in
            guard all[owner]?[name] != nil else { return }
            all[owner]?[name] = nil
            if all[owner]?.isEmpty == true { all[owner] = nil }
        }
    }

    func forget(_ owner: ObjectKey) {
        expected.withLock { _ = $0.removeValue(forKey: owner) }
    }

    /// True once `lookup` (the informer cache) shows every write made for `owner`; those it
    /// shows are forgotten.
    func caughtUp(_ owner: ObjectKey, lookup: (String) -> JSONValue?) -> Bool {
        expected.withLock { all in
            guard var pending = all[owner] else { return true }
            for (name, expectation) in pending {
                let cached = lookup(name)
                switch expectation {
                case .atLeast(let version):
                    if let cached, ServiceEndpoints.resourceVersion(cached) >= version { pending[name] = nil }
                case .gone:
                    if cached == nil { pending[name] = nil }
                }
            }
            all[owner] = pending.isEmpty ? nil : pending
            return pending.isEmpty
        }
    }
}
