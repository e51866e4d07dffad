import NIOCore
import NIOPosix

/// Moves bytes between a connected stream socket and a pair of byte streams, both ways at once, passing on
/// half-closes: the end of `input` shuts the socket's sending side, and the socket's end of file ends the output.
/// Returns once both directions have ended; the socket is closed then.
public enum SocketPump {
    public static func run(descriptor: Int32, input: AsyncStream<[UInt8]>, output: @escaping @Sendable ([UInt8]) async -> Void) async throws {
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelOption(.allowRemoteHalfClosure, value: true)
                .withConnectedSocket(descriptor) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try NIOAsyncChannel<ByteBuffer, ByteBuffer>(
                            wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
                    }
                }
        } catch {
            close(descriptor)
            throw error
        }
        try await channel.executeThenClose { inbound, outbound in
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await chunk in input { try? await outbound.write(ByteBuffer(bytes: chunk)) }
                    outbound.finish()
                }
                group.addTask {
                    do {
                        for try await chunk in inbound { await output(Array(chunk.readableBytesView)) }
                    } catch {
                        // A reset ends this direction as an end of file does.
                    }
                }
            }
        }
    }
}
