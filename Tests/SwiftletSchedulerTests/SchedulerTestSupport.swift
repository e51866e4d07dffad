import Foundation
import SwiftletTestSupport
import Testing
import SwiftletAPI
import SwiftletAPIServer
import SwiftletClient
import SwiftletMachinery
import SwiftletScheduler
import SwiftletStorage


/// A real API server on a memory store, a client to it, and a running scheduler.
final class SchedulerHarness: Sendable {
    let server: APIServer
    let client: APIClient
    let informers: SharedInformerFactory
    let scheduler: Scheduler
    private let task: Task<Void, Never>

    init(workers: Int = 4, beforeStart: (APIClient) async throws -> Void = { _ in }) async throws {
        let api = try InProcessAPI()
        server = api.server
        client = api.client
        informers = SharedInformerFactory(client: client, log: ClientLog.discard)
        scheduler = Scheduler(client: client, informers: informers, log: ClientLog.discard)
        try await beforeStart(client)
        informers.start()
        let scheduler = self.scheduler
        task = Task { await scheduler.run(workers: workers) }
    }

    func stop() {
        task.cancel()
        informers.shutDown()
    }

    deinit { stop() }

    @discardableResult
    func createNode(_ name: String, cpu: String = "4", memory: String = "8Gi", pods: Int64 = 110,
                    labels: JSONValue = [:], taints: [JSONValue] = [], unschedulable: Bool = false,
                    ready: String = "True") async throws -> JSONValue {
        try await client.create(Resources.nodes, makeNode(name, cpu: cpu, memory: memory, pods: pods, labels: labels,
                                                          taints: taints, unschedulable: unschedulable, ready: ready))
    }

    @discardableResult
    func createPod(_ name: String, cpu: String? = nil, memory: String? = nil, spec extra: JSONValue = [:],
                   owner: JSONValue? = nil, hostPort: Int64? = nil) async throws -> JSONValue {
        try await client.create(Resources.pods, namespace: "default",
                                makePod(name, cpu: cpu, memory: memory, spec: extra, owner: owner, hostPort: hostPort))
    }

    func pod(_ name: String) async throws -> JSONValue {
        try await client.get(Resources.pods, namespace: "default", name: name)
    }

    /// Polls until the pod is bound; returns its node, or nil after the timeout.
    func waitForNode(of name: String, timeout: Duration = .seconds(20)) async throws -> String? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let node = try await pod(name)[path: "spec", "nodeName"]?.stringValue, !node.isEmpty { return node }
            try await Task.sleep(for: .milliseconds(5))
        }
        return nil
    }

    /// Polls until the pod's PodScheduled condition is False; returns the condition.
    /// A pod can be judged before the scheduler has seen every node (its verdict then names fewer); with `message` or
    /// `messagePrefix` this waits for the verdict that takes them all into account.
    func waitForUnschedulable(_ name: String, message: String? = nil, messagePrefix: String? = nil,
                              timeout: Duration = .seconds(20)) async throws -> JSONValue? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let conditions = try await pod(name)[path: "status", "conditions"]?.arrayValue ?? []
            if let condition = conditions.first(where: { $0["type"] == "PodScheduled" && $0["status"] == "False" }),
               message == nil || condition["message"]?.stringValue == message,
               messagePrefix.map({ condition["message"]?.stringValue?.hasPrefix($0) == true }) ?? true {
                return condition
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        return nil
    }

    func events(for pod: String, reason: String) async throws -> [JSONValue] {
        try await client.list(Resources.events, namespace: "default").items.filter {
            $0[path: "involvedObject", "name"]?.stringValue == pod && $0["reason"]?.stringValue == reason
        }
    }
}

func makeNode(_ name: String, cpu: String = "4", memory: String = "8Gi", pods: Int64 = 110, labels: JSONValue = [:],
              taints: [JSONValue] = [], unschedulable: Bool = false, ready: String = "True") -> JSONValue {
    var node: JSONValue = [
        "apiVersion": "v1", "kind": "Node",
        "metadata": ["name": .string(name), "labels": labels],
        "spec": [:],
        "status": [
            "capacity": ["cpu": .string(cpu), "memory": .string(memory), "pods": .string(String(pods))],
            "allocatable": ["cpu": .string(cpu), "memory": .string(memory), "pods": .string(String(pods))],
            "conditions": [["type": "Ready", "status": .string(ready), "reason": "KubeletReady"]],
        ],
    ]
    if !taints.isEmpty { node[path: "spec", "taints"] = .array(taints) }
    if unschedulable { node[path: "spec", "unschedulable"] = true }
    return node
}

func makePod(_ name: String, cpu: String? = nil, memory: String? = nil, spec extra: JSONValue = [:],
             owner: JSONValue? = nil, hostPort: Int64? = nil) -> JSONValue {
    var container: JSONValue = ["name": "c", "image": "nginx"]
    if let cpu { container[path: "resources", "requests", "cpu"] = .string(cpu) }
    if let memory { container[path: "resources", "requests", "memory"] = .string(memory) }
    if let hostPort { container["ports"] = [["containerPort": .int(hostPort), "hostPort": .int(hostPort)]] }
    var pod: JSONValue = ["apiVersion": "v1", "kind": "Pod", "metadata": ["name": .string(name), "namespace": "default"],
                          "spec": ["containers": [container]]]
    for (key, value) in extra.objectValue ?? JSONObject() { pod[path: "spec", key] = value }
    if let owner {
        pod[path: "metadata", "ownerReferences"] = [[
            "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": owner[path: "metadata", "name"] ?? "",
            "uid": owner[path: "metadata", "uid"] ?? "", "controller": true,
        ]]
    }
    return pod
}

func makeReplicaSet(_ name: String) -> JSONValue {
    ["apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": ["name": .string(name), "namespace": "default"],
     "spec": ["replicas": 1, "selector": ["matchLabels": ["app": .string(name)]],
              "template": ["metadata": ["labels": ["app": .string(name)]],
                           "spec": ["containers": [["name": "c", "image": "nginx"]]]]]]
}
