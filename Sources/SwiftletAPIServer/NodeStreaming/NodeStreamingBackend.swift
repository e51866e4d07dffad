import Foundation
import SwiftletMachinery

/// The node side of `pods/log`, `pods/exec` and `pods/attach`: what a kubelet's streaming server
/// does upstream. A node agent registers one per node with `APIServer.nodeStreaming`.
///
/// The API server has already checked the request (the pod exists and is bound to this node, the
/// container belongs to it, the options are valid), so a backend only runs it. The APIErrors it throws
/// reach the client as a Status: for logs as the HTTP response, for exec and attach on the error channel
/// after the upgrade. For a container that is not running, upstream's kubelet answers logs with
/// `.badRequest("container \"NAME\" in pod \"POD\" is waiting to start: ContainerCreating")`, and exec
/// and attach with an internal error such as `.internalError("container not found (\"NAME\")")`.
public protocol NodeStreamingBackend: Sendable {
    /// The container's log, as the kubelet serves `/containerLogs`. Without `follow` the stream ends at
    /// the end of the log; with it, when the container stops. The stream's termination (`onTermination`)
    /// says the client went away or `limitBytes` was reached (the server cuts the stream there).
    func containerLogs(pod: PodReference, options: PodLogOptions) async throws(APIError) -> AsyncStream<[UInt8]>

    /// Runs `command` in the container with `streams` as its stdio, and returns its exit code once it has
    /// exited and everything it wrote has been passed to `streams`. The calling task is cancelled when
    /// the client goes away; the command should then be stopped.
    func exec(pod: PodReference, container: String, command: [String], tty: Bool,
              streams: ContainerStreams) async throws(APIError) -> Int32

    /// Connects `streams` to the running container's own stdio until it exits, or the client goes away
    /// (the task is cancelled then, and the container keeps running).
    func attach(pod: PodReference, container: String, tty: Bool, streams: ContainerStreams) async throws(APIError)

    /// Connects to `port` on the pod's own loopback, inside its network namespace, as the kubelet's port-forward
    /// does; then carries `input` there (its end half-closes the connection) and passes what comes back to
    /// `output`, until both directions have ended. Throws when the connection cannot be made.
    func portForward(pod: PodReference, port: Int, input: AsyncStream<[UInt8]>,
                     output: @escaping @Sendable ([UInt8]) async -> Void) async throws(APIError)
}

extension NodeStreamingBackend {
    public func portForward(pod: PodReference, port: Int, input: AsyncStream<[UInt8]>,
                            output: @escaping @Sendable ([UInt8]) async -> Void) async throws(APIError) {
        throw .badRequest("port forwarding to pods on this node is not supported")
    }
}

/// Which pod a node-side request is about; `uid` tells apart pods that reuse a name.
public struct PodReference: Sendable, Equatable {
    public var namespace: String
    public var name: String
    public var uid: String

    public init(namespace: String, name: String, uid: String) {
        self.namespace = namespace
        self.name = name
        self.uid = uid
    }
}

/// `PodLogOptions` after validation. `sinceSeconds` arrives as `since`, relative to the server's clock;
/// `limitBytes` is applied by the server.
public struct PodLogOptions: Sendable, Equatable {
    public var container: String
    public var follow: Bool
    public var previous: Bool
    public var timestamps: Bool
    /// The last this many lines only (0: none).
    public var tailLines: Int?
    /// Lines logged at or after this time only.
    public var since: Date?

    public init(container: String, follow: Bool = false, previous: Bool = false, timestamps: Bool = false,
                tailLines: Int? = nil, since: Date? = nil) {
        self.container = container
        self.follow = follow
        self.previous = previous
        self.timestamps = timestamps
        self.tailLines = tailLines
        self.since = since
    }
}

public struct TerminalSize: Sendable, Equatable {
    public var width: UInt16
    public var height: UInt16

    public init(width: UInt16, height: UInt16) {
        self.width = width
        self.height = height
    }
}

/// The stdio of an exec or attach. A stream the client did not ask for is nil: no stdin, or nobody to
/// write stdout or stderr to. With a TTY there is no stderr (as upstream: the terminal merges them).
public struct ContainerStreams: Sendable {
    /// What the client types; finishes when the client closes its stdin.
    public let stdin: AsyncStream<[UInt8]>?
    /// Terminal size changes, with a TTY only; the first comes as soon as the client knows its size.
    public let resize: AsyncStream<TerminalSize>?
    /// Each call sends one message, in order, and returns once it is on its way (backpressure).
    public let stdout: (@Sendable ([UInt8]) async -> Void)?
    public let stderr: (@Sendable ([UInt8]) async -> Void)?

    public init(stdin: AsyncStream<[UInt8]>?, resize: AsyncStream<TerminalSize>?,
                stdout: (@Sendable ([UInt8]) async -> Void)?, stderr: (@Sendable ([UInt8]) async -> Void)?) {
        self.stdin = stdin
        self.resize = resize
        self.stdout = stdout
        self.stderr = stderr
    }
}
