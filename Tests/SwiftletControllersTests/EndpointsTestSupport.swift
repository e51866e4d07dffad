import SwiftletTestSupport
import Foundation
import SwiftletAPI
import SwiftletAPIServer
import SwiftletClient
import SwiftletMachinery
import SwiftletStorage
@testable import SwiftletControllers

/// A real API server on a memory store with the Endpoints and EndpointSlice controllers.
struct EndpointsHarness {
    let server: APIServer
    let client: APIClient
    let informers: SharedInformerFactory
    let task: Task<Void, Never>

    init() async throws {
        let api = try InProcessAPI()
        server = api.server
        client = api.client
        informers = SharedInformerFactory(client: client, log: ClientLog.discard)
        let context = ControllerContext(client: client, informers: informers, log: ClientLog.discard)
        let controllers: [any Controller] = [EndpointsController(context: context), EndpointSliceController(context: context)]
        let informers = self.informers
        informers.start()
        _ = await informers.waitForSync()
        task = Task {
            await withDiscardingTaskGroup { group in
                for controller in controllers { group.addTask { await controller.run(workers: 2) } }
            }
        }
    }

    func stop() async {
        task.cancel()
        await task.value
        informers.shutDown()
    }

    func service(_ name: String, selector: JSONValue?, ports: JSONValue = [["name": "http", "port": 80, "targetPort": 8080]],
                 extra: (inout JSONValue) -> Void = { _ in }) async throws -> JSONValue {
        var service: JSONValue = ["apiVersion": "v1", "kind": "Service",
                                  "metadata": ["name": .string(name), "namespace": "default", "labels": ["tier": "front"]],
                                  "spec": ["ports": ports]]
        if let selector { service[path: "spec", "selector"] = selector }
        extra(&service)
        return try await client.create(Resources.services, service)
    }

    /// A pod as a node would report it: with an address, Running, ready or not.
    @discardableResult
    func pod(_ name: String, labels: JSONValue = ["app": "web"], ip: String?, ready: Bool = true, node: String? = "node-a",
             containerPorts: JSONValue? = nil) async throws -> JSONValue {
        var pod: JSONValue = ["apiVersion": "v1", "kind": "Pod",
                              "metadata": ["name": .string(name), "namespace": "default", "labels": labels],
                              "spec": ["containers": [["name": "c", "image": "nginx"]]]]
        if let containerPorts { pod[path: "spec", "containers"] = [["name": "c", "image": "nginx", "ports": containerPorts]] }
        if let node { pod[path: "spec", "nodeName"] = .string(node) }
        var created = try await client.create(Resources.pods, pod)
        guard let ip else { return created }
        created["status"] = Self.status(ip: ip, ready: ready)
        return try await client.update(Resources.pods, created, subresource: "status")
    }

    func setReady(_ name: String, _ ready: Bool) async throws {
        var pod = try await client.get(Resources.pods, namespace: "default", name: name)
        let ip = pod[path: "status", "podIP"]?.stringValue ?? ""
        pod["status"] = Self.status(ip: ip, ready: ready)
        _ = try await client.update(Resources.pods, pod, subresource: "status")
    }

    static func status(ip: String, ready: Bool) -> JSONValue {
        let flag: JSONValue = ready ? "True" : "False"
        return ["phase": "Running", "podIP": .string(ip), "podIPs": [["ip": .string(ip)]], "hostIP": "10.0.0.1",
                "conditions": [["type": "Ready", "status": flag], ["type": "ContainersReady", "status": flag],
                               ["type": "PodScheduled", "status": "True"]]]
    }

    func endpoints(_ name: String) async -> JSONValue? {
        try? await client.get(Resources.endpoints, namespace: "default", name: name)
    }

    func slices(_ service: String) async -> [JSONValue] {
        (try? await client.list(Resources.endpointslices, namespace: "default",
                                labelSelector: "kubernetes.io/service-name=\(service)").items) ?? []
    }
}

/// The IPs of an Endpoints' ready (or not-ready) addresses, over all subsets, sorted.
func epIPs(_ endpoints: JSONValue?, notReady: Bool = false) -> [String] {
    let field = notReady ? "notReadyAddresses" : "addresses"
    return (endpoints?["subsets"]?.arrayValue ?? []).flatMap { $0[field]?.arrayValue ?? [] }
        .compactMap { $0["ip"]?.stringValue }.sorted()
}

/// Every endpoint of a Service's slices, by address.
func sliceEndpoints(_ slices: [JSONValue]) -> [String: JSONValue] {
    var result: [String: JSONValue] = [:]
    for slice in slices {
        for endpoint in slice["endpoints"]?.arrayValue ?? [] {
            if let ip = endpoint["addresses"]?[0]?.stringValue { result[ip] = endpoint }
        }
    }
    return result
}
