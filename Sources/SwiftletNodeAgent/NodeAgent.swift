import Foundation
import Synchronization
import SwiftletAPI
import SwiftletAPIServer
import SwiftletClient
import SwiftletImages
import SwiftletMachinery
import SwiftletPodNetwork
import SwiftletRuntime

/// The node agent, Swiftlet's kubelet: registers this machine as a Node, heartbeats, and runs
/// the pods bound to it as runc containers in their own network namespaces on the node's
/// bridge, with volumes, probes, restarts and status, as Kubernetes' kubelet does.
///
/// Pods are followed through a shared informer and synced from a work queue keyed by
/// namespace/name (never two workers on one pod). A sync compares what runs with what the pod
/// asks for, acts, and writes the pod's status. Container exits are noticed by a monitor that
/// looks at the runtime's exit files, and probe results by the prober; both requeue the pod.
public final class NodeAgent: Sendable {
    public let config: NodeAgentConfig
    let client: APIClient
    let clock: any Clock
    let log: LogSink
    let pods: SharedInformer
    /// The ConfigMaps and Secrets the node's pods name, each watched on its own.
    let referencedObjects: ReferencedObjects
    let queue: WorkQueue<ObjectKey>
    let runtime: any ContainerRuntimeService
    let images: any ImageService
    let imagePulls: ImagePullManager
    let serviceAccountTokens: ServiceAccountTokenManager
    let events: EventRecorder
    let registration: NodeRegistration
    /// Made once the node has its pod CIDR.
    let network = Mutex<(any PodNetworkService)?>(nil)
    private let makeNetwork: @Sendable (String) -> any PodNetworkService
    /// What runs, by pod uid.
    let records = Mutex<[String: PodRecord]>([:])
    let allocatable: JSONValue
    let podsDirectory: String
    let probes: ProbeManager
    let nodeServices: NodeServices

    public static let runtimeVersion = "runc://1.1"

    /// An agent on this machine: runc containers, the node's bridge, its image store.
    public convenience init(config: NodeAgentConfig, client: APIClient, informers: SharedInformerFactory,
                            clock: any Clock = SystemClock(), log: @escaping LogSink = ClientLog.standardError) throws(ImageError) {
        let runtime = ContainerRuntime(stateDirectory: config.dataDirectory + "/containers",
                                       runcRoot: config.runDirectory + "/runc",
                                       shimPath: config.programDirectory + "/swiftlet-shim", runcPath: config.runcPath)
        let images = try NodeImages(config: config, log: log)
        self.init(config: config, client: client, informers: informers, clock: clock, log: log,
                  runtime: runtime, images: images) { podCIDR in
            PodNetwork(config: Self.networkConfig(bridgeName: config.bridgeName, podCIDR: podCIDR, dataDirectory: config.dataDirectory))
        }
    }

    /// An agent on the given runtime, image service and pod network (made once the node has its pod CIDR).
    init(config: NodeAgentConfig, client: APIClient, informers: SharedInformerFactory, clock: any Clock, log: @escaping LogSink,
         runtime: any ContainerRuntimeService, images: any ImageService,
         makeNetwork: @escaping @Sendable (String) -> any PodNetworkService) {
        self.config = config
        self.client = client
        self.clock = clock
        self.log = log
        // Only this node's pods: what the Node authorizer lets a node list and watch.
        let pods = SharedInformer(client: client, resource: Resources.pods, fieldSelector: "spec.nodeName=\(config.nodeName)",
                                  indexers: [.namespace], clock: clock, log: log)
        self.pods = pods
        let queue = WorkQueue<ObjectKey>(clock: clock, backoff: ItemBackoff(base: .milliseconds(200), max: .seconds(30)))
        self.queue = queue
        self.runtime = runtime
        self.images = images
        self.makeNetwork = makeNetwork
        let events = EventRecorder(client: client, component: "kubelet", host: config.nodeName, clock: clock, log: log)
        self.events = events
        self.imagePulls = ImagePullManager(images: images, events: events, clock: clock) { key, delay in
            if delay > .zero { queue.addAfter(key, delay) } else { queue.add(key) }
        }
        self.serviceAccountTokens = ServiceAccountTokenManager(client: client, clock: clock)
        self.registration = NodeRegistration(config: config, client: client, clock: clock,
                                             runtimeVersion: Self.runtimeVersion, log: log,
                                             images: { images.nodeStatusImages() })
        self.allocatable = MachineResources.capacity(dataDirectory: config.dataDirectory, maxPods: config.maxPods)
        self.podsDirectory = config.dataDirectory + "/pods"
        self.nodeServices = NodeServices(config: config, client: client, informers: informers, events: events, clock: clock, log: log)
        self.probes = ProbeManager(
            clock: clock,
            exec: { [runtime] id, command, timeout in await Self.execProbe(runtime: runtime, id: id, command: command, timeout: timeout) },
            onChange: { queue.add($0) },
            onFailure: { key, _, message in
                if let pod = pods.get(key) { events.event(pod, type: .warning, reason: "Unhealthy", message: message) }
            })

        let nodeName = config.nodeName
        let mine: @Sendable (JSONValue) -> ObjectKey? = { pod in
            pod[path: "spec", "nodeName"]?.stringValue == nodeName ? ObjectKey(pod) : nil
        }
        pods.addEventHandler(EventHandler(
            onAdd: { pod in if let key = mine(pod) { queue.add(key) } },
            // Not for the status the agent itself wrote: a sync follows what the pod asks for.
            onUpdate: { old, pod in if let key = mine(pod), Self.specChanged(old, pod) { queue.add(key) } },
            onDelete: { pod in if let key = mine(pod) { queue.add(key) } }))
        // A changed ConfigMap or Secret reaches the volumes of the pods that use it.
        self.referencedObjects = ReferencedObjects(client: client, clock: clock, log: log) { reference in
            for pod in pods.byIndex(name: Indexer.namespace.name, value: reference.namespace)
            where mine(pod) != nil && PodReferences.names(pod, reference.kind).contains(reference.name) {
                if let key = ObjectKey(pod) { queue.add(key) }
            }
        }
    }

    /// Registers the node, adopts what already runs, then syncs pods until cancelled.
    public func run() async {
        let podCIDR = await registration.register()
        if Task.isCancelled { return }
        NodeAgentCleanup.write(.init(nodeName: config.nodeName, bridgeName: config.bridgeName, podCIDR: podCIDR,
                                     runDirectory: config.runDirectory), dataDirectory: config.dataDirectory)
        let network = makeNetwork(podCIDR)
        do {
            try network.ensureBridge()
        } catch {
            log("node agent: setting up the pod network failed: \(error)")
        }
        self.network.withLock { $0 = network }
        let informers = [pods] + nodeServices.informers
        for informer in informers { informer.start() }
        for informer in informers { guard await informer.waitForSync() else { return } }
        // Services and DNS answer before any pod starts.
        if let gateway = network.gatewayAddress {
            await nodeServices.start(bridgeAddress: gateway)
            try? await nodeServices.sync()
        }
        adoptRunningContainers()
        let preloading = Task { [images, registration] in
            await images.preload()
            try? await registration.postStatus()
        }
        defer { preloading.cancel() }
        let runner = ControllerRunner(name: "node-agent", queue: queue, workers: config.workers, log: log) { key in
            try await self.sync(key)
        }
        await withDiscardingTaskGroup { group in
            group.addTask { await runner.run() }
            group.addTask { await self.registration.heartbeat() }
            group.addTask { await self.watchContainerExits() }
            group.addTask { await self.nodeServices.run() }
            group.addTask { await self.collectImageGarbage() }
        }
        referencedObjects.stop()
        pods.stop()
        // Stopped: the node's Service rules and DNS go, its pods keep running (a restarted
        // agent adopts them and writes the rules again).
        await nodeServices.shutDown()
    }

    /// The kubelet's image garbage collection, every five minutes: images no container of
    /// this node uses go, least recently used first, when the image filesystem fills up.
    private func collectImageGarbage() async {
        var failedBefore = false
        while !Task.isCancelled {
            let inUse = records.withLock { records in
                Set(records.values.flatMap { ($0.containers.values.compactMap(\.image)) + $0.initContainers.values.compactMap(\.image) })
            }
            if let shortfall = await images.collectGarbage(inUse: inUse) {
                let node = registration.eventTarget()
                events.event(node, type: .warning, reason: "FreeDiskSpaceFailed", message: shortfall)
                if failedBefore { events.event(node, type: .warning, reason: "ImageGCFailed", message: shortfall) }
                failedBefore = true
            } else {
                failedBefore = false
            }
            try? await clock.sleep(for: .seconds(300))
        }
    }

    /// Requeues pods whose containers have exited, by looking at the runtime's exit records:
    /// a stat per running container every 200 ms.
    private func watchContainerExits() async {
        while !Task.isCancelled {
            let running = records.withLock { records in
                records.values.flatMap { record in
                    (Array(record.containers.values) + Array(record.initContainers.values))
                        .compactMap { c in c.runtimeID.map { (record.key, $0) } }
                }
            }
            for (key, id) in running {
                if case .exited = runtime.state(id: id) { queue.add(key) }
            }
            try? await clock.sleep(for: .milliseconds(200))
        }
    }

    /// Network namespaces are named after the bridge, so agents sharing a machine never collide.
    static func networkConfig(bridgeName: String, podCIDR: String, dataDirectory: String) -> PodNetworkConfig {
        PodNetworkConfig(bridgeName: bridgeName, podCIDR: podCIDR, stateDirectory: dataDirectory + "/network",
                         netnsPrefix: bridgeName + "-")
    }

    /// Whether an update changed more than the pod's status (and the metadata every write changes).
    static func specChanged(_ old: JSONValue, _ new: JSONValue) -> Bool {
        func essence(_ pod: JSONValue) -> JSONValue {
            var pod = pod
            pod["status"] = nil
            pod[path: "metadata", "resourceVersion"] = nil
            pod[path: "metadata", "managedFields"] = nil
            return pod
        }
        return essence(old) != essence(new)
    }

    static func execProbe(runtime: any ContainerRuntimeService, id: String, command: [String], timeout: Duration) async -> NetworkProbes.Outcome {
        let process: ExecProcess
        do {
            process = try runtime.exec(id: id, command: command, tty: false, environment: [])
        } catch {
            return .failure(error.description)
        }
        let output = Mutex<[UInt8]>([])
        let collect: @Sendable ([UInt8]) async -> Void = { chunk in output.withLock { $0 += chunk } }
        let streams = ContainerStreams(stdin: nil, resize: nil, stdout: collect, stderr: collect)
        let timedOut = Task {
            try await Task.sleep(for: timeout)
            process.kill()
        }
        let code = await AgentStreaming.pump(process, streams)
        timedOut.cancel()
        if code == 137, (try? await timedOut.value) != nil { return .failure("command timed out") }
        let text = String(decoding: output.withLock { $0 }.prefix(10 * 1024), as: UTF8.self)
        return code == 0 ? .success : .failure(text.isEmpty ? "command exited with \(code)" : text)
    }
}
