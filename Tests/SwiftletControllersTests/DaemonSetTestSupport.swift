import SwiftletTestSupport
import Foundation
import SwiftletAPI
import SwiftletAPIServer
@testable import SwiftletClient
@testable import SwiftletControllers
import SwiftletMachinery
import SwiftletStorage

/// A real API server on a memory store, shared informers on a manual clock, and one
/// DaemonSet controller. No scheduler runs, so daemon pods stay unbound (their node affinity
/// names their node).
struct DaemonSetHarness {

    let server: APIServer
    let client: APIClient
    let clock: ManualClock
    let informers: SharedInformerFactory
    let controller: DaemonSetController
    var pods: SharedInformer { informers.informer(for: Resources.pods) }
    var daemonSets: SharedInformer { informers.informer(for: Resources.daemonsets) }
    var nodes: SharedInformer { informers.informer(for: Resources.nodes) }

    init() throws {
        let api = try InProcessAPI()
        server = api.server
        client = api.client
        clock = ManualClock()
        informers = SharedInformerFactory(client: client, clock: clock, log: ClientLog.discard)
        let context = ControllerContext(client: client, informers: informers, clock: clock, log: ClientLog.discard)
        controller = DaemonSetController(context: context)
    }

    func start() async -> Bool {
        informers.start()
        return await informers.waitForSync()
    }

    func stop() { informers.shutDown() }

    static func daemonSet(_ name: String, image: String = "nginx", nodeSelector: JSONValue? = nil,
                          strategy: JSONValue? = nil) -> JSONValue {
        let labels: JSONValue = ["app": .string(name)]
        var ds: JSONValue = [
            "apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": ["name": .string(name), "namespace": "default"],
            "spec": ["selector": ["matchLabels": labels],
                     "template": ["metadata": ["labels": labels],
                                  "spec": ["containers": [["name": "c", "image": .string(image)]]]]],
        ]
        if let nodeSelector { ds[path: "spec", "template", "spec", "nodeSelector"] = nodeSelector }
        if let strategy { ds[path: "spec", "updateStrategy"] = strategy }
        return ds
    }

    @discardableResult
    func createNode(_ name: String, labels: JSONValue = [:], taints: [JSONValue] = []) async throws -> JSONValue {
        var node: JSONValue = [
            "apiVersion": "v1", "kind": "Node",
            "metadata": ["name": .string(name), "labels": labels],
            "spec": [:],
        ]
        if !taints.isEmpty { node[path: "spec", "taints"] = .array(taints) }
        let created = try await client.create(Resources.nodes, node)
        var withStatus = created
        withStatus["status"] = ["conditions": [["type": "Ready", "status": "True",
                                                "lastHeartbeatTime": .string(RFC3339.string(from: clock.now)),
                                                "lastTransitionTime": .string(RFC3339.string(from: clock.now))]]]
        return try await client.update(Resources.nodes, withStatus, subresource: "status")
    }

    @discardableResult
    func create(_ ds: JSONValue) async throws -> JSONValue {
        try await client.create(Resources.daemonsets, namespace: "default", ds)
    }

    func key(_ name: String) -> ObjectKey { ObjectKey(namespace: "default", name: name) }

    /// The active pods the cache holds with `name`'s uid as their controller.
    func ownedPods(_ name: String) -> [JSONValue] {
        guard let uid = daemonSets.get(key(name))?[path: "metadata", "uid"]?.stringValue else { return [] }
        return pods.byIndex(name: Indexer.controllerUID.name, value: uid).filter(PodState.isActive)
    }

    /// The node each owned pod is bound for, through its node affinity.
    func targetNodes(_ name: String) -> [String] {
        ownedPods(name).compactMap(DaemonSetController.Placement.targetNode(of:)).sorted()
    }

    func until(_ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(30)
        while !condition() {
            if ContinuousClock.now > deadline { return false }
            try? await Task.sleep(for: .milliseconds(2))
        }
        return true
    }

    /// Syncs until the controller's expectations are met, as the running loop would.
    func settle(_ name: String) async throws {
        try await controller.sync(key(name))
        _ = await until { controller.expectations.satisfied(key(name)) }
        try await controller.sync(key(name))
    }

    func events(reason: String) async throws -> [JSONValue] {
        await controller.recorder.flush()
        return try await client.list(Resources.events, namespace: "default").items.filter { $0["reason"]?.stringValue == reason }
    }

    func revisions() async throws -> [JSONValue] {
        try await client.list(Resources.controllerrevisions, namespace: "default").items
    }

    func status(_ name: String) async throws -> JSONValue? {
        try await client.get(Resources.daemonsets, namespace: "default", name: name)["status"]
    }

    /// What a kubelet does for a pod being deleted: removes it for good.
    func finishTerminating() async throws {
        for pod in try await client.list(Resources.pods, namespace: "default").items
        where pod[path: "metadata", "deletionTimestamp"] != nil {
            _ = try? await client.delete(Resources.pods, namespace: "default", name: dsName(pod),
                                     options: DeleteOptions(gracePeriodSeconds: 0))
        }
        _ = await until { pods.list().allSatisfy { $0[path: "metadata", "deletionTimestamp"] == nil } }
    }

    /// Binds a daemon pod to its node and marks it Running and Ready.
    func runReady(_ pod: JSONValue) async throws {
        let name = pod[path: "metadata", "name"]?.stringValue ?? ""
        let node = DaemonSetController.Placement.targetNode(of: pod) ?? ""
        try await client.bind(pod: name, namespace: "default", node: node)
        var current = try await client.get(Resources.pods, namespace: "default", name: name)
        current[path: "status", "phase"] = "Running"
        current[path: "status", "conditions"] = [[
            "type": "Ready", "status": "True", "lastTransitionTime": .string(RFC3339.string(from: clock.now)),
        ]]
        _ = try await client.update(Resources.pods, current, subresource: "status")
    }
}

func dsName(_ object: JSONValue) -> String { object[path: "metadata", "name"]?.stringValue ?? "" }
