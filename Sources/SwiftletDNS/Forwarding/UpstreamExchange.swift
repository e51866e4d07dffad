import NIOCore
import NIOPosix

/// Why one upstream gave no answer.
enum UpstreamError: Error, Equatable {
    case timedOut
    case connectionFailed(String)
    /// The connection closed, or the socket reported an error (ICMP port unreachable shows up as ECONNREFUSED on a
    /// connected UDP socket, which moves us to the next upstream without waiting for the timeout).
    case failed(String)
}

/// One query to one upstream, over a socket of its own (a fresh source port and ID per query, which is what makes
/// forged answers hard to slip in).
enum UpstreamExchange {
    static func overUDP(
        _ query: [UInt8], id: UInt16, to upstream: SocketAddress, timeout: TimeAmount, on loop: any EventLoop
    ) async throws(UpstreamError) -> [UInt8] {
        let reply = loop.makePromise(of: [UInt8].self)
        let bootstrap = DatagramBootstrap(group: loop).channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(
                    UpstreamReplyHandler<AddressedEnvelope<ByteBuffer>>(id: id, reply: reply, payload: \.data))
            }
        }
        return try await exchange(query, reply: reply, timeout: timeout, connect: bootstrap.connect(to: upstream)) {
            ByteBuffer(bytes: $0)
        }
    }

    static func overTCP(
        _ query: [UInt8], id: UInt16, to upstream: SocketAddress, timeout: TimeAmount, on loop: any EventLoop
    ) async throws(UpstreamError) -> [UInt8] {
        let reply = loop.makePromise(of: [UInt8].self)
        let bootstrap = ClientBootstrap(group: loop).connectTimeout(timeout).channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(DNSStreamFrameDecoder()))
                try channel.pipeline.syncOperations.addHandler(UpstreamReplyHandler<ByteBuffer>(id: id, reply: reply, payload: \.self))
            }
        }
        return try await exchange(query, reply: reply, timeout: timeout, connect: bootstrap.connect(to: upstream)) {
            DNSStreamFrameDecoder.frame($0)
        }
    }

    private static func exchange(
        _ query: [UInt8], reply: EventLoopPromise<[UInt8]>, timeout: TimeAmount, connect: EventLoopFuture<any Channel>,
        framing: ([UInt8]) -> ByteBuffer
    ) async throws(UpstreamError) -> [UInt8] {
        // The timer covers connecting too; a promise completed twice keeps its first result.
        let timer = reply.futureResult.eventLoop.scheduleTask(in: timeout) { reply.fail(UpstreamError.timedOut) }
        defer { timer.cancel() }
        let channel: any Channel
        do {
            channel = try await connect.get()
        } catch {
            reply.fail(UpstreamError.connectionFailed("\(error)"))
            throw .connectionFailed("\(error)")
        }
        defer { channel.close(promise: nil) }
        channel.writeAndFlush(framing(query)).whenFailure { reply.fail(UpstreamError.failed("\($0)")) }
        do {
            return try await reply.futureResult.get()
        } catch let error as UpstreamError {
            throw error
        } catch {
            throw .failed("\(error)")
        }
    }
}

/// Completes `reply` with the first message that answers our ID; anything else on the socket is ignored.
final class UpstreamReplyHandler<Inbound>: ChannelInboundHandler {
    typealias InboundIn = Inbound

    private let id: UInt16
    private let reply: EventLoopPromise<[UInt8]>
    private let payload: (Inbound) -> ByteBuffer

    init(id: UInt16, reply: EventLoopPromise<[UInt8]>, payload: @escaping (Inbound) -> ByteBuffer) {
        self.id = id
        self.reply = reply
        self.payload = payload
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = Array(payload(unwrapInboundIn(data)).readableBytesView)
        guard let header = DNSHeader(bytes), header.isResponse, header.id == id else { return }
        reply.succeed(bytes)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        reply.fail(UpstreamError.failed("\(error)"))
    }

    func channelInactive(context: ChannelHandlerContext) {
        reply.fail(UpstreamError.failed("connection closed"))
        context.fireChannelInactive()
    }
}
