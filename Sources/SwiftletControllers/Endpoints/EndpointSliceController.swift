import SwiftletAPI
import SwiftletClient
import SwiftletMachinery

/// Keeps the EndpointSlices of every Service with a selector (pkg/controller/endpointslice
/// upstream): slices named `<service>-<random>`, labelled with the Service's name and this
/// controller as their manager, owned by the Service, holding up to 100 endpoints that share
/// one set of ports. Each endpoint carries the pod's address, node and reference, and the
/// conditions ready (ready and not terminating), serving (ready) and terminating.
///
/// Slices are reused in place when they still fit, so an unchanged Service costs no writes;
/// a Service without endpoints keeps one empty placeholder slice, as upstream does. When the
/// Service goes, its slices are deleted (the garbage collector would, through their owner
/// reference, but this does not wait for it).
public final class EndpointSliceController: Controller {
    public let name = "endpointslice"

    static let managedBy = "endpointslice-controller.k8s.io"
    static let managedByLabel = "endpointslice.kubernetes.io/managed-by"
    static let serviceNameLabel = "kubernetes.io/service-name"
    static let maxEndpointsPerSlice = 100
    static let serviceIndex = "endpointslice-service"

    private let context: ControllerContext
    private let client: APIClient
    private let services: SharedInformer
    private let pods: SharedInformer
    private let slices: SharedInformer
    private let queue: WorkQueue<ObjectKey>
    private let written = WrittenObjects()

    public init(context: ControllerContext) {
        self.context = context
        client = context.client(for: "endpointslice-controller")
        services = context.informers.informer(for: Resources.services)
        pods = context.informers.informer(for: Resources.pods)
        slices = context.informers.informer(for: Resources.endpointslices)
        queue = WorkQueue(clock: context.clock)

        // Our slices by "namespace/service".
        slices.addIndexer(Indexer(name: Self.serviceIndex) { slice in
            guard let key = Self.serviceKey(ofSlice: slice) else { return [] }
            return [key.description]
        })

        let queue = self.queue
        let services = self.services
        let written = self.written
        ServiceEndpoints.queueServices(on: queue, services: services, pods: pods)
        slices.addEventHandler(EventHandler(
            onAdd: { if let key = Self.serviceKey(ofSlice: $0) { queue.add(key) } },
            onUpdate: { old, new in
                for key in [Self.serviceKey(ofSlice: old), Self.serviceKey(ofSlice: new)].compactMap({ $0 }) { queue.add(key) }
            },
            onDelete: { slice in
                guard let key = Self.serviceKey(ofSlice: slice) else { return }
                if let name = slice[path: "metadata", "name"]?.stringValue { written.observedDeletion(name, for: key) }
                queue.add(key)
            }))
    }

    /// The Service a slice belongs to, if this controller manages it.
    static func serviceKey(ofSlice slice: JSONValue) -> ObjectKey? {
        guard slice[path: "metadata", "labels", managedByLabel]?.stringValue == managedBy,
              let service = slice[path: "metadata", "labels", serviceNameLabel]?.stringValue, !service.isEmpty else { return nil }
        return ObjectKey(namespace: slice[path: "metadata", "namespace"]?.stringValue, name: service)
    }

    public func run(workers: Int) async {
        let runner = ControllerRunner(name: name, queue: queue, workers: workers, log: context.log) { key in
            try await self.sync(key)
        }
        await runner.run()
    }

    func sync(_ key: ObjectKey) async throws {
        guard written.caughtUp(key, lookup: { slices.get(namespace: key.namespace, name: $0) }) else { return }
        let existing = slices.byIndex(name: Self.serviceIndex, value: key.description)

        guard let service = services.get(key) else {
            for slice in existing { try await delete(slice, for: key) }
            return
        }
        // As upstream: an ExternalName Service, or one without a selector, gets no slices from
        // this controller, and whatever slices it has (the API server's own for `kubernetes`,
        // ones made by hand) are left alone.
        guard service[path: "spec", "type"]?.stringValue != "ExternalName",
              let selector = ServiceEndpoints.selector(of: service) else { return }

        let desired = Self.desiredSlices(for: service,
                                         pods: ServiceEndpoints.selectedPods(of: service, selector: selector, pods: pods))
        // Keep the slices that are as wanted; rewrite others in place (same ports first); create the rest.
        var unused = existing
        var missing: [JSONValue] = []
        for want in desired {
            if let index = unused.firstIndex(where: { Self.sameContent($0, want) && Self.sameMetadata($0, want, service) }) {
                unused.remove(at: index)
            } else {
                missing.append(want)
            }
        }
        for want in missing {
            if let index = unused.firstIndex(where: { ($0["ports"] ?? .array([])) == (want["ports"] ?? .array([])) })
                ?? (unused.isEmpty ? nil : unused.startIndex) {
                var slice = unused.remove(at: index)
                slice["addressType"] = want["addressType"]
                slice["endpoints"] = want["endpoints"]
                slice["ports"] = want["ports"]
                slice[path: "metadata", "labels"] = Self.labels(for: service)
                slice[path: "metadata", "ownerReferences"] = Self.ownerReferences(service)
                let updated = try await client.update(Resources.endpointslices, slice)
                written.wrote(updated, for: key)
            } else {
                var slice = want
                slice[path: "metadata", "generateName"] = .string("\(key.name)-")
                slice[path: "metadata", "namespace"] = .string(key.namespace ?? "default")
                slice[path: "metadata", "labels"] = Self.labels(for: service)
                slice[path: "metadata", "ownerReferences"] = Self.ownerReferences(service)
                let created = try await client.create(Resources.endpointslices, slice)
                written.wrote(created, for: key)
            }
        }
        for slice in unused { try await delete(slice, for: key) }
    }

    private func delete(_ slice: JSONValue, for key: ObjectKey) async throws {
        guard let name = slice[path: "metadata", "name"]?.stringValue else { return }
        do {
            try await client.delete(Resources.endpointslices, namespace: key.namespace, name: name,
                                            options: DeleteOptions(preconditionUID: slice[path: "metadata", "uid"]?.stringValue))
        } catch {
            if error.code != 404, error.code != 409 { throw error }
        }
        written.deleted(name, for: key)
    }

    static func labels(for service: JSONValue) -> JSONValue {
        var labels = service[path: "metadata", "labels"]?.objectValue ?? JSONObject()
        labels[serviceNameLabel] = service[path: "metadata", "name"] ?? ""
        labels[managedByLabel] = .string(managedBy)
        if ServiceEndpoints.isHeadless(service) {
            labels["service.kubernetes.io/headless"] = ""
        } else {
            labels["service.kubernetes.io/headless"] = nil
        }
        return .object(labels)
    }

    static func ownerReferences(_ service: JSONValue) -> JSONValue {
        [["apiVersion": "v1", "kind": "Service", "name": service[path: "metadata", "name"] ?? "",
          "uid": service[path: "metadata", "uid"] ?? "", "controller": true, "blockOwnerDeletion": true]]
    }

    private static func sameContent(_ slice: JSONValue, _ want: JSONValue) -> Bool {
        slice["addressType"] == want["addressType"]
            && (slice["endpoints"] ?? .array([])) == (want["endpoints"] ?? .array([]))
            && (slice["ports"] ?? .array([])) == (want["ports"] ?? .array([]))
    }

    private static func sameMetadata(_ slice: JSONValue, _ want: JSONValue, _ service: JSONValue) -> Bool {
        slice[path: "metadata", "labels"] == labels(for: service)
            && slice[path: "metadata", "ownerReferences"] == ownerReferences(service)
    }

    /// The slices the Service should have, without metadata: endpoints grouped by their
    /// resolved ports, sorted, at most 100 to a slice; one empty slice when there are none.
    static func desiredSlices(for service: JSONValue, pods: [JSONValue]) -> [JSONValue] {
        let publishNotReady = service[path: "spec", "publishNotReadyAddresses"]?.boolValue == true
        let servicePorts = service[path: "spec", "ports"]?.arrayValue ?? []
        var groups: [String: (ports: [JSONValue], endpoints: [JSONValue])] = [:]

        for pod in pods where ServiceEndpoints.shouldInclude(pod, includeTerminating: true) {
            guard let ip = ServiceEndpoints.podIP(pod), !ip.contains(":") else { continue }
            var ports: [JSONValue] = []
            for servicePort in servicePorts {
                guard let number = ServiceEndpoints.resolvePort(servicePort, on: pod) else { continue }
                var port: JSONValue = ["name": .string(servicePort["name"]?.stringValue ?? ""), "port": .int(number),
                                       "protocol": .string(servicePort["protocol"]?.stringValue ?? "TCP")]
                if let appProtocol = servicePort["appProtocol"] { port["appProtocol"] = appProtocol }
                ports.append(port)
            }
            if ports.isEmpty, !servicePorts.isEmpty { continue }
            ports.sort { portKey($0) < portKey($1) }

            let ready = PodState.isReady(pod)
            let terminating = ServiceEndpoints.isTerminating(pod)
            var endpoint: JSONValue = [
                "addresses": [.string(ip)],
                "conditions": ["ready": .bool(publishNotReady || (ready && !terminating)), "serving": .bool(ready),
                               "terminating": .bool(terminating)],
            ]
            if let hostname = ServiceEndpoints.hostname(of: pod, service: service) { endpoint["hostname"] = .string(hostname) }
            endpoint["targetRef"] = ServiceEndpoints.targetRef(pod)
            if let node = pod[path: "spec", "nodeName"]?.stringValue, !node.isEmpty { endpoint["nodeName"] = .string(node) }

            let groupKey = ports.map(portKey).joined(separator: ",")
            groups[groupKey, default: (ports, [])].endpoints.append(endpoint)
        }

        var result: [JSONValue] = []
        for (_, group) in groups.sorted(by: { $0.key < $1.key }) {
            let sorted = group.endpoints.sorted { endpointKey($0) < endpointKey($1) }
            for start in stride(from: 0, to: sorted.count, by: maxEndpointsPerSlice) {
                result.append(slice(endpoints: Array(sorted[start..<min(start + maxEndpointsPerSlice, sorted.count)]),
                                    ports: group.ports))
            }
        }
        if result.isEmpty { result.append(slice(endpoints: [], ports: [])) }
        return result
    }

    private static func slice(endpoints: [JSONValue], ports: [JSONValue]) -> JSONValue {
        ["apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": [:], "addressType": "IPv4",
         "endpoints": .array(endpoints), "ports": .array(ports)]
    }

    private static func portKey(_ port: JSONValue) -> String {
        "\(port["name"]?.stringValue ?? "")/\(port["port"]?.intValue ?? 0)/\(port["protocol"]?.stringValue ?? "")"
    }

    private static func endpointKey(_ endpoint: JSONValue) -> String {
        "\(endpoint[path: "targetRef", "namespace"]?.stringValue ?? "")/\(endpoint[path: "targetRef", "name"]?.stringValue ?? "")"
    }
}
