import Foundation
import Synchronization
import SwiftletAPI
import SwiftletClient
import SwiftletMachinery

/// The node's side of the node lifecycle: registers the Node, renews its Lease every 10
/// seconds, and re-posts its status when it changes or once a minute, as a kubelet does.
final class NodeRegistration: Sendable {
    private let config: NodeAgentConfig
    private let client: APIClient
    private let clock: any Clock
    private let log: LogSink
    private let runtimeVersion: String
    private let nodeUID = Mutex<String?>(nil)
    /// Where the API server reaches this node's logs and exec: the agent's streaming port when it serves
    /// one, else the kubelet's usual port (an in-process agent is reached without it).
    private let streamingPort = Mutex<Int64>(NodeObjects.kubeletPort)
    private let readySince: Date
    private let images: @Sendable () -> [NodeImage]

    static let leaseInterval: Duration = .seconds(10)
    static let statusInterval: Duration = .seconds(60)

    init(config: NodeAgentConfig, client: APIClient, clock: any Clock, runtimeVersion: String, log: @escaping LogSink,
         images: @escaping @Sendable () -> [NodeImage]) {
        self.images = images
        self.config = config
        self.client = client
        self.clock = clock
        self.runtimeVersion = runtimeVersion
        self.log = log
        self.readySince = clock.now
    }

    func advertise(streamingPort port: Int) {
        streamingPort.withLock { $0 = Int64(port) }
    }

    /// Creates the Node, or takes over the one of this name, and returns its pod CIDR once the
    /// node has one (set here from the configuration, or assigned by the control plane).
    func register() async -> String {
        while !Task.isCancelled {
            do {
                let node: JSONValue
                do {
                    node = try await client.create(Resources.nodes, nodeObject())
                } catch {
                    guard error.code == 409 else { throw error }
                    var patch: JSONValue = ["metadata": ["labels": NodeObjects.labels(hostname: config.nodeName)]]
                    if let cidr = config.podCIDR { patch["spec"] = ["podCIDR": .string(cidr), "podCIDRs": [.string(cidr)]] }
                    _ = try await client.patch(Resources.nodes, name: config.nodeName, .merge(patch))
                    node = try await postStatus()
                }
                nodeUID.withLock { $0 = node[path: "metadata", "uid"]?.stringValue }
                if let cidr = node[path: "spec", "podCIDR"]?.stringValue { return cidr }
                if let cidr = try await waitForPodCIDR() { return cidr }
            } catch {
                log("node agent: registering node \(config.nodeName) failed: \(error)")
                try? await clock.sleep(for: .seconds(1))
            }
        }
        return config.podCIDR ?? ""
    }

    private func waitForPodCIDR() async throws(APIError) -> String? {
        while !Task.isCancelled {
            let node = try await client.get(Resources.nodes, name: config.nodeName)
            if let cidr = node[path: "spec", "podCIDR"]?.stringValue { return cidr }
            try? await clock.sleep(for: .milliseconds(200))
        }
        return nil
    }

    /// Renews the lease and re-posts status until cancelled.
    func heartbeat() async {
        var sinceStatus: Duration = .zero
        while !Task.isCancelled {
            await renewLease()
            if sinceStatus >= Self.statusInterval {
                sinceStatus = .zero
                do { _ = try await postStatus() } catch { log("node agent: posting node status failed: \(error)") }
            }
            try? await clock.sleep(for: Self.leaseInterval)
            sinceStatus += Self.leaseInterval
        }
    }

    private func renewLease() async {
        let lease = NodeObjects.lease(node: config.nodeName, nodeUID: nodeUID.withLock { $0 }, now: clock.now)
        do {
            _ = try await client.patch(Resources.leases, namespace: NodeObjects.leaseNamespace, name: config.nodeName,
                                       .merge(["spec": lease["spec"] ?? [:]]))
        } catch {
            guard error.code == 404 else { return log("node agent: renewing lease failed: \(error)") }
            do {
                _ = try await client.create(Resources.leases, namespace: NodeObjects.leaseNamespace, lease)
            } catch {
                log("node agent: creating lease failed: \(error)")
            }
        }
    }

    @discardableResult
    func postStatus() async throws(APIError) -> JSONValue {
        try await client.patch(Resources.nodes, name: config.nodeName, .merge(["status": status()]), subresource: "status")
    }

    private func nodeObject() -> JSONValue {
        var node: JSONValue = [
            "apiVersion": "v1", "kind": "Node",
            "metadata": ["name": .string(config.nodeName), "labels": NodeObjects.labels(hostname: config.nodeName),
                         "annotations": ["node.alpha.kubernetes.io/ttl": "0"]],
            "spec": [:],
            "status": status(),
        ]
        if let cidr = config.podCIDR { node["spec"] = ["podCIDR": .string(cidr), "podCIDRs": [.string(cidr)]] }
        return node
    }

    /// The Node as events name it.
    func eventTarget() -> JSONValue {
        var metadata: JSONValue = ["name": .string(config.nodeName)]
        if let uid = nodeUID.withLock({ $0 }) { metadata["uid"] = .string(uid) }
        return ["apiVersion": "v1", "kind": "Node", "metadata": metadata]
    }

    private func status() -> JSONValue {
        let resources = MachineResources.capacity(dataDirectory: config.dataDirectory, maxPods: config.maxPods)
        return [
            "capacity": resources, "allocatable": resources,
            "conditions": NodeObjects.conditions(now: clock.now, readySince: readySince),
            "addresses": [["type": "InternalIP", "address": .string(config.nodeIP)],
                          ["type": "Hostname", "address": .string(config.nodeName)]],
            "daemonEndpoints": ["kubeletEndpoint": ["Port": .int(streamingPort.withLock { $0 })]],
            "nodeInfo": NodeObjects.nodeInfo(machineID: NodeObjects.machineID(config.nodeName),
                                             containerRuntimeVersion: runtimeVersion),
            "images": .array(images().map { image in
                ["names": .array(image.names.map { .string($0) }), "sizeBytes": .int(image.sizeBytes)]
            }),
        ]
    }
}
