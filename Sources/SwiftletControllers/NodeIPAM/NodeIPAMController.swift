import SwiftletAPI
import SwiftletClient
import SwiftletMachinery

/// Kubernetes' node IPAM controller (pkg/controller/nodeipam, the range allocator): gives
/// every node without one a pod CIDR, the lowest /24 of the cluster CIDR that no node has.
/// Nodes that bring their own (`swiftlet agent --pod-cidr`, simulated nodes) keep it, and
/// their ranges are never handed out again.
public final class NodeIPAMController: Controller {
    public let name = "node-ipam"
    private let client: APIClient
    private let log: LogSink
    private let nodes: SharedInformer
    private let queue: WorkQueue<String>
    /// The first two octets of the cluster CIDR (a /16): node ranges are `a.b.N.0/24`.
    private let prefix: (UInt8, UInt8)

    /// - Parameter clusterCIDR: a /16, by default k3s's 10.42.0.0/16.
    public init(context: ControllerContext, clusterCIDR: String = "10.42.0.0/16") {
        client = context.client(for: "node-controller")
        log = context.log
        let octets = clusterCIDR.split(separator: "/")[0].split(separator: ".").compactMap { UInt8($0) }
        prefix = octets.count == 4 ? (octets[0], octets[1]) : (10, 42)
        nodes = context.informers.informer(for: Resources.nodes)
        queue = WorkQueue(clock: context.clock)
        let queue = self.queue
        let enqueue: @Sendable (JSONValue) -> Void = { node in
            if node[path: "spec", "podCIDR"]?.stringValue == nil, let name = node[path: "metadata", "name"]?.stringValue {
                queue.add(name)
            }
        }
        nodes.addEventHandler(EventHandler(onAdd: enqueue, onUpdate: { _, node in enqueue(node) }))
    }

    public func run(workers: Int) async {
        // One worker: two nodes allocated at once could be given the same range.
        await ControllerRunner(name: name, queue: queue, workers: 1, log: log) { [self] name in
            try await self.sync(name)
        }.run()
    }

    func sync(_ name: String) async throws {
        guard let node = nodes.get(name: name), node[path: "spec", "podCIDR"]?.stringValue == nil else { return }
        let used = Set(nodes.list().compactMap { $0[path: "spec", "podCIDR"]?.stringValue })
        guard let cidr = (0...255).lazy.map({ "\(self.prefix.0).\(self.prefix.1).\($0).0/24" }).first(where: { !used.contains($0) }) else {
            log("node-ipam: no pod CIDR left for node \(name)")
            return
        }
        // Validation keeps podCIDR once set, so a node that set its own meanwhile keeps it.
        _ = try await client.patch(Resources.nodes, name: name,
                                   .merge(["spec": ["podCIDR": .string(cidr), "podCIDRs": [.string(cidr)]]]))
    }
}
