import NIOCore
import NIOPosix
import NIOSSL

/// One TCP connection of the node streaming protocol (see NodeStreamFrames.swift), either side's.
/// Sends resolve once the bytes are written to the socket, so a close after the last send loses nothing.
public final class NodeStreamConnection: Sendable {
    /// Everything received, in order; finishes when the peer closes the connection. One reader only.
    public let messages: AsyncThrowingStream<NodeStreamMessage, any Error>
    private let channel: any Channel

    /// Takes over a just-accepted or just-connected channel; call on its event loop, before it reads.
    public init(configuring channel: any Channel, expectingHeader: Bool) throws {
        let (messages, continuation) = AsyncThrowingStream.makeStream(of: NodeStreamMessage.self)
        self.messages = messages
        self.channel = channel
        try channel.pipeline.syncOperations.addHandler(
            NodeStreamInboundHandler(codec: NodeStreamCodec(expectingHeader: expectingHeader), messages: continuation))
    }

    /// Dials a node agent over TLS (`tls` trusts the cluster CA and presents the API server's
    /// client certificate; the agent's name is not checked against `host`, as agents are
    /// reached by address).
    public static func connect(host: String, port: Int, tls: NIOSSLContext, timeout: TimeAmount = .seconds(10),
                               group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> NodeStreamConnection {
        try await ClientBootstrap(group: group)
            .connectTimeout(timeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: nil))
                    return try NodeStreamConnection(configuring: channel, expectingHeader: false)
                }
            }
    }

    /// The certificate the peer presented in the TLS handshake (verified by it), if any.
    public func peerCertificate() async -> NIOSSLCertificate? {
        try? await channel.nioSSL_peerCertificate().get()
    }

    public func send(_ frame: NodeStreamFrame) async throws {
        try await write(frame.encoded())
    }

    public func send(_ request: NodeStreamRequest) async throws {
        try await write(request.encoded())
    }

    public func close() {
        channel.close(promise: nil)
    }

    private func write(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(channel.allocator.buffer(bytes: bytes)).get()
    }
}

private final class NodeStreamInboundHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private var codec: NodeStreamCodec
    private let messages: AsyncThrowingStream<NodeStreamMessage, any Error>.Continuation

    init(codec: NodeStreamCodec, messages: AsyncThrowingStream<NodeStreamMessage, any Error>.Continuation) {
        self.codec = codec
        self.messages = messages
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        codec.append(unwrapInboundIn(data).readableBytesView)
        do {
            while let message = try codec.next() { messages.yield(message) }
        } catch {
            messages.finish(throwing: error)
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        messages.finish()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        messages.finish(throwing: error)
        context.close(promise: nil)
    }
}
