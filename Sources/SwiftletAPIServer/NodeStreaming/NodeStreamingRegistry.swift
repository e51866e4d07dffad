import Synchronization

/// The node agents reachable from this API server, by node name: where `pods/log`, `pods/exec` and
/// `pods/attach` requests go (upstream dials the node's kubelet instead).
public final class NodeStreamingRegistry: Sendable {
    private let backends = Mutex<[String: any NodeStreamingBackend]>([:])

    public init() {}

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
