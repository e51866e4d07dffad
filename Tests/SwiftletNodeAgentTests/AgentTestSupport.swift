import Foundation
import Synchronization
import Testing
import SwiftletAPI
import SwiftletAPIServer
import SwiftletClient
import SwiftletImages
import SwiftletMachinery
@testable import SwiftletNodeAgent
import SwiftletPodNetwork
import SwiftletRuntime
import SwiftletStorage
import SwiftletTestSupport

/// A node agent on fakes (runtime, images, pod network) against a real API server on a memory
/// store, with a manual clock: its pod syncs are called one at a time by the tests, so each
/// decision (pull, back-off, start order, restart) can be looked at.
final class AgentHarness: Sendable {
    static let node = "node-a"

    let server: APIServer
    let client: APIClient
    let clock: ManualClock
    let informers: SharedInformerFactory
    let agent: NodeAgent
    let runtime = FakeRuntime()
    let images = FakeImages()
    let directory: String

    init() throws {
        let api = try InProcessAPI()
        server = api.server
        client = api.client
        clock = ManualClock()
        informers = SharedInformerFactory(client: client, clock: clock, log: ClientLog.discard)
        directory = "/tmp/swiftlet-agent-test-" + String(UUID().uuidString.prefix(8))
        let agentConfig = NodeAgentConfig(nodeName: Self.node, dataDirectory: directory, runDirectory: directory + "/run",
                                          programDirectory: "/nonexistent", podCIDR: "10.42.0.0/24", bridgeName: "swltest0",
                                          nodeIP: "10.0.0.1")
        agent = NodeAgent(config: agentConfig, client: client, informers: informers, clock: clock, log: ClientLog.discard,
                          runtime: runtime, images: images) { _ in FakeNetwork() }
        agent.network.withLock { $0 = FakeNetwork() }
    }

    func start() async -> Bool {
        agent.pods.start()
        return await agent.pods.waitForSync()
    }

    func stop() {
        agent.referencedObjects.stop()
        agent.pods.stop()
        informers.shutDown()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Creates a pod bound to the agent's node and waits until the agent's cache has it.
    @discardableResult
    func createPod(_ name: String, containers: [JSONValue], initContainers: [JSONValue] = [],
                   extra: JSONValue = [:]) async throws -> JSONValue {
        var spec: JSONValue = ["nodeName": .string(Self.node), "containers": .array(containers),
                               "terminationGracePeriodSeconds": 1]
        if !initContainers.isEmpty { spec["initContainers"] = .array(initContainers) }
        for (key, value) in extra.objectValue ?? JSONObject() { spec[key] = value }
        let pod = try await client.create(Resources.pods, namespace: "default", [
            "apiVersion": "v1", "kind": "Pod", "metadata": ["name": .string(name), "namespace": "default"], "spec": spec,
        ])
        await eventually("pod \(name) in the agent's cache") { agent.pods.get(key(name)) != nil }
        return pod
    }

    func key(_ name: String) -> ObjectKey { ObjectKey(namespace: "default", name: name) }

    func sync(_ name: String) async throws {
        try await agent.sync(key(name))
    }

    /// The container's status as the agent last wrote it.
    func containerStatus(_ pod: String, _ container: String, init isInit: Bool = false) async throws -> JSONValue? {
        let object = try await client.get(Resources.pods, namespace: "default", name: pod)
        let statuses = object[path: "status", isInit ? "initContainerStatuses" : "containerStatuses"]?.arrayValue ?? []
        return statuses.first { $0["name"]?.stringValue == container }
    }

    func waiting(_ pod: String, _ container: String, init isInit: Bool = false) async throws -> (reason: String?, message: String?) {
        let status = try await containerStatus(pod, container, init: isInit)
        return (status?[path: "state", "waiting", "reason"]?.stringValue, status?[path: "state", "waiting", "message"]?.stringValue)
    }

    /// Messages of the events about `pod` with `reason`, once the recorder has written them.
    func events(_ pod: String, reason: String) async throws -> [String] {
        await agent.events.flush()
        return try await client.list(Resources.events, namespace: "default").items
            .filter { $0[path: "involvedObject", "name"]?.stringValue == pod && $0["reason"]?.stringValue == reason }
            .compactMap { $0["message"]?.stringValue }
    }

    static func container(_ name: String, image: String = "registry.example/app:1.0", policy: String? = nil,
                          command: [String]? = nil, securityContext: JSONValue? = nil) -> JSONValue {
        var container: JSONValue = ["name": .string(name), "image": .string(image)]
        if let policy { container["imagePullPolicy"] = .string(policy) }
        if let command { container["command"] = .array(command.map { .string($0) }) }
        if let securityContext { container["securityContext"] = securityContext }
        return container
    }
}

/// Containers that exist only in memory; a test ends them with `exit`.
final class FakeRuntime: ContainerRuntimeService {
    struct Container {
        var spec: ContainerSpec
        var state: ContainerState
    }

    private let state = Mutex<(containers: [String: Container], started: [ContainerSpec], failure: RuntimeError?)>(([:], [], nil))

    /// Every spec started, in order.
    var started: [ContainerSpec] { state.withLock { $0.started } }

    /// The next start fails with this error.
    func failNextStart(_ error: RuntimeError) { state.withLock { $0.failure = error } }

    /// The running container of `name` (in any pod) exits with `code`.
    func exit(_ name: String, code: Int32) {
        state.withLock { state in
            for (id, container) in state.containers where ContainerLauncher.parse(runtimeID: id)?.container == name {
                if case .running(_, let startedAt) = container.state {
                    state.containers[id]?.state = .exited(code: code, startedAt: startedAt, finishedAt: Date(), oomKilled: false)
                }
            }
        }
    }

    func start(_ spec: ContainerSpec) throws(RuntimeError) -> ContainerState {
        let result: Result<ContainerState, RuntimeError> = state.withLock { state in
            if let failure = state.failure {
                state.failure = nil
                return .failure(failure)
            }
            let running = ContainerState.running(pid: 4242, startedAt: Date())
            state.containers[spec.id] = Container(spec: spec, state: running)
            state.started.append(spec)
            return .success(running)
        }
        return try result.get()
    }

    func state(id: String) -> ContainerState { state.withLock { $0.containers[id]?.state ?? .unknown } }

    func stop(id: String, gracePeriod: Duration) async {
        state.withLock { state in
            if case .running(_, let startedAt) = state.containers[id]?.state {
                state.containers[id]?.state = .exited(code: 137, startedAt: startedAt, finishedAt: Date(), oomKilled: false)
            }
        }
    }

    func remove(id: String) { state.withLock { _ = $0.containers.removeValue(forKey: id) } }

    func containerIDs() -> [String] { state.withLock { $0.containers.keys.sorted() } }

    func exec(id: String, command: [String], tty: Bool, environment: [String]) throws(RuntimeError) -> ExecProcess {
        throw RuntimeError(.notRunning, "the fake runtime runs no processes")
    }
}

/// Images in memory: `stored` are present; a pull answers from `results` (not found if none),
/// and waits while `hold` is set, so a test can see the agent go on without it.
final class FakeImages: ImageService {
    private struct State {
        var stored: [String: ResolvedImage] = [:]
        var results: [String: Result<ResolvedImage, ImageError>] = [:]
        var pulls: [(reference: String, credentials: [RegistryCredential])] = []
        var held = false
        var waiters: [CheckedContinuation<Void, Never>] = []
        var used: [String] = []
    }

    private let state = Mutex(State())

    static func image(_ name: String, user: String? = nil, entrypoint: [String] = ["/app"]) -> ResolvedImage {
        ResolvedImage(name: name, imageID: name + "@sha256:" + String(repeating: "a", count: 64), size: 1234,
                      config: .init(User: user, Env: ["PATH=/bin"], Entrypoint: entrypoint), lowerDirectories: ["/layers/1"])
    }

    func store(_ reference: String, _ image: ResolvedImage) { state.withLock { $0.stored[ImageReference(reference)!.description] = image } }

    func willPull(_ reference: String, _ result: Result<ResolvedImage, ImageError>) {
        state.withLock { $0.results[ImageReference(reference)!.description] = result }
    }

    var pulls: [(reference: String, credentials: [RegistryCredential])] { state.withLock { $0.pulls } }
    var used: [String] { state.withLock { $0.used } }

    func hold() { state.withLock { $0.held = true } }

    func release() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.held = false
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func local(_ reference: ImageReference) -> ResolvedImage? { state.withLock { $0.stored[reference.description] } }

    func pull(_ reference: ImageReference, credentials: [RegistryCredential]) async throws(ImageError) -> ResolvedImage {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let waits = state.withLock { state -> Bool in
                state.pulls.append((reference.description, credentials))
                if state.held { state.waiters.append(continuation) }
                return state.held
            }
            if !waits { continuation.resume() }
        }
        let result = state.withLock { $0.results[reference.description] }
            ?? .failure(ImageError(.notFound, "failed to pull and unpack image \"\(reference)\": failed to resolve image: \(reference): not found"))
        let image = try result.get()
        state.withLock { $0.stored[reference.description] = image }
        return image
    }

    func holdContent() -> StoreLock? { nil }
    func markUsed(_ image: ResolvedImage) { state.withLock { $0.used.append(image.name) } }
    func nodeStatusImages() -> [NodeImage] { [] }
    func preload() async {}
    func collectGarbage(inUse: Set<String>) async -> String? { nil }
}

/// A pod network that hands out addresses and makes nothing.
final class FakeNetwork: PodNetworkService {
    private let next = Mutex(2)

    var gatewayAddress: String? { "10.42.0.1" }
    func ensureBridge() throws(PodNetworkError) {}

    func setUp(podID: String) throws(PodNetworkError) -> PodSandboxNetwork {
        let host = next.withLock { n -> Int in
            defer { n += 1 }
            return n
        }
        return PodSandboxNetwork(podID: podID, netnsName: "fake-" + podID, netnsPath: "/var/run/netns/fake-" + podID,
                                 ip: "10.42.0.\(host)", prefixLength: 24, gateway: "10.42.0.1", hostVeth: "fake")
    }

    func tearDown(podID: String) throws(PodNetworkError) {}
    func sandboxes() -> [String: PodSandboxNetwork] { [:] }
}
