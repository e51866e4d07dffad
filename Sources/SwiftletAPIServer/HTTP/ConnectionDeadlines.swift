import NIOCore
import NIOHTTP1
import NIOSSL
import NIOTLS

/// How long a connection may take at each step before the server closes it, as Go's HTTP
/// server (and so kube-apiserver) bounds them: a client that never finishes its TLS handshake,
/// its request's head or its body, or sits idle, holds no socket for long.
public struct ConnectionTimeouts: Sendable, Equatable {
    /// From the connection's start to the end of the TLS handshake.
    public var tlsHandshake: Duration
    /// From the connection's start, or the end of the previous response, to a whole request head:
    /// Go's ReadHeaderTimeout and IdleTimeout in one.
    public var requestHead: Duration
    /// From a request's head to the end of its body.
    public var requestBody: Duration

    public init(tlsHandshake: Duration = .seconds(10), requestHead: Duration = .seconds(60), requestBody: Duration = .seconds(60)) {
        self.tlsHandshake = tlsHandshake
        self.requestHead = requestHead
        self.requestBody = requestBody
    }
}

/// Closes a connection whose TLS handshake has not completed in time, then leaves the pipeline.
final class HandshakeDeadline: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let timeout: Duration
    private var timer: Scheduled<Void>?

    init(timeout: Duration) {
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        timer = context.eventLoop.scheduleTask(in: .nanoseconds(Int64(timeout.nanoseconds))) {
            channel.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent {
            timer?.cancel()
            context.pipeline.syncOperations.removeHandler(self, promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }
}

/// Closes an HTTP connection that takes too long to send a request's head (or sits idle
/// between requests) or its body, or that sent what cannot be parsed. No deadline runs while a
/// response is being written: a watch may stream for as long as it lasts.
final class RequestDeadlines: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let timeouts: ConnectionTimeouts
    private var timer: Scheduled<Void>?

    init(timeouts: ConnectionTimeouts) {
        self.timeouts = timeouts
    }

    func handlerAdded(context: ChannelHandlerContext) {
        arm(timeouts.requestHead, context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: arm(timeouts.requestBody, context)
        case .body: break
        case .end:
            timer?.cancel()
            timer = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { arm(timeouts.requestHead, context) }
        context.write(data, promise: promise)
    }

    /// A request the decoder cannot parse has had its 400 (NIO's protocol error handler writes
    /// it, `Connection: close`): the connection is done, whatever stage it was at.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is HTTPParserError { context.close(promise: nil) }
        context.fireErrorCaught(error)
    }

    private func arm(_ timeout: Duration, _ context: ChannelHandlerContext) {
        timer?.cancel()
        let channel = context.channel
        timer = context.eventLoop.scheduleTask(in: .nanoseconds(Int64(timeout.nanoseconds))) {
            channel.close(promise: nil)
        }
    }
}

extension Duration {
    var nanoseconds: Int64 {
        components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }
}
