import Foundation
import SwiftletAPI
import SwiftletAPIServer
import SwiftletClient
import SwiftletMachinery
import SwiftletStorage
@testable import SwiftletSimulation

/// Simulated nodes running on their own task, with their own informers.
struct RunningSimulation {
    let nodes: SimulatedNodes
    let informers: SharedInformerFactory
    let task: Task<Void, Never>

    init(client: APIClient, count: Int, clock: any Clock = SystemClock(), terminationDelay: Duration = .zero) {
        informers = SharedInformerFactory(client: client, clock: clock, log: ClientLog.discard)
        let nodes = SimulatedNodes(client: client, informers: informers, count: count, clock: clock,
                                   log: ClientLog.discard, terminationDelay: terminationDelay)
        self.nodes = nodes
        task = Task { await nodes.run() }
    }

    func stop() async {
        task.cancel()
        await task.value
        informers.shutDown()
    }
}

func simPod(_ name: String, node: String?, namespace: String = "default", labels: JSONValue = [:]) -> JSONValue {
    var pod: JSONValue = ["apiVersion": "v1", "kind": "Pod",
                          "metadata": ["name": .string(name), "namespace": .string(namespace), "labels": labels],
                          "spec": ["containers": [["name": "web", "image": "nginx:1.27"], ["name": "side", "image": "busybox"]]]]
    if let node { pod[path: "spec", "nodeName"] = .string(node) }
    return pod
}

/// True once the pod is gone from the server (404).
func isGone(_ client: APIClient, _ name: String, namespace: String = "default") async -> Bool {
    do {
        _ = try await client.get(Resources.pods, namespace: namespace, name: name)
        return false
    } catch {
        return error.code == 404
    }
}
