import SwiftletAPI
import SwiftletClient
import SwiftletMachinery

/// Keeps an Endpoints object per Service with a selector, named as the Service: the
/// addresses of the selected pods (ready ones in `addresses`, others in
/// `notReadyAddresses`), with each Service port resolved on each pod, grouped into subsets
/// of pods that share the same ports (pkg/controller/endpoint upstream).
///
/// A Service without a selector (`kubernetes`, or one whose endpoints a user manages) is
/// left alone. When a Service goes, its Endpoints are deleted; leftovers found at start-up
/// whose Service is gone are deleted too, as upstream does.
public final class EndpointsController: Controller {
    public let name = "endpoints"

    private let context: ControllerContext
    private let client: APIClient
    private let services: SharedInformer
    private let pods: SharedInformer
    private let endpoints: SharedInformer
    private let queue: WorkQueue<ObjectKey>
    private let written = WrittenObjects()

    public init(context: ControllerContext) {
        self.context = context
        client = context.client(for: "endpoint-controller")
        services = context.informers.informer(for: Resources.services)
        pods = context.informers.informer(for: Resources.pods)
        endpoints = context.informers.informer(for: Resources.endpoints)
        queue = WorkQueue(clock: context.clock)

        let queue = self.queue
        let services = self.services
        let written = self.written
        ServiceEndpoints.queueServices(on: queue, services: services, pods: pods)
        // Our own writes coming back (a sync may be waiting for them), or someone else's,
        // to be put right.
        let enqueueOwner: @Sendable (JSONValue) -> Void = { object in
            if let key = ObjectKey(object), services.get(key) != nil { queue.add(key) }
        }
        endpoints.addEventHandler(EventHandler(
            onAdd: enqueueOwner,
            onUpdate: { _, new in enqueueOwner(new) },
            onDelete: { old in
                guard let key = ObjectKey(old) else { return }
                written.observedDeletion(key.name, for: key)
                if services.get(key) != nil { queue.add(key) }
            }))
    }

    public func run(workers: Int) async {
        // Endpoints left over from Services deleted while no controller ran.
        for object in endpoints.list() {
            if let key = ObjectKey(object), services.get(key) == nil { queue.add(key) }
        }
        let runner = ControllerRunner(name: name, queue: queue, workers: workers, log: context.log) { key in
            try await self.sync(key)
        }
        await runner.run()
    }

    func sync(_ key: ObjectKey) async throws {
        guard written.caughtUp(key, lookup: { endpoints.get(namespace: key.namespace, name: $0) }) else { return }
        let current = endpoints.get(key)
        guard let service = services.get(key) else {
            guard current != nil else { return }
            do {
                try await client.delete(Resources.endpoints, namespace: key.namespace, name: key.name)
            } catch {
                if error.code != 404 { throw error }
            }
            written.deleted(key.name, for: key)
            return
        }
        guard let selector = ServiceEndpoints.selector(of: service) else { return }

        let subsets = Self.subsets(for: service, pods: ServiceEndpoints.selectedPods(of: service, selector: selector, pods: pods))
        var labels = service[path: "metadata", "labels"]?.objectValue ?? JSONObject()
        if ServiceEndpoints.isHeadless(service) {
            labels["service.kubernetes.io/headless"] = ""
        } else {
            labels["service.kubernetes.io/headless"] = nil
        }

        if var existing = current {
            let sameLabels = (existing[path: "metadata", "labels"]?.objectValue ?? JSONObject()) == labels
            if sameLabels, (existing["subsets"] ?? .array([])) == subsets { return }
            existing[path: "metadata", "labels"] = .object(labels)
            existing["subsets"] = subsets
            let updated = try await client.update(Resources.endpoints, existing)
            written.wrote(updated, for: key)
        } else {
            let object: JSONValue = [
                "apiVersion": "v1", "kind": "Endpoints",
                "metadata": ["name": .string(key.name), "namespace": .string(key.namespace ?? "default"),
                             "labels": .object(labels)],
                "subsets": subsets,
            ]
            let created = try await client.create(Resources.endpoints, object)
            written.wrote(created, for: key)
        }
    }

    /// The subsets for `pods`, packed as upstream's RepackSubsets does: one subset per
    /// distinct set of ports, addresses sorted by IP, subsets in a stable order.
    static func subsets(for service: JSONValue, pods: [JSONValue]) -> JSONValue {
        let publishNotReady = service[path: "spec", "publishNotReadyAddresses"]?.boolValue == true
        let servicePorts = service[path: "spec", "ports"]?.arrayValue ?? []

        struct Group {
            var ports: [JSONValue]
            var ready: [JSONValue] = []
            var notReady: [JSONValue] = []
        }
        var groups: [String: Group] = [:]

        for pod in pods where ServiceEndpoints.shouldInclude(pod, includeTerminating: publishNotReady) {
            guard let ip = ServiceEndpoints.podIP(pod) else { continue }
            var address: JSONValue = ["ip": .string(ip)]
            if let hostname = ServiceEndpoints.hostname(of: pod, service: service) { address["hostname"] = .string(hostname) }
            if let node = pod[path: "spec", "nodeName"]?.stringValue, !node.isEmpty { address["nodeName"] = .string(node) }
            address["targetRef"] = ServiceEndpoints.targetRef(pod)

            var ports: [JSONValue] = []
            for servicePort in servicePorts {
                guard let number = ServiceEndpoints.resolvePort(servicePort, on: pod) else { continue }
                var port: JSONValue = [:]
                if let name = servicePort["name"]?.stringValue, !name.isEmpty { port["name"] = .string(name) }
                port["port"] = .int(number)
                port["protocol"] = .string(servicePort["protocol"]?.stringValue ?? "TCP")
                if let appProtocol = servicePort["appProtocol"] { port["appProtocol"] = appProtocol }
                ports.append(port)
            }
            // A pod none of whose ports resolve serves nothing; a Service without ports
            // lists addresses only when headless.
            if ports.isEmpty, !(servicePorts.isEmpty && ServiceEndpoints.isHeadless(service)) { continue }
            ports.sort { portKey($0) < portKey($1) }

            let groupKey = ports.map(portKey).joined(separator: ",")
            var group = groups[groupKey] ?? Group(ports: ports)
            if publishNotReady || PodState.isReady(pod) {
                group.ready.append(address)
            } else {
                group.notReady.append(address)
            }
            groups[groupKey] = group
        }

        return .array(groups.sorted { $0.key < $1.key }.map { _, group in
            var subset: JSONValue = [:]
            if !group.ready.isEmpty { subset["addresses"] = .array(group.ready.sorted(by: addressOrder)) }
            if !group.notReady.isEmpty { subset["notReadyAddresses"] = .array(group.notReady.sorted(by: addressOrder)) }
            if !group.ports.isEmpty { subset["ports"] = .array(group.ports) }
            return subset
        })
    }

    private static func portKey(_ port: JSONValue) -> String {
        "\(port["name"]?.stringValue ?? "")/\(port["port"]?.intValue ?? 0)/\(port["protocol"]?.stringValue ?? "")"
    }

    private static func addressOrder(_ a: JSONValue, _ b: JSONValue) -> Bool {
        let ipA = a["ip"]?.stringValue ?? "", ipB = b["ip"]?.stringValue ?? ""
        if ipA != ipB { return ipA < ipB }
        return (a[path: "targetRef", "uid"]?.stringValue ?? "") < (b[path: "targetRef", "uid"]?.stringValue ?? "")
    }
}
