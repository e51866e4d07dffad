import Foundation
import SwiftletClient
import SwiftletMachinery
import SwiftletPodNetwork

/// What the agent knows about one pod it runs, beyond what the API says: its sandbox, and
/// per container the runtime container now running, restarts and how the last run ended.
struct PodRecord: Sendable {
    let key: ObjectKey
    let uid: String
    let startTime: Date
    /// The pod as last seen, for what must be known after it is gone from the API (grace period).
    var pod: JSONValue = [:]
    var sandbox: PodSandboxNetwork?
    /// For a pod in the node's own network namespace (`spec.hostNetwork`), which has no sandbox network: the
    /// node's address, its pod IP.
    var hostNetworkIP: String?
    var volumePaths: [String: String] = [:]
    var containers: [String: ContainerRecord] = [:]
    var initContainers: [String: ContainerRecord] = [:]
    /// The pod's volumes or files could not be set up (a FailedMount): shown as ContainerCreating.
    var setUpError: String?
    /// The status last written, to write only changes.
    var postedStatus: JSONValue?
    /// Set once the pod reached Succeeded or Failed: its containers are never started again.
    var finalPhase: String?

    /// The pod's address: its sandbox's, or the node's for a pod on the host network.
    var podIP: String? { hostNetworkIP ?? sandbox?.ip }
    /// Whether the pod's network is in place, so its containers may start.
    var hasNetwork: Bool { hostNetworkIP != nil || sandbox != nil }

    init(key: ObjectKey, uid: String, startTime: Date) {
        self.key = key
        self.uid = uid
        self.startTime = startTime
    }
}

/// How a container run ended, as `state.terminated` / `lastState.terminated` report it.
struct Termination: Sendable, Equatable {
    var exitCode: Int32
    var reason: String
    var message: String?
    var startedAt: Date?
    var finishedAt: Date
    var containerID: String
}

struct ContainerRecord: Sendable {
    let name: String
    var restartCount = 0
    /// Whether a run was ever attempted; the next start is then a restart.
    var everStarted = false
    /// The runtime container running now (or just exited and not yet looked at).
    var runtimeID: String?
    var startedAt: Date?
    var image: String?
    var imageID: String?
    /// Why no container runs now: ContainerCreating, CrashLoopBackOff, ErrImagePull, ...
    var waiting: (reason: String, message: String?)?
    /// The run before the current one (or before the wait).
    var lastTermination: Termination?
    /// How the container ended for good, when the restart policy does not start it again.
    var terminated: Termination?
    var backoff = RestartBackoff()
    /// When, on the agent's clock, a back-off ends.
    var notBefore: Duration?
    /// Set when the liveness probe has asked for a restart of the current run.
    var killReason: String?

    init(name: String) { self.name = name }

    var isRunning: Bool { runtimeID != nil && terminated == nil }
}
