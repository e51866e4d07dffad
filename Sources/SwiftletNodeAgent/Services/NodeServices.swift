import Synchronization
import SwiftletAPI
import SwiftletClient
import SwiftletDNS
import SwiftletMachinery
import SwiftletProxy
import SwiftletOffload

/// Services on this node: the proxy's nft table (kube-proxy) and the node's cluster DNS server
/// (CoreDNS, node-local), both rebuilt from the Service and EndpointSlice caches.
///
/// Every change queues one key, so a burst of endpoint updates becomes one rebuild: the whole
/// table is written in one nft transaction, which is what keeps the rules within milliseconds
/// of the EndpointSlices without tracking each change.
final class NodeServices: Sendable {
    static let key = "services"
    let config: NodeAgentConfig
    let services: SharedInformer
    let slices: SharedInformer
    let queue: WorkQueue<String>
    let log: LogSink
    let hostPorts: HostPortReporter
    let clock: any Clock
    private let running = Mutex<(proxy: ServiceProxy, dns: ClusterDNSServer, dnsAddress: String)?>(nil)
    /// The host ports the table serves now: they are not probed again (see HostPortReporter).
    private let servedHostPorts = Mutex<Set<HostPort>>([])
    /// Pods this node is stopping, by uid: requested, and those the applied table leaves out.
    private let withdrawals = Mutex<(requested: Set<String>, applied: Set<String>)>(([], []))

    init(config: NodeAgentConfig, client: APIClient, informers: SharedInformerFactory, events: EventRecorder,
         clock: any Clock, log: @escaping LogSink) {
        self.config = config
        self.log = log
        self.clock = clock
        services = informers.informer(for: Resources.services)
        slices = informers.informer(for: Resources.endpointslices)
        queue = WorkQueue(clock: clock, backoff: ItemBackoff(base: .milliseconds(100), max: .seconds(10)))
        hostPorts = HostPortReporter(client: client, events: events, nodeName: config.nodeName, clock: clock, log: log)
        let queue = self.queue
        let changed = EventHandler(onAdd: { _ in queue.add(Self.key) }, onUpdate: { _, _ in queue.add(Self.key) },
                                   onDelete: { _ in queue.add(Self.key) })
        services.addEventHandler(changed)
        slices.addEventHandler(changed)
    }

    var informers: [SharedInformer] { [services, slices] }

    /// The nft table of a node, named after its bridge so that agents sharing a machine never collide.
    static func tableName(bridgeName: String) -> String { "swiftlet-" + bridgeName }

    static func proxyConfig(bridgeName: String, bridgeAddress: String, config: NodeAgentConfig) -> ServiceProxyConfig {
        ServiceProxyConfig(tableName: tableName(bridgeName: bridgeName), bridgeName: bridgeName, bridgeAddress: bridgeAddress,
                           clusterCIDR: config.clusterCIDR, serviceCIDR: config.serviceCIDR)
    }

    /// Starts the DNS server on the bridge's gateway address, before any pod starts: nginx, for
    /// one, resolves its upstreams once at start-up and gives up if DNS does not answer.
    func start(bridgeAddress: String) async {
        let dns = ClusterDNSServer(configuration: ClusterDNSConfiguration(
            domain: config.clusterDomain, listenAddress: bridgeAddress, port: 53,
            upstreams: ClusterDNSConfiguration.hostUpstreams(excluding: [config.clusterDNS, bridgeAddress]),
            reverseCIDRs: [config.clusterCIDR, config.serviceCIDR]))
        do {
            try await dns.start()
        } catch {
            log("node agent: the cluster DNS server could not start on \(bridgeAddress):53: \(error)")
        }
        let proxy = ServiceProxy(config: Self.proxyConfig(bridgeName: config.bridgeName, bridgeAddress: bridgeAddress, config: config))
        running.withLock { $0 = (proxy, dns, bridgeAddress) }
        queue.add(Self.key)
    }

    func run() async {
        // One worker: rebuilds never overlap, and the last one always sees the latest caches.
        await ControllerRunner(name: "service-proxy", queue: queue, workers: 1, log: log) { [self] _ in
            try await self.sync()
        }.run()
    }

    func sync() async throws {
        guard let (proxy, dns, dnsAddress) = running.withLock({ $0 }) else { return }
        let withdrawn = withdrawals.withLock { $0.requested }
        let catalog = ServiceCatalog.build(services: services.list(), slices: slices.list(), localDNS: dnsAddress,
                                           withdrawn: withdrawn)
        dns.update(catalog.dnsRecords)
        let wanted = catalog.hostPortClaims
        let served = servedHostPorts.withLock { $0 }
        let refused = await Offload.run { HostPortReporter.portsInUse(wanted, served: served) }
        let model = catalog.proxyModel(excludingHostPorts: Set(refused.keys))
        let applied = await Offload.run { () -> Result<Void, ServiceProxyError> in
            Result { () throws(ServiceProxyError) in try proxy.apply(model) }
        }
        try applied.get()
        servedHostPorts.withLock { $0 = Set(wanted.filter { refused[$0] == nil }.map(\.hostPort)) }
        withdrawals.withLock { state in
            state.applied.formUnion(withdrawn)
            // Once no slice lists a pod any more, the EndpointSlices say what the withdrawal said.
            state.requested.formIntersection(catalog.listedPods)
            state.applied.formIntersection(state.requested)
        }
        await hostPorts.report(refused: refused, claims: wanted, services: services)
        // A port some other process holds may be freed: look again later.
        if !refused.isEmpty { queue.addAfter(Self.key, .seconds(5)) }
    }

    /// Takes a pod that is about to be stopped out of every Service on this node and returns
    /// once the rules without it are in place (or after a second at most). Its EndpointSlice
    /// update is on its way, but it races with the SIGTERM: new connections sent to a pod that
    /// has just closed its listening socket would fail, so the node that runs both acts first.
    func withdraw(podUID: String) async {
        guard running.withLock({ $0 != nil }) else { return }
        withdrawals.withLock { _ = $0.requested.insert(podUID) }
        queue.add(Self.key)
        for _ in 0..<200 {
            let done = withdrawals.withLock { $0.applied.contains(podUID) || !$0.requested.contains(podUID) }
            if done { return }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Waits, at most `limit`, until the other nodes have stopped sending new connections to a pod this node is
    /// stopping. Their tables are out of sight, but they follow the same EndpointSlices: once this node's cache no
    /// longer lists the pod as ready, the others have that news too, and `ruleMargin` covers their rule update
    /// (a few tens of milliseconds, see docs/performance.md). A pod no EndpointSlice lists is not waited for.
    func awaitOtherNodesDrained(podUID: String, limit: Duration, ruleMargin: Duration = .milliseconds(150)) async {
        guard running.withLock({ $0 != nil }), !Self.endpoints(of: podUID, in: slices.list()).isEmpty
        else { return }
        let deadline = clock.elapsed + limit
        while clock.elapsed < deadline, Self.endpoints(of: podUID, in: slices.list()).contains(where: Self.isReady) {
            try? await clock.sleep(for: .milliseconds(5))
        }
        try? await clock.sleep(until: min(clock.elapsed + ruleMargin, deadline))
    }

    private static func endpoints(of podUID: String, in slices: [JSONValue]) -> [JSONValue] {
        slices.flatMap { ($0["endpoints"]?.arrayValue ?? []).filter { $0[path: "targetRef", "uid"]?.stringValue == podUID } }
    }

    private static func isReady(_ endpoint: JSONValue) -> Bool {
        endpoint[path: "conditions", "ready"]?.boolValue != false
    }

    /// Removes the node's rules and stops its DNS server; pods keep running.
    func shutDown() async {
        guard let (proxy, dns, _) = running.withLock({ state in defer { state = nil }; return state }) else { return }
        queue.shutDown()
        await dns.stop()
        let removed = await Offload.run { () -> Result<Void, ServiceProxyError> in
            Result { () throws(ServiceProxyError) in try proxy.remove() }
        }
        if case .failure(let error) = removed { log("node agent: removing the service rules failed: \(error)") }
    }
}
