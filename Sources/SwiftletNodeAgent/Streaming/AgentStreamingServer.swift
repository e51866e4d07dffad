import NIOCore
import NIOPosix
import NIOSSL
import SwiftletAPIServer

/// The agent's streaming port (the kubelet's port 10250 upstream): serves the API server's logs, exec and
/// attach requests, in the node streaming protocol, through a local backend. Only TLS is spoken: the
/// caller must present a client certificate the cluster CA signed for the API server
/// (`NodeStreamingRegistry.clientCommonName`), and show `token` (the cluster's node token).
public final class AgentStreamingServer: Sendable {
    /// The port bound: the one asked for, or the one the system chose for port 0.
    public let port: Int
    private let channel: any Channel

    private init(port: Int, channel: any Channel) {
        self.port = port
        self.channel = channel
    }

    public static func start(host: String, port: Int, token: String, tls: NIOSSLContext, backend: any NodeStreamingBackend,
                             group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> AgentStreamingServer {
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                    let connection = try NodeStreamConnection(configuring: channel, expectingHeader: true)
                    Task { await AgentStreamingSession.serve(connection, token: token, backend: backend) }
                }
            }
            .bind(host: host, port: port).get()
        return AgentStreamingServer(port: channel.localAddress?.port ?? port, channel: channel)
    }

    /// Stops accepting; requests under way run to their end.
    public func close() async {
        try? await channel.close()
    }
}

extension NodeAgent {
    /// Serves this node's logs, exec and attach to a remote API server, and advertises the bound port
    /// in the Node's `daemonEndpoints` (call before `run`, which registers the Node).
    public func serveStreaming(host: String, port: Int, token: String, tls: NIOSSLContext) async throws -> AgentStreamingServer {
        let server = try await AgentStreamingServer.start(host: host, port: port, token: token, tls: tls, backend: streaming)
        registration.advertise(streamingPort: server.port)
        return server
    }
}
