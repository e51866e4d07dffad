import Foundation
import SwiftletTestSupport
import Testing
import SwiftletAPI
import SwiftletAPIServer
import SwiftletClient
import SwiftletControllers
import SwiftletMachinery
import SwiftletStorage

/// A real API server on a memory store, a client over `LocalTransport`, and shared informers:
/// what the garbage collector and namespace controller tests run against. Names are
/// prefixed so that other controllers' test helpers in this target cannot collide.
struct GCTestCluster {
    let server: APIServer
    let client: APIClient
    let informers: SharedInformerFactory
    let context: ControllerContext

    init() throws {
        let api = try InProcessAPI()
        server = api.server
        client = api.client
        informers = SharedInformerFactory(client: client, clock: SystemClock(), log: ClientLog.discard)
        context = ControllerContext(client: client, informers: informers, clock: SystemClock(), log: ClientLog.discard)
    }

    /// Starts the informers, waits for their first list, and runs the controllers; the
    /// returned task runs until cancelled (then the informers are shut down).
    func run(_ controllers: [any Controller]) async -> Task<Void, Never> {
        let manager = ControllerManager(context: context, controllers: controllers, workers: 2)
        return Task { await manager.run() }
    }

    /// The live object, or nil once it is gone.
    func live(_ resource: ResourceInfo, namespace: String? = "default", _ name: String) async -> JSONValue? {
        try? await client.get(resource, namespace: resource.namespaced ? namespace : nil, name: name)
    }
}

/// Polls an async condition every 10 ms until it holds; false after `timeout`.
func gcEventually(timeout: Duration = .seconds(20), _ condition: () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while !(await condition()) {
        if ContinuousClock.now > deadline { return false }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return true
}

enum GCFixtures {
    static func ownerReference(_ owner: JSONValue, block: Bool = true, controller: Bool = true) -> JSONValue {
        ["apiVersion": owner["apiVersion"] ?? "", "kind": owner["kind"] ?? "", "name": owner[path: "metadata", "name"] ?? "",
         "uid": owner[path: "metadata", "uid"] ?? "", "controller": .bool(controller), "blockOwnerDeletion": .bool(block)]
    }

    static func deployment(_ name: String) -> JSONValue {
        ["apiVersion": "apps/v1", "kind": "Deployment", "metadata": ["name": .string(name), "namespace": "default"],
         "spec": ["replicas": 1, "selector": ["matchLabels": ["app": .string(name)]],
                  "template": ["metadata": ["labels": ["app": .string(name)]],
                               "spec": ["containers": [["name": "c", "image": "nginx"]]]]]]
    }

    static func replicaSet(_ name: String, owners: [JSONValue] = []) -> JSONValue {
        var rs: JSONValue = ["apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": ["name": .string(name), "namespace": "default"],
                             "spec": ["replicas": 1, "selector": ["matchLabels": ["app": .string(name)]],
                                      "template": ["metadata": ["labels": ["app": .string(name)]],
                                                   "spec": ["containers": [["name": "c", "image": "nginx"]]]]]]
        if !owners.isEmpty { rs[path: "metadata", "ownerReferences"] = .array(owners) }
        return rs
    }

    static func pod(_ name: String, namespace: String = "default", owners: [JSONValue] = [], finalizers: [String] = []) -> JSONValue {
        var pod: JSONValue = ["apiVersion": "v1", "kind": "Pod", "metadata": ["name": .string(name), "namespace": .string(namespace)],
                              "spec": ["containers": [["name": "c", "image": "nginx"]]]]
        if !owners.isEmpty { pod[path: "metadata", "ownerReferences"] = .array(owners) }
        if !finalizers.isEmpty { pod[path: "metadata", "finalizers"] = .array(finalizers.map { .string($0) }) }
        return pod
    }

    static func configMap(_ name: String, namespace: String, finalizers: [String] = []) -> JSONValue {
        var cm: JSONValue = ["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": .string(name), "namespace": .string(namespace)],
                             "data": ["k": "v"]]
        if !finalizers.isEmpty { cm[path: "metadata", "finalizers"] = .array(finalizers.map { .string($0) }) }
        return cm
    }
}
