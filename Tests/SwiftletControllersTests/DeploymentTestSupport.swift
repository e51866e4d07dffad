import SwiftletTestSupport
import Foundation
import SwiftletAPI
import SwiftletAPIServer
@testable import SwiftletClient
@testable import SwiftletControllers
import SwiftletMachinery
import SwiftletStorage

/// A real API server on a memory store, shared informers, and one Deployment controller. The
/// tests drive `sync` themselves and play the ReplicaSet controller by writing RS status.
struct DeploymentHarness {
    static let namespace = "default"

    let server: APIServer
    let client: APIClient
    let clock: ManualClock
    let informers: SharedInformerFactory
    let controller: DeploymentController
    var deployments: SharedInformer { informers.informer(for: Resources.deployments) }
    var replicaSets: SharedInformer { informers.informer(for: Resources.replicasets) }

    init() throws {
        let api = try InProcessAPI()
        server = api.server
        client = api.client
        clock = ManualClock()
        informers = SharedInformerFactory(client: client, clock: clock, log: ClientLog.discard)
        let context = ControllerContext(client: client, informers: informers, clock: clock, log: ClientLog.discard)
        controller = DeploymentController(context: context)
    }

    func start() async -> Bool {
        informers.start()
        return await informers.waitForSync()
    }

    func stop() { informers.shutDown() }

    static func deployment(_ name: String, replicas: Int64, image: String = "nginx:1",
                           strategy: JSONValue? = nil) -> JSONValue {
        var d: JSONValue = [
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": ["name": .string(name), "namespace": .string(namespace)],
            "spec": ["replicas": .int(replicas), "selector": ["matchLabels": ["app": .string(name)]],
                     "template": ["metadata": ["labels": ["app": .string(name)]],
                                  "spec": ["containers": [["name": "c", "image": .string(image)]]]]],
        ]
        if let strategy { d[path: "spec", "strategy"] = strategy }
        return d
    }

    static func rolling(surge: JSONValue, unavailable: JSONValue) -> JSONValue {
        ["type": "RollingUpdate", "rollingUpdate": ["maxSurge": surge, "maxUnavailable": unavailable]]
    }

    func key(_ name: String) -> ObjectKey { ObjectKey(namespace: Self.namespace, name: name) }

    @discardableResult
    func create(_ d: JSONValue) async throws -> JSONValue {
        try await client.create(Resources.deployments, namespace: Self.namespace, d)
    }

    func get(_ name: String) async throws -> JSONValue {
        try await client.get(Resources.deployments, namespace: Self.namespace, name: name)
    }

    /// Merge-patches the Deployment's spec (as `kubectl set image` / `scale` would).
    @discardableResult
    func patchSpec(_ name: String, _ spec: JSONValue) async throws -> JSONValue {
        try await client.patch(Resources.deployments, namespace: Self.namespace, name: name, .merge(["spec": spec]))
    }

    func setImage(_ name: String, _ image: String) async throws {
        try await patchSpec(name, ["template": ["spec": ["containers": [["name": "c", "image": .string(image)]]]]])
    }

    /// The ReplicaSets on the server, oldest revision first.
    func replicaSetList() async throws -> [JSONValue] {
        try await client.list(Resources.replicasets, namespace: Self.namespace).items.sorted {
            DeploymentUtil.revision($0) < DeploymentUtil.revision($1)
        }
    }

    /// Waits (bounded) until the informer caches hold exactly what the server holds.
    func caughtUp() async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let rsItems = try await client.list(Resources.replicasets, namespace: Self.namespace).items
            let dItems = try await client.list(Resources.deployments, namespace: Self.namespace).items
            if Self.same(rsItems, replicaSets.list()) && Self.same(dItems, deployments.list()) { return }
            try? await Task.sleep(for: .milliseconds(2))
        }
    }

    static func same(_ a: [JSONValue], _ b: [JSONValue]) -> Bool {
        func versions(_ items: [JSONValue]) -> [String: String] {
            var out: [String: String] = [:]
            for i in items { out[i[path: "metadata", "name"]?.stringValue ?? ""] = i[path: "metadata", "resourceVersion"]?.stringValue ?? "" }
            return out
        }
        return versions(a) == versions(b)
    }

    /// Syncs as the running loop would (each write's event requeues the key) until a sync
    /// changes nothing on the server.
    func settle(_ name: String) async throws {
        for _ in 0..<20 {
            try await caughtUp()
            let before = try await snapshot()
            try await controller.sync(key(name))
            try await caughtUp()
            if try await snapshot() == before { return }
        }
    }

    private func snapshot() async throws -> [String] {
        let rs = try await client.list(Resources.replicasets, namespace: Self.namespace).items
        let d = try await client.list(Resources.deployments, namespace: Self.namespace).items
        return (rs + d).map { "\($0[path: "metadata", "name"]?.stringValue ?? "")@\($0[path: "metadata", "resourceVersion"]?.stringValue ?? "")" }.sorted()
    }

    /// Plays the ReplicaSet controller: every ReplicaSet reports `spec.replicas` pods, of
    /// which `available` (default: all) are ready and available.
    func reportReplicaSets(available: [String: Int64] = [:]) async throws {
        for var rs in try await replicaSetList() {
            let name = rs[path: "metadata", "name"]?.stringValue ?? ""
            let replicas = rs[path: "spec", "replicas"]?.intValue ?? 0
            let ready = min(available[name] ?? replicas, replicas)
            var status: JSONValue = ["replicas": .int(replicas), "fullyLabeledReplicas": .int(replicas),
                                     "readyReplicas": .int(ready), "availableReplicas": .int(ready)]
            status["observedGeneration"] = rs[path: "metadata", "generation"]
            if rs["status"] == status { continue }
            rs["status"] = status
            _ = try await client.update(Resources.replicasets, rs, subresource: "status")
        }
    }

    /// Events recorded with `reason`, once the recorder has written them.
    func events(reason: String) async throws -> [String] {
        await controller.recorder.flush()
        return try await client.list(Resources.events, namespace: Self.namespace).items
            .filter { $0["reason"]?.stringValue == reason }
            .compactMap { $0["message"]?.stringValue }
    }
}

func rsReplicas(_ rs: JSONValue) -> Int64 { rs[path: "spec", "replicas"]?.intValue ?? -1 }
func rsRevision(_ rs: JSONValue) -> String { rs[path: "metadata", "annotations", "deployment.kubernetes.io/revision"]?.stringValue ?? "" }
func deploymentCondition(_ d: JSONValue, _ type: String) -> JSONValue? {
    d[path: "status", "conditions"]?.arrayValue?.first { $0["type"]?.stringValue == type }
}
