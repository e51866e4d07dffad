import NIOCore

/// Serves the UDP socket: answers from the zone are written at once and flushed once per batch of reads; forwarded
/// queries are finished in a task on the socket's event loop and written when the upstream answers.
final class DatagramQueryHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    private let processor: DNSQueryProcessor
    private var executor: EventLoopTaskExecutor?

    init(processor: DNSQueryProcessor) {
        self.processor = processor
    }

    func handlerAdded(context: ChannelHandlerContext) {
        executor = EventLoopTaskExecutor(loop: context.eventLoop)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let client = envelope.remoteAddress
        switch processor.process(Array(envelope.data.readableBytesView), over: .udp) {
        case .reply(let bytes):
            let reply = AddressedEnvelope(remoteAddress: client, data: context.channel.allocator.buffer(bytes: bytes))
            context.write(wrapOutboundOut(reply), promise: nil)
        case .drop:
            break
        case .pending(let pending):
            let (processor, channel) = (processor, context.channel)
            Task(executorPreference: executor) {
                let bytes = await processor.complete(pending)
                channel.writeAndFlush(AddressedEnvelope(remoteAddress: client, data: ByteBuffer(bytes: bytes)), promise: nil)
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }

    /// A UDP socket reports ICMP errors of earlier sends; they concern one client, never the socket.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {}
}

/// Serves one TCP connection: any number of framed queries, answered as each is ready (RFC 7766 allows replies out
/// of order); closed after a quiet spell.
final class StreamQueryHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let processor: DNSQueryProcessor
    private var executor: EventLoopTaskExecutor?

    init(processor: DNSQueryProcessor) {
        self.processor = processor
    }

    func handlerAdded(context: ChannelHandlerContext) {
        executor = EventLoopTaskExecutor(loop: context.eventLoop)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch processor.process(Array(unwrapInboundIn(data).readableBytesView), over: .tcp) {
        case .reply(let bytes):
            context.write(wrapOutboundOut(DNSStreamFrameDecoder.frame(bytes)), promise: nil)
        case .drop:
            context.close(promise: nil)
        case .pending(let pending):
            let (processor, channel) = (processor, context.channel)
            Task(executorPreference: executor) {
                let bytes = await processor.complete(pending)
                channel.writeAndFlush(DNSStreamFrameDecoder.frame(bytes), promise: nil)
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
