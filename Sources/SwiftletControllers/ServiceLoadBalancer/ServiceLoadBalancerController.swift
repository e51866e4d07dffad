import SwiftletAPI
import SwiftletClient
import SwiftletMachinery

/// The control-plane half of Swiftlet's load balancer, as k3s's ServiceLB and Docker Desktop
/// do it on one machine: every node serves a LoadBalancer Service's ports on the host (the
/// node agent's proxy does that), so the address clients use is the host itself. This
/// controller publishes it as `status.loadBalancer.ingress = [{hostname: localhost}]`, and
/// takes it away when the Service stops being a LoadBalancer.
///
/// A Service with `spec.loadBalancerClass` belongs to another implementation and is left
/// alone, as the cloud controller manager does.
public final class ServiceLoadBalancerController: Controller {
    public let name = "service-lb"
    public static let ingressHostname = "localhost"
    private let client: APIClient
    private let log: LogSink
    private let services: SharedInformer
    private let queue: WorkQueue<ObjectKey>

    public init(context: ControllerContext) {
        client = context.client(for: "service-controller")
        log = context.log
        services = context.informers.informer(for: Resources.services)
        queue = WorkQueue(clock: context.clock)
        let queue = self.queue
        let enqueue: @Sendable (JSONValue) -> Void = { service in
            if let key = ObjectKey(service), Self.desiredIngress(service) != Self.currentIngress(service) { queue.add(key) }
        }
        services.addEventHandler(EventHandler(onAdd: enqueue, onUpdate: { _, service in enqueue(service) }))
    }

    public func run(workers: Int) async {
        await ControllerRunner(name: name, queue: queue, workers: workers, log: log) { [self] key in
            try await self.sync(key)
        }.run()
    }

    func sync(_ key: ObjectKey) async throws {
        guard let service = services.get(key) else { return }
        let desired = Self.desiredIngress(service)
        guard desired != Self.currentIngress(service) else { return }
        // A JSON merge patch of the whole ingress list: lists are replaced, not merged.
        let ingress: JSONValue = desired.map { .array($0.map { ["hostname": .string($0)] }) } ?? .null
        _ = try await client.patch(Resources.services, namespace: key.namespace, name: key.name,
                                   .merge(["status": ["loadBalancer": ["ingress": ingress]]]), subresource: "status")
    }

    /// The hostnames the Service should publish; nil when it should publish none.
    static func desiredIngress(_ service: JSONValue) -> [String]? {
        guard service[path: "spec", "type"]?.stringValue == "LoadBalancer",
              service[path: "spec", "loadBalancerClass"]?.stringValue == nil else { return nil }
        return [ingressHostname]
    }

    static func currentIngress(_ service: JSONValue) -> [String]? {
        guard let points = service[path: "status", "loadBalancer", "ingress"]?.arrayValue, !points.isEmpty else { return nil }
        return points.map { $0["hostname"]?.stringValue ?? $0["ip"]?.stringValue ?? "" }
    }
}
