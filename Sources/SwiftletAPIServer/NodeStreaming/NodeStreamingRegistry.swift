import Synchronization

/// The node agents reachable from this API server in-process, by node name: where `pods/log`, `pods/exec`
/// and `pods/attach` requests go. Other nodes' agents are dialled at their Node's address, as upstream
/// dials a kubelet, and shown `remoteToken`.
public final class NodeStreamingRegistry: Sendable {
    private let backends = Mutex<[String: any NodeStreamingBackend]>([:])
    private let token = Mutex<String?>(nil)

    public init() {}

    /// What the API server proves itself with to remote node agents: the node join token, which they
    /// were given too. Without it, remote nodes are not dialled.
    public var remoteToken: String? {
        get { token.withLock { $0 } }
        set { token.withLock { $0 = newValue } }
    }

    /// Routes the node's streaming requests to `backend`, replacing any earlier one.
    public func register(nodeName: String, _ backend: any NodeStreamingBackend) {
        backends.withLock { $0[nodeName] = backend }
    }

    public func unregister(nodeName: String) {
        _ = backends.withLock { $0.removeValue(forKey: nodeName) }
    }

    func backend(for nodeName: String) -> (any NodeStreamingBackend)? {
        backends.withLock { $0[nodeName] }
    }
}
