import NIOSSL
import Synchronization

/// The node agents reachable from this API server in-process, by node name: where `pods/log`, `pods/exec`
/// and `pods/attach` requests go. Other nodes' agents are dialled at their Node's address, as upstream
/// dials a kubelet, over TLS both ways (`remoteTLS`), and shown `remoteToken`.
public final class NodeStreamingRegistry: Sendable {
    private let backends = Mutex<[String: any NodeStreamingBackend]>([:])
    private let token = Mutex<String?>(nil)
    private let tls = Mutex<NIOSSLContext?>(nil)

    /// The common name of the client certificate the API server dials node agents with, as
    /// kube-apiserver's kubelet client certificate is named; agents serve only it.
    public static let clientCommonName = "kube-apiserver-kubelet-client"

    public init() {}

    /// What the API server proves itself with to remote node agents: the node join token, which they
    /// were given too. Without it, remote nodes are not dialled.
    public var remoteToken: String? {
        get { token.withLock { $0 } }
        set { token.withLock { $0 = newValue } }
    }

    /// The TLS the API server dials remote node agents with: the cluster CA to check them by,
    /// and its client certificate to show them. Without it, remote nodes are not dialled.
    public var remoteTLS: NIOSSLContext? {
        get { tls.withLock { $0 } }
        set { tls.withLock { $0 = newValue } }
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
