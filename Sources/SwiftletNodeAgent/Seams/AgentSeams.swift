import SwiftletImages
import SwiftletPodNetwork
import SwiftletRuntime

/// The container runtime as the agent uses it; `ContainerRuntime` (runc) in the agent, a fake
/// in the tests of its decisions.
protocol ContainerRuntimeService: Sendable {
    func start(_ spec: ContainerSpec) throws(RuntimeError) -> ContainerState
    func state(id: String) -> ContainerState
    func stop(id: String, gracePeriod: Duration) async
    func remove(id: String)
    func containerIDs() -> [String]
    func exec(id: String, command: [String], tty: Bool, environment: [String]) throws(RuntimeError) -> ExecProcess
}

extension ContainerRuntime: ContainerRuntimeService {}

/// The node's pod network: sandboxes (a network namespace and an address per pod) on its bridge.
protocol PodNetworkService: Sendable {
    var gatewayAddress: String? { get }
    func ensureBridge() throws(PodNetworkError)
    func setUp(podID: String) throws(PodNetworkError) -> PodSandboxNetwork
    func tearDown(podID: String) throws(PodNetworkError)
    func sandboxes() -> [String: PodSandboxNetwork]
}

extension PodNetwork: PodNetworkService {}

/// The node's images: what is stored, pulls, and what the node status lists.
protocol ImageService: Sendable {
    /// The stored image a reference names, if it is complete.
    func local(_ reference: ImageReference) -> ResolvedImage?
    /// Pulls the image (or builds a built-in one); concurrent pulls of one reference with the
    /// same credentials are done once.
    func pull(_ reference: ImageReference, credentials: [RegistryCredential]) async throws(ImageError) -> ResolvedImage
    /// Keeps garbage collection (of any process) from removing images while a container is
    /// being started from one; nil when there is nothing to hold.
    func holdContent() -> StoreLock?
    /// A container was started from this image (for least-recently-used collection).
    func markUsed(_ image: ResolvedImage)
    /// `status.images` of the node.
    func nodeStatusImages() -> [NodeImage]
    /// At start: what the node should have before pods ask (airgap archives, built-in images).
    func preload() async
    /// Frees disk by the kubelet's image GC policy, sparing the images named; returns the
    /// FreeDiskSpaceFailed message when it could not free enough.
    func collectGarbage(inUse: Set<String>) async -> String?
}

/// An image ready to run a container from.
struct ResolvedImage: Sendable, Equatable {
    /// The stored name, `docker.io/library/nginx:1.17-alpine`: the container status's `image`.
    var name: String
    /// `repository@sha256:…`: the container status's `imageID`.
    var imageID: String
    /// Bytes of its content, as the "Successfully pulled" event reports.
    var size: Int64
    var config: ImageConfiguration.RunConfig
    /// Its layer snapshots, topmost first.
    var lowerDirectories: [String]
}

/// One entry of a node's `status.images`.
struct NodeImage: Sendable, Equatable {
    var names: [String]
    var sizeBytes: Int64
}
