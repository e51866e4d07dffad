import SwiftletTestSupport
import Foundation
import SwiftletAPI
import SwiftletAPIServer
@testable import SwiftletClient
@testable import SwiftletControllers
import SwiftletMachinery
import SwiftletStorage

/// A real API server on a memory store, shared informers on a manual clock, and the node
/// lifecycle controller, for the NodeLifecycle tests. The test plays the kubelet.
struct NodeLifecycleHarness {

    let server: APIServer
    let client: APIClient
    let clock: ManualClock
    let informers: SharedInformerFactory
    let controller: NodeLifecycleController

    init(defaultTolerationSeconds: Int = 300) throws {
        let api = try InProcessAPI(configure: { $0.defaultTolerationSeconds = Int64(defaultTolerationSeconds) })
        server = api.server
        client = api.client
        clock = ManualClock()
        informers = SharedInformerFactory(client: client, clock: clock, log: ClientLog.discard)
        let context = ControllerContext(client: client, informers: informers, clock: clock, log: ClientLog.discard)
        controller = NodeLifecycleController(context: context)
    }

    func start() async -> Bool {
        informers.start()
        return await informers.waitForSync()
    }

    func stop() { informers.shutDown() }

    /// Registers a Ready node with its lease, as a kubelet does, optionally with taints.
    func registerNode(_ name: String, taints: JSONValue? = nil) async throws {
        var node: JSONValue = ["apiVersion": "v1", "kind": "Node", "metadata": ["name": .string(name)]]
        if let taints { node[path: "spec", "taints"] = taints }
        _ = try await client.create(Resources.nodes, node)
        try await postStatus(name, ready: "True")
        _ = try await client.create(Resources.leases, namespace: "kube-node-lease", [
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": ["name": .string(name), "namespace": "kube-node-lease"],
            "spec": ["holderIdentity": .string(name), "leaseDurationSeconds": 40,
                     "renewTime": .string(RFC3339.microString(from: clock.now))],
        ])
    }

    /// The kubelet posting its conditions with a fresh heartbeat.
    func postStatus(_ name: String, ready: String) async throws {
        var node = try await client.get(Resources.nodes, name: name)
        let now = JSONValue.string(RFC3339.string(from: clock.now))
        func condition(_ type: String, _ status: String) -> JSONValue {
            ["type": .string(type), "status": .string(status), "lastHeartbeatTime": now, "lastTransitionTime": now,
             "reason": "Kubelet", "message": "kubelet"]
        }
        node[path: "status", "conditions"] = [
            condition("MemoryPressure", "False"), condition("DiskPressure", "False"),
            condition("PIDPressure", "False"), condition("Ready", ready),
        ]
        _ = try await client.update(Resources.nodes, node, subresource: "status")
    }

    func renewLease(_ name: String) async throws {
        var lease = try await client.get(Resources.leases, namespace: "kube-node-lease", name: name)
        lease[path: "spec", "renewTime"] = .string(RFC3339.microString(from: clock.now))
        _ = try await client.update(Resources.leases, lease)
    }

    /// A pod bound to `node`, Running and Ready.
    @discardableResult
    func runPod(_ name: String, node: String, tolerations: JSONValue? = nil) async throws -> JSONValue {
        var pod: JSONValue = [
            "apiVersion": "v1", "kind": "Pod", "metadata": ["name": .string(name), "namespace": "default"],
            "spec": ["containers": [["name": "c", "image": "nginx"]]],
        ]
        if let tolerations { pod[path: "spec", "tolerations"] = tolerations }
        _ = try await client.create(Resources.pods, namespace: "default", pod)
        try await client.bind(pod: name, namespace: "default", node: node)
        var current = try await client.get(Resources.pods, namespace: "default", name: name)
        current[path: "status", "phase"] = "Running"
        current[path: "status", "conditions"] = [[
            "type": "Ready", "status": "True", "lastTransitionTime": .string(RFC3339.string(from: clock.now)),
        ]]
        return try await client.update(Resources.pods, current, subresource: "status")
    }

    func node(_ name: String) async throws -> JSONValue { try await client.get(Resources.nodes, name: name) }

    func condition(_ node: JSONValue, _ type: String) -> JSONValue? {
        node[path: "status", "conditions"]?.arrayValue?.first { $0["type"]?.stringValue == type }
    }

    func taintKeys(_ node: JSONValue) -> [String] {
        (node[path: "spec", "taints"]?.arrayValue ?? []).compactMap { $0["key"]?.stringValue }
    }

    /// Whether the pod is gone or marked for deletion (bound pods are deleted gracefully).
    func isDeleted(_ name: String) async -> Bool {
        do {
            let pod = try await client.get(Resources.pods, namespace: "default", name: name)
            return pod[path: "metadata", "deletionTimestamp"] != nil
        } catch {
            return error.code == 404
        }
    }

    /// Waits (bounded, in wall time) until the controller's caches satisfy `condition`.
    func until(_ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(30)
        while !condition() {
            if ContinuousClock.now > deadline { return false }
            try? await Task.sleep(for: .milliseconds(2))
        }
        return true
    }

    func untilAsync(_ condition: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(30)
        while !(await condition()) {
            if ContinuousClock.now > deadline { return false }
            try? await Task.sleep(for: .milliseconds(2))
        }
        return true
    }

    /// Waits until the controller's node cache shows `name` at its current resourceVersion.
    func cached(_ name: String) async throws -> Bool {
        let version = try await node(name)[path: "metadata", "resourceVersion"]
        return await until { controller.nodes.get(name: name)?[path: "metadata", "resourceVersion"] == version }
    }

    func cachedLease(_ name: String) async throws -> Bool {
        let version = try await client.get(Resources.leases, namespace: "kube-node-lease", name: name)[path: "metadata", "resourceVersion"]
        return await until {
            controller.leases.get(namespace: "kube-node-lease", name: name)?[path: "metadata", "resourceVersion"] == version
        }
    }

    func cachedPod(_ name: String) async throws -> Bool {
        let version = try await client.get(Resources.pods, namespace: "default", name: name)[path: "metadata", "resourceVersion"]
        return await until {
            controller.pods.get(namespace: "default", name: name)?[path: "metadata", "resourceVersion"] == version
        }
    }

    func events(reason: String) async throws -> [JSONValue] {
        await controller.evictionRecorder.flush()
        await controller.nodeRecorder.flush()
        return try await client.list(Resources.events, namespace: "default").items.filter { $0["reason"]?.stringValue == reason }
    }

    static func unreachableTaint(at date: Date) -> JSONValue {
        [["key": "node.kubernetes.io/unreachable", "effect": "NoExecute", "timeAdded": .string(RFC3339.string(from: date))]]
    }
}
