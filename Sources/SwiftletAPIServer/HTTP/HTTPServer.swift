import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import SwiftletAPI
import SwiftletMachinery

/// The HTTPS listener: TLS, HTTP/1.1 with keep-alive, one task per connection, and WebSocket
/// upgrades (exec, attach) for the requests `webSocket` takes.
///
/// HTTP/2 is not offered in ALPN: Go clients then use HTTP/1.1, which every kubectl feature
/// (watch streams, and the WebSocket upgrades of exec) works over.
public final class HTTPServer: Sendable {
    public typealias Handler = @Sendable (HTTPRequest) async -> HTTPResponse
    /// Decides on a request (head only) that asks to switch to WebSocket; nil serves it as an ordinary request.
    public typealias WebSocketHandler = @Sendable (HTTPRequest) async -> WebSocketUpgrade?
    /// Looks at a request's head before any of its body is read: a response refuses it (the
    /// connection then closes without reading the body), nil lets it in.
    public typealias HeadCheck = @Sendable (HTTPRequest) -> HTTPResponse?

    private let host: String
    private let port: Int
    private let tls: NIOSSLContext?
    private let handler: Handler
    private let webSocket: WebSocketHandler?
    private let checkHead: HeadCheck?
    private let timeouts: ConnectionTimeouts
    private let group: MultiThreadedEventLoopGroup

    public init(host: String, port: Int, tls: NIOSSLContext?, group: MultiThreadedEventLoopGroup,
                timeouts: ConnectionTimeouts = ConnectionTimeouts(), checkHead: HeadCheck? = nil,
                webSocket: WebSocketHandler? = nil, handler: @escaping Handler) {
        self.host = host
        self.port = port
        self.tls = tls
        self.group = group
        self.timeouts = timeouts
        self.checkHead = checkHead
        self.webSocket = webSocket
        self.handler = handler
    }

    public struct Bound: Sendable {
        public let port: Int
        let channel: NIOAsyncChannel<PendingConnection, Never>
    }

    /// Binds the socket; call `serve` next. Separate so that start-up can report the port
    /// (and fail on a busy one) before anything else runs.
    public func bind() async throws -> Bound {
        let tls = self.tls
        let webSocket = self.webSocket
        let timeouts = self.timeouts
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                        try channel.pipeline.syncOperations.addHandler(HandshakeDeadline(timeout: timeouts.tlsHandshake))
                    }
                    let kind = try ServerConnection.configure(channel, decide: webSocket)
                    try channel.pipeline.syncOperations.addHandler(RequestDeadlines(timeouts: timeouts))
                    return PendingConnection(channel: channel, kind: kind)
                }
            }
        return Bound(port: channel.channel.localAddress?.port ?? port, channel: channel)
    }

    public func serve(_ bound: Bound) async throws {
        try await withThrowingDiscardingTaskGroup { group in
            try await bound.channel.executeThenClose { connections in
                for try await connection in connections {
                    group.addTask {
                        switch try? await connection.kind.get() {
                        case .http(let channel, let upgradeAsked)?:
                            // The handshake is done once the first request has come.
                            let certificateUser = await ClientCertificateUser.user(of: connection.channel)
                            await self.serveConnection(channel, upgradeAsked: upgradeAsked, certificateUser: certificateUser)
                        case .webSocket(let channel, let session)?:
                            await WebSocketConnection.serve(channel, session: session)
                        case nil:
                            // The client left, or broke the protocol, before its first request was done.
                            try? await connection.channel.close()
                        }
                    }
                }
            }
        }
    }

    private func serveConnection(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>,
                                 upgradeAsked: ServerConnection.UpgradeNotTaken?, certificateUser: UserInfo?) async {
        try? await connection.executeThenClose { inbound, outbound in
            // Requests are read by one task and answered by another, so that a long response
            // (a watch) notices at once when the client goes away: the reader's end cancels it.
            let (requests, requestSink) = AsyncStream<HTTPRequest>.makeStream()
            if case .request(let request) = upgradeAsked { requestSink.yield(request) }
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    do {
                        var head: HTTPRequestHead?
                        var body: [UInt8] = []
                        var tooLarge = false
                        // After a refused head nothing more is kept: the answer goes out, the connection closes.
                        var refused = false
                        for try await part in inbound where !refused {
                            switch part {
                            case .head(let h):
                                // Checked before any body is read: a refused client's body is never buffered.
                                var bare = HTTPRequest(method: h.method, uri: h.uri, headers: h.headers, body: [])
                                bare.certificateUser = certificateUser
                                if let refusal = self.checkHead?(bare) {
                                    var request = bare
                                    request.refusal = refusal
                                    requestSink.yield(request)
                                    requestSink.finish()
                                    refused = true
                                    continue
                                }
                                head = h
                                body = []
                                tooLarge = false
                            case .body(var buffer):
                                // Past the limit the rest is read and dropped, so the answer can still be sent.
                                if tooLarge || body.count + buffer.readableBytes > Self.maxBodySize {
                                    tooLarge = true
                                    body = []
                                } else {
                                    body += buffer.readBytes(length: buffer.readableBytes) ?? []
                                }
                            case .end:
                                if let h = head {
                                    var request = HTTPRequest(method: h.method, uri: h.uri, headers: h.headers, body: body)
                                    request.certificateUser = certificateUser
                                    request.bodyTooLarge = tooLarge
                                    requestSink.yield(request)
                                }
                                head = nil
                            }
                        }
                    } catch {}
                    requestSink.finish()
                }
                group.addTask {
                    if case .answered(let response) = upgradeAsked {
                        try? await Self.write(response, keepAlive: false, to: outbound, channel: connection.channel)
                        return
                    }
                    for await request in requests {
                        // After a request that asked to switch protocols the request decoder reads no more.
                        let keepAlive = request.headers.first(name: "connection")?.lowercased() != "close"
                            && upgradeAsked == nil && request.headers["upgrade"].isEmpty && request.refusal == nil
                        let response: HTTPResponse
                        if let refusal = request.refusal {
                            response = refusal
                        } else if request.bodyTooLarge {
                            response = .error(APIError(code: 413, reason: "RequestEntityTooLarge",
                                                       message: "Request entity too large: limit is \(Self.maxBodySize)"))
                        } else {
                            response = await self.handler(request)
                        }
                        do {
                            try await Self.write(response, keepAlive: keepAlive, to: outbound, channel: connection.channel)
                        } catch {
                            break
                        }
                        if !keepAlive { break }
                    }
                }
                // Whichever ends first (client gone, or the responder stopped) ends the other.
                await group.next()
                group.cancelAll()
            }
        }
    }

    static let maxBodySize = 3 * 1024 * 1024  // Kubernetes' limit for a request body

    /// Whole bodies larger than this are written in slices of it (NIO's default high-water mark).
    static let writeSlice = 64 * 1024

    /// How long a response may wait for the client to take a chunk of a stream (a watch,
    /// followed logs) or the bulk of a whole body before the connection is closed: a reader that
    /// stopped reading holds nothing for long.
    static let streamWriteTimeout: Duration = .seconds(60)

    /// Runs a write; when the client has not taken it in time, the connection is closed, which
    /// fails the write.
    private static func withWriteDeadline(closing channel: any Channel, _ write: @escaping @Sendable () async throws -> Void) async throws {
        // A task scheduled on the event loop, not a sleeping Swift task: cancelling it frees it
        // at once, where a cancelled `Task.sleep` keeps its memory until its deadline, which per
        // chunk of a busy watch added up to hundreds of megabytes. After a timeout the write
        // itself fails on the closed channel.
        let deadline = channel.eventLoop.scheduleTask(in: TimeAmount(streamWriteTimeout)) { channel.close(promise: nil) }
        defer { deadline.cancel() }
        try await write()
    }

    private static func write(
        _ response: HTTPResponse, keepAlive: Bool,
        to outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>, channel: any Channel
    ) async throws {
        var head = HTTPResponseHead(version: .http1_1, status: response.status, headers: response.headers)
        switch response.body {
        case .bytes(let bytes):
            head.headers.replaceOrAdd(name: "Content-Length", value: String(bytes.count))
            if !keepAlive { head.headers.replaceOrAdd(name: "Connection", value: "close") }
            var buffer = ByteBuffer(bytes: bytes)
            guard buffer.readableBytes > Self.writeSlice else {
                try await outbound.write(contentsOf: [.head(head), .body(.byteBuffer(buffer)), .end(nil)])
                return
            }
            // A large body goes in slices, each written once the client has taken the ones
            // before (the writer waits while the channel is not writable): so the response, and
            // the in-flight place it holds, live as long as the client takes to read it, and a
            // client that stops reading is closed at the write deadline.
            try await outbound.write(.head(head))
            while buffer.readableBytes > 0, let slice = buffer.readSlice(length: min(Self.writeSlice, buffer.readableBytes)) {
                try await withWriteDeadline(closing: channel) { try await outbound.write(.body(.byteBuffer(slice))) }
            }
            try await outbound.write(.end(nil))
        case .stream(let chunks):
            head.headers.replaceOrAdd(name: "Transfer-Encoding", value: "chunked")
            try await outbound.write(.head(head))
            for await chunk in chunks {
                try Task.checkCancellation()
                try await withWriteDeadline(closing: channel) { try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: chunk)))) }
            }
            try Task.checkCancellation()
            try await outbound.write(.end(nil))
        }
    }
}
