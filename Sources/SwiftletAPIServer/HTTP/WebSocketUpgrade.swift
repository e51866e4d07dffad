import NIOCore
import NIOHTTP1
import NIOWebSocket
import Synchronization

/// What runs on a connection once it has switched to WebSocket; the connection closes when it returns.
public typealias WebSocketSession = @Sendable (WebSocketConnection) async -> Void

/// The answer to a request that asks to switch to WebSocket.
public enum WebSocketUpgrade: Sendable {
    /// `101 Switching Protocols`, naming `subprotocol` when there is one, then `session` runs.
    case accept(subprotocol: String?, session: WebSocketSession)
    /// An ordinary response instead (an error Status); the connection stays HTTP.
    case refuse(HTTPResponse)
}

/// An accepted connection, and what it turns out to be once its first request has been read.
struct PendingConnection: Sendable {
    let channel: Channel
    let kind: EventLoopFuture<ServerConnection>
}

/// A connection after its first request has shown whether it switches protocols.
enum ServerConnection: Sendable {
    /// Plain HTTP. `upgradeAsked` is set when the first request asked to switch protocols and did not.
    case http(NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, upgradeAsked: UpgradeNotTaken?)
    case webSocket(NIOAsyncChannel<WebSocketFrame, WebSocketFrame>, WebSocketSession)

    /// How a request that asked to switch protocols, and did not, is answered. The request decoder
    /// stops reading at such a request, so the connection closes after the answer.
    enum UpgradeNotTaken: Sendable {
        /// NIO's upgrade handler consumed the request: it is served from here.
        case request(HTTPRequest)
        /// A refused upgrade: the response is already chosen.
        case answered(HTTPResponse)
        /// The request arrives through the channel as usual (upgrades to other protocols).
        case inChannel
    }
}

extension ServerConnection {
    /// The HTTP/1.1 pipeline with NIO's WebSocket upgrader in front of it. Only a connection's first
    /// request can upgrade, which is how WebSocket clients (kubectl's included) connect: on a new connection.
    static func configure(
        _ channel: Channel, decide: HTTPServer.WebSocketHandler?
    ) throws -> EventLoopFuture<ServerConnection> {
        let decision = Decision()
        var upgraders: [any NIOTypedHTTPServerProtocolUpgrader<ServerConnection>] = []
        if let decide {
            upgraders.append(NIOTypedWebSocketServerUpgrader<ServerConnection>(
                maxFrameSize: WebSocketConnection.maxMessageSize,
                shouldUpgrade: { channel, head in
                    var request = HTTPRequest(method: head.method, uri: head.uri, headers: head.headers, body: [])
                    request.certificateUser = ClientCertificateUser.user(onEventLoop: channel)
                    return channel.eventLoop.makeFutureWithTask { [request] in
                        let answer = await decide(request)
                        decision.state.withLock { $0.answer = answer }
                        guard case .accept(let subprotocol, _)? = answer else { return nil }
                        var headers = HTTPHeaders()
                        if let subprotocol { headers.add(name: "Sec-WebSocket-Protocol", value: subprotocol) }
                        return headers
                    }
                },
                upgradePipelineHandler: { channel, _ in
                    channel.eventLoop.makeCompletedFuture {
                        guard case .accept(_, let session)? = decision.state.withLock({ $0.answer }) else {
                            throw ChannelError.inappropriateOperationForState
                        }
                        // A session (exec, port-forward) is not a series of requests: no request deadlines.
                        let deadlines = try channel.pipeline.syncOperations.handler(type: RequestDeadlines.self)
                        channel.pipeline.syncOperations.removeHandler(deadlines, promise: nil)
                        return .webSocket(try NIOAsyncChannel(wrappingChannelSynchronously: channel), session)
                    }
                }))
        }
        let upgrade = NIOTypedHTTPServerUpgradeConfiguration<ServerConnection>(
            upgraders: upgraders,
            notUpgradingCompletionHandler: { channel in
                channel.eventLoop.makeCompletedFuture {
                    let state = decision.state.withLock { $0 }
                    var notTaken: UpgradeNotTaken?
                    if case .refuse(let response)? = state.answer {
                        notTaken = .answered(response)
                    } else if let head = state.webSocketHead {
                        var request = HTTPRequest(method: head.method, uri: head.uri, headers: head.headers, body: [])
                        request.certificateUser = ClientCertificateUser.user(onEventLoop: channel)
                        notTaken = .request(request)
                    } else if state.otherUpgradeAsked {
                        notTaken = .inChannel
                    }
                    return .http(try NIOAsyncChannel(wrappingChannelSynchronously: channel), upgradeAsked: notTaken)
                }
            })
        let result = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(
            configuration: NIOUpgradableHTTPServerPipelineConfiguration(upgradeConfiguration: upgrade))
        let upgrader = try channel.pipeline.syncOperations.handler(type: NIOTypedHTTPServerUpgradeHandler<ServerConnection>.self)
        try channel.pipeline.syncOperations.addHandler(UpgradeHeadKeeper(decision), position: .before(upgrader))
        return result
    }

    /// What the first request asked for and was answered, for whichever pipeline handler runs next.
    final class Decision: Sendable {
        struct State {
            var answer: WebSocketUpgrade?
            /// The head of a first request that asked for WebSocket.
            var webSocketHead: HTTPRequestHead?
            /// The first request asked for another protocol.
            var otherUpgradeAsked = false
        }
        let state = Mutex(State())
    }
}

/// NIO's upgrade handler drops the head of an upgrade request that it does not upgrade. This keeps
/// that head (so the request is still served), and hides upgrades to anything but WebSocket (kubectl's
/// SPDY fallback, h2c) so that those are plain requests from the start.
private final class UpgradeHeadKeeper: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    private let decision: ServerConnection.Decision

    init(_ decision: ServerConnection.Decision) {
        self.decision = decision
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(var head) = unwrapInboundIn(data) else { return context.fireChannelRead(data) }
        let protocols = head.headers[canonicalForm: "upgrade"]
        if protocols.contains(where: { $0.lowercased() == "websocket" }) {
            decision.state.withLock { $0.webSocketHead = head }
        } else if !protocols.isEmpty {
            decision.state.withLock { $0.otherUpgradeAsked = true }
            head.headers.remove(name: "upgrade")
        }
        context.fireChannelRead(wrapInboundOut(.head(head)))
        // Only a connection's first request can upgrade.
        context.pipeline.syncOperations.removeHandler(self, promise: nil)
    }
}
