import Foundation
import Synchronization
import SwiftletClient
import SwiftletImages
import SwiftletMachinery

/// The kubelet's image manager: decides, for a container about to start, whether its image
/// is there or must be pulled (by `imagePullPolicy`), runs the pull beside the pod's sync
/// (which never waits for it), and reports as the kubelet does: the Pulling, Pulled, Failed
/// and BackOff events, and the ErrImagePull, ImagePullBackOff, ErrImageNeverPull and
/// InvalidImageName waiting reasons. Failed pulls back off per pod and image: 10 s, doubled
/// up to 5 minutes, forgotten after 10 minutes without a failure.
final class ImagePullManager: Sendable {
    enum Outcome: Sendable, Equatable {
        case ready(ResolvedImage)
        /// The container waits: the reason and message its status shows.
        case waiting(reason: String, message: String?)
    }

    static let initialBackoff: Duration = .seconds(10)
    static let maximumBackoff: Duration = .seconds(300)

    private let images: any ImageService
    private let events: EventRecorder
    private let clock: any Clock
    private let requeue: @Sendable (ObjectKey, Duration) -> Void
    private let states = Mutex<[String: PullState]>([:])

    private struct PullState {
        var inFlight = false
        /// When the pull was asked for, on the agent's clock: "including waiting" counts from here.
        var requested: Duration = .zero
        var result: Result<(ResolvedImage, took: Duration), ImageError>?
        var backoff: Duration?
        var lastFailure: Duration = .zero
        /// `ErrImagePull: <message>`, appended to the back-off message as the kubelet does since 1.32.
        var lastError: String?
    }

    init(images: any ImageService, events: EventRecorder, clock: any Clock,
         requeue: @escaping @Sendable (ObjectKey, Duration) -> Void) {
        self.images = images
        self.events = events
        self.clock = clock
        self.requeue = requeue
    }

    /// What to do about the container's image now. `credentials` are the pod's pull secrets
    /// matched to the image (called only when a pull starts).
    func ensureImage(pod: JSONValue, key: ObjectKey, container: JSONValue,
                     credentials: @Sendable (ImageReference) -> [RegistryCredential]) -> Outcome {
        let image = container["image"]?.stringValue ?? ""
        guard let reference = ImageReference(image) else {
            let message = "Failed to apply default image tag \"\(image)\": couldn't parse image name \"\(image)\": invalid reference format"
            events.event(pod, type: .warning, reason: "InspectFailed", message: message)
            events.event(pod, type: .warning, reason: "Failed", message: "Error: InvalidImageName")
            return .waiting(reason: "InvalidImageName", message: message)
        }
        let policy = container["imagePullPolicy"]?.stringValue ?? (reference.tag == "latest" ? "Always" : "IfNotPresent")
        let stateKey = (pod[path: "metadata", "uid"]?.stringValue ?? "") + "_" + image

        // A pull this pod asked for comes first: its end is reported once, whatever the policy.
        switch takeFinishedPull(stateKey) {
        case .running:
            return .waiting(reason: "ContainerCreating", message: nil)
        case .succeeded(let pulled, let took, let waited):
            events.event(pod, type: .normal, reason: "Pulled",
                         message: "Successfully pulled image \"\(image)\" in \(Self.goDuration(took)) (\(Self.goDuration(waited)) including waiting). Image size: \(pulled.size) bytes.")
            return .ready(pulled)
        case .failed(let error):
            let message = Self.kubeletMessage(error)
            events.event(pod, type: .warning, reason: "Failed", message: "Failed to pull image \"\(image)\": \(message)")
            events.event(pod, type: .warning, reason: "Failed", message: "Error: ErrImagePull")
            // As the kubelet's pod worker after a failed sync: again in 10 s (still backing off, or pulling anew).
            requeue(key, Self.initialBackoff)
            return .waiting(reason: "ErrImagePull", message: message)
        case .none:
            break
        }

        if policy != "Always", let present = images.local(reference) {
            events.event(pod, type: .normal, reason: "Pulled", message: "Container image \"\(image)\" already present on machine")
            return .ready(present)
        }
        if policy == "Never" {
            let message = "Container image \"\(image)\" is not present with pull policy of Never"
            events.event(pod, type: .warning, reason: "ErrImageNeverPull", message: message)
            events.event(pod, type: .warning, reason: "Failed", message: "Error: ErrImageNeverPull")
            return .waiting(reason: "ErrImageNeverPull", message: message)
        }

        if let (remaining, lastError) = beginPullUnlessBackingOff(stateKey) {
            events.event(pod, type: .normal, reason: "BackOff", message: "Back-off pulling image \"\(image)\"")
            events.event(pod, type: .warning, reason: "Failed", message: "Error: ImagePullBackOff")
            requeue(key, remaining)
            let message = "Back-off pulling image \"\(image)\"" + (lastError.map { ": " + $0 } ?? "")
            return .waiting(reason: "ImagePullBackOff", message: message)
        }
        events.event(pod, type: .normal, reason: "Pulling", message: "Pulling image \"\(image)\"")
        let credentials = credentials(reference)
        let images = self.images
        let clock = self.clock
        Task {
            let started = clock.elapsed
            let result: Result<(ResolvedImage, took: Duration), ImageError>
            do throws(ImageError) {
                result = .success((try await images.pull(reference, credentials: credentials), clock.elapsed - started))
            } catch {
                result = .failure(error)
            }
            self.states.withLock { states in
                states[stateKey, default: PullState()].inFlight = false
                states[stateKey, default: PullState()].result = result
            }
            self.requeue(key, .zero)
        }
        return .waiting(reason: "ContainerCreating", message: nil)
    }

    private enum FinishedPull {
        case none
        case running
        case succeeded(ResolvedImage, took: Duration, waited: Duration)
        case failed(ImageError)
    }

    /// The pull this pod and image started, if it is running or has ended; an ended one is
    /// taken (reported once), and a failure moves the back-off on as flowcontrol.Backoff.Next
    /// does: 10 s after a quiet 10 minutes, else doubled, at most 5 minutes.
    private func takeFinishedPull(_ stateKey: String) -> FinishedPull {
        let now = clock.elapsed
        return states.withLock { states in
            guard var state = states[stateKey] else { return .none }
            defer { states[stateKey] = state }
            if state.inFlight { return .running }
            guard let result = state.result else { return .none }
            state.result = nil
            switch result {
            case .success(let (pulled, took)):
                return .succeeded(pulled, took: took, waited: now - state.requested)
            case .failure(let error):
                let fresh = state.backoff == nil || now - state.lastFailure > Self.maximumBackoff * 2
                state.backoff = fresh ? Self.initialBackoff : min(state.backoff! * 2, Self.maximumBackoff)
                state.lastFailure = now
                state.lastError = "ErrImagePull: " + Self.kubeletMessage(error)
                return .failed(error)
            }
        }
    }

    /// Marks a pull as started, unless the last failure's back-off still runs: then what is
    /// left of it and the last error.
    private func beginPullUnlessBackingOff(_ stateKey: String) -> (Duration, String?)? {
        let now = clock.elapsed
        return states.withLock { states in
            var state = states[stateKey] ?? PullState()
            defer { states[stateKey] = state }
            if let backoff = state.backoff, now - state.lastFailure < backoff {
                return (backoff - (now - state.lastFailure), state.lastError)
            }
            state.inFlight = true
            state.requested = now
            return nil
        }
    }

    /// The pod is gone: its pulls' state goes too (a pull still running finishes for the store).
    func forget(podUID: String) {
        states.withLock { states in states = states.filter { !$0.key.hasPrefix(podUID + "_") } }
    }

    /// A pull error as the kubelet shows it: containerd's message, with the gRPC status prefix
    /// the CRI client keeps for every code but Unknown.
    static func kubeletMessage(_ error: ImageError) -> String {
        switch error.kind {
        case .notFound: return "rpc error: code = NotFound desc = " + error.message
        case .invalidReference: return "rpc error: code = InvalidArgument desc = " + error.message
        default: return error.message
        }
    }

    /// Go's time.Duration formatting, truncated to milliseconds: `583ms`, `8.658s`, `1m2.003s`.
    static func goDuration(_ duration: Duration) -> String {
        let milliseconds = max(0, duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
        if milliseconds < 1000 { return "\(milliseconds)ms" }
        let minutes = milliseconds / 60_000
        let rest = milliseconds % 60_000
        var seconds = String(rest / 1000)
        if rest % 1000 != 0 {
            var fraction = String(rest % 1000)
            fraction = String(repeating: "0", count: 3 - fraction.count) + fraction
            while fraction.hasSuffix("0") { fraction.removeLast() }
            seconds += "." + fraction
        }
        return minutes > 0 ? "\(minutes)m\(seconds)s" : "\(seconds)s"
    }
}
