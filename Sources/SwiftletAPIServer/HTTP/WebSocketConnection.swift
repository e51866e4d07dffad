import NIOCore
import NIOWebSocket
import Synchronization

/// One upgraded connection, as whole messages (RFC 6455): fragments are joined, pings answered and
/// the closing handshake done here, so sessions deal only with data.
public struct WebSocketConnection: Sendable {
    public enum Message: Sendable, Equatable {
        case binary([UInt8])
        case text(String)
    }

    public struct Closed: Error {}

    /// The client's messages; the stream ends when the client closes or goes away, and the
    /// session is cancelled then.
    public let messages: AsyncStream<Message>
    private let writer: FrameWriter

    /// Sends one binary message. Throws once the connection is closing or gone.
    public func send(_ bytes: [UInt8]) async throws {
        try await writer.write(.binary, ByteBuffer(bytes: bytes))
    }

    /// Starts the closing handshake; later sends throw. 1000 is a normal closure.
    public func close(code: UInt16 = 1000) async {
        await writer.close(WebSocketErrorCode(codeNumber: Int(code)))
    }

    static let maxMessageSize = 1 << 20
    /// How long the client has to answer our Close before the connection is dropped.
    static let closeTimeout: Duration = .seconds(5)

    /// Runs `session` on an upgraded channel, and reads the client's frames meanwhile.
    static func serve(_ channel: NIOAsyncChannel<WebSocketFrame, WebSocketFrame>, session: @escaping WebSocketSession) async {
        try? await channel.executeThenClose { inbound, outbound in
            let writer = FrameWriter(outbound)
            let (messages, sink) = AsyncStream<Message>.makeStream()
            let connection = WebSocketConnection(messages: messages, writer: writer)
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    await readFrames(inbound, into: sink, writer: writer)
                    sink.finish()
                }
                group.addTask {
                    await session(connection)
                    await writer.close(.normalClosure)
                    try? await Task.sleep(for: closeTimeout)
                }
                // The client leaving ends the session; the session ending waits for the client's Close.
                await group.next()
                group.cancelAll()
            }
        }
    }

    private static func readFrames(
        _ inbound: NIOAsyncChannelInboundStream<WebSocketFrame>, into sink: AsyncStream<Message>.Continuation, writer: FrameWriter
    ) async {
        var fragments: [UInt8] = []
        var fragmentedOpcode: WebSocketOpcode?
        do {
            for try await frame in inbound {
                switch frame.opcode {
                case .ping:
                    try? await writer.write(.pong, frame.unmaskedData)
                case .pong:
                    break
                case .connectionClose:
                    var data = frame.unmaskedData
                    await writer.close(data.readWebSocketErrorCode() ?? .normalClosure)
                    return
                case .binary, .text, .continuation:
                    var data = frame.unmaskedData
                    let bytes = data.readBytes(length: data.readableBytes) ?? []
                    if frame.opcode == .continuation {
                        guard fragmentedOpcode != nil else { return await writer.close(.protocolError) }
                        fragments += bytes
                    } else {
                        fragmentedOpcode = frame.opcode
                        fragments = bytes
                    }
                    guard fragments.count <= maxMessageSize else { return await writer.close(.messageTooLarge) }
                    if frame.fin, let opcode = fragmentedOpcode {
                        sink.yield(opcode == .text ? .text(String(decoding: fragments, as: UTF8.self)) : .binary(fragments))
                        fragments = []
                        fragmentedOpcode = nil
                    }
                default:
                    return await writer.close(.protocolError)
                }
            }
        } catch {}
    }
}

/// Server frames go out unmasked, whole, and none after our Close.
private final class FrameWriter: Sendable {
    private let outbound: NIOAsyncChannelOutboundWriter<WebSocketFrame>
    private let closing = Mutex(false)

    init(_ outbound: NIOAsyncChannelOutboundWriter<WebSocketFrame>) {
        self.outbound = outbound
    }

    func write(_ opcode: WebSocketOpcode, _ data: ByteBuffer) async throws {
        guard !closing.withLock({ $0 }) else { throw WebSocketConnection.Closed() }
        try await outbound.write(WebSocketFrame(fin: true, opcode: opcode, data: data))
    }

    /// Sends Close once: ours, or the echo of the client's.
    func close(_ code: WebSocketErrorCode) async {
        let first = closing.withLock { closing in
            defer { closing = true }
            return !closing
        }
        guard first else { return }
        var data = ByteBuffer()
        data.write(webSocketErrorCode: code)
        try? await outbound.write(WebSocketFrame(fin: true, opcode: .connectionClose, data: data))
    }
}
