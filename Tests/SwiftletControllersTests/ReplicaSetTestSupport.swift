import SwiftletTestSupport
import Foundation
import SwiftletAPI
import SwiftletAPIServer
@testable import SwiftletClient
@testable import SwiftletControllers
import SwiftletMachinery
import SwiftletStorage

/// A real API server on a memory store, shared informers on a manual clock, and one
/// ReplicaSet (or ReplicationController) controller, for the ReplicaSet tests.
struct ReplicaSetHarness {

    let server: APIServer
    let client: APIClient
    let clock: ManualClock
    let informers: SharedInformerFactory
    let controller: ReplicaSetController
    var pods: SharedInformer { informers.informer(for: Resources.pods) }
    var owners: SharedInformer { informers.informer(for: controller.kind.resource) }

    init(kind: ReplicaSetController.Kind = .replicaSet) throws {
        let api = try InProcessAPI()
        server = api.server
        client = api.client
        clock = ManualClock()
        informers = SharedInformerFactory(client: client, clock: clock, log: ClientLog.discard)
        let context = ControllerContext(client: client, informers: informers, clock: clock, log: ClientLog.discard)
        controller = ReplicaSetController(context: context, kind: kind)
    }

    func start() async -> Bool {
        informers.start()
        return await informers.waitForSync()
    }

    func stop() { informers.shutDown() }

    static func replicaSet(_ name: String, replicas: Int64, minReadySeconds: Int64 = 0,
                           labels: JSONValue? = nil) -> JSONValue {
        let labels = labels ?? ["app": .string(name)]
        var rs: JSONValue = [
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": ["name": .string(name), "namespace": "default"],
            "spec": ["replicas": .int(replicas), "selector": ["matchLabels": labels],
                     "template": ["metadata": ["labels": labels],
                                  "spec": ["containers": [["name": "c", "image": "nginx"]]]]],
        ]
        if minReadySeconds > 0 { rs[path: "spec", "minReadySeconds"] = .int(minReadySeconds) }
        return rs
    }

    static func replicationController(_ name: String, replicas: Int64) -> JSONValue {
        ["apiVersion": "v1", "kind": "ReplicationController",
         "metadata": ["name": .string(name), "namespace": "default"],
         "spec": ["replicas": .int(replicas), "selector": ["app": .string(name)],
                  "template": ["metadata": ["labels": ["app": .string(name), "extra": "yes"]],
                               "spec": ["containers": [["name": "c", "image": "nginx"]]]]]]
    }

    static func pod(_ name: String, labels: JSONValue) -> JSONValue {
        ["apiVersion": "v1", "kind": "Pod", "metadata": ["name": .string(name), "namespace": "default", "labels": labels],
         "spec": ["containers": [["name": "c", "image": "nginx"]]]]
    }

    @discardableResult
    func create(_ object: JSONValue) async throws -> JSONValue {
        try await client.create(controller.kind.resource, namespace: "default", object)
    }

    func key(_ name: String) -> ObjectKey { ObjectKey(namespace: "default", name: name) }

    /// The active pods the cache holds with `name`'s uid as their controller.
    func ownedPods(_ name: String) -> [JSONValue] {
        guard let uid = owners.get(key(name))?[path: "metadata", "uid"]?.stringValue else { return [] }
        return pods.byIndex(name: Indexer.controllerUID.name, value: uid).filter(PodState.isActive)
    }

    /// Waits (bounded) until the caches satisfy `condition`.
    func until(_ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(30)
        while !condition() {
            if ContinuousClock.now > deadline { return false }
            try? await Task.sleep(for: .milliseconds(2))
        }
        return true
    }

    /// Syncs until the controller's expectations are met, as the running loop would: each
    /// informer event lowers them and re-queues the key.
    func settle(_ name: String) async throws {
        try await controller.sync(key(name))
        _ = await until { controller.expectations.satisfied(key(name)) }
        try await controller.sync(key(name))
    }

    /// Events about objects in "default" with `reason`, after the recorder has written them.
    func events(reason: String) async throws -> [JSONValue] {
        await controller.recorder.flush()
        return try await client.list(Resources.events, namespace: "default").items.filter { $0["reason"]?.stringValue == reason }
    }

    /// Binds a pod and sets its phase and readiness (Ready since `readySince`).
    func runPod(_ pod: JSONValue, node: String, phase: String, ready: Bool, readySince: Date? = nil) async throws {
        let name = pod[path: "metadata", "name"]?.stringValue ?? ""
        try await client.bind(pod: name, namespace: "default", node: node)
        var current = try await client.get(Resources.pods, namespace: "default", name: name)
        current[path: "status", "phase"] = .string(phase)
        current[path: "status", "conditions"] = [[
            "type": "Ready", "status": ready ? "True" : "False",
            "lastTransitionTime": .string(RFC3339.string(from: readySince ?? clock.now)),
        ]]
        _ = try await client.update(Resources.pods, current, subresource: "status")
    }
}

func rsName(_ object: JSONValue) -> String { object[path: "metadata", "name"]?.stringValue ?? "" }
