import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization
import SwiftletAPIServer
import SwiftletMachinery

/// The network transport: HTTPS/1.1 to an API server, trusting the cluster CA and sending a
/// bearer token, with a small pool of keep-alive connections as Go clients keep them. A watch
/// gets a connection of its own for as long as its stream is read.
public final class HTTPSTransport: Transport {
    private let host: String
    private let port: Int
    private let token: String
    private let tls: NIOSSLContext
    private let group: any EventLoopGroup
    private let idle = Mutex<[Channel]>([])
    private let maxIdle: Int

    /// `caCertificatePEM` is the cluster CA (`DATA_DIR/tls/ca.crt`); the server's name is not
    /// checked against `host`, since agents may reach the server by any of its addresses.
    public convenience init(host: String, port: Int, caCertificatePEM: String, token: String, maxIdleConnections: Int = 8,
                            group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) throws {
        var config = try TLSConfiguration.clusterClient(caCertificatePEM: caCertificatePEM)
        config.applicationProtocols = ["http/1.1"]
        try self.init(host: host, port: port, tls: NIOSSLContext(configuration: config), token: token,
                      maxIdleConnections: maxIdleConnections, group: group)
    }

    /// Authenticates with a client certificate the cluster CA signed instead of a token (a node's own credentials).
    public convenience init(host: String, port: Int, caCertificatePEM: String, clientCertificatePEM: String, clientKeyPEM: String,
                            maxIdleConnections: Int = 8, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) throws {
        var config = try TLSConfiguration.clusterClient(caCertificatePEM: caCertificatePEM, certificatePEM: clientCertificatePEM,
                                                        keyPEM: clientKeyPEM)
        config.applicationProtocols = ["http/1.1"]
        try self.init(host: host, port: port, tls: NIOSSLContext(configuration: config), token: "",
                      maxIdleConnections: maxIdleConnections, group: group)
    }

    init(host: String, port: Int, tls: NIOSSLContext, token: String, maxIdleConnections: Int, group: any EventLoopGroup) {
        self.tls = tls
        self.host = host
        self.port = port
        self.token = token
        self.group = group
        self.maxIdle = maxIdleConnections
    }

    public func send(_ request: HTTPRequest) async -> HTTPResponse {
        do {
            let channel = try await acquire()
            let handler = try await channel.pipeline.handler(type: ResponseHandler.self).get()
            let response = try await handler.send(head(for: request), body: request.body, on: channel)
            switch response.body {
            case .bytes:
                release(channel, reusable: response.headers.first(name: "connection")?.lowercased() != "close")
            case .stream:
                break  // the handler closes the channel when the stream ends or is abandoned
            }
            return response
        } catch {
            return .error(APIError(code: 503, reason: "ServiceUnavailable",
                                   message: "error talking to the API server at \(host):\(port): \(error)"))
        }
    }

    private func head(for request: HTTPRequest) -> HTTPRequestHead {
        var head = HTTPRequestHead(version: .http1_1, method: request.method, uri: request.uri, headers: request.headers)
        head.headers.replaceOrAdd(name: "Host", value: "\(host):\(port)")
        if !token.isEmpty { head.headers.replaceOrAdd(name: "Authorization", value: "Bearer \(token)") }
        head.headers.replaceOrAdd(name: "Content-Length", value: String(request.body.count))
        return head
    }

    private func acquire() async throws -> Channel {
        while let channel = idle.withLock({ $0.popLast() }) {
            if channel.isActive { return channel }
        }
        let tls = self.tls
        return try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: nil))
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ResponseHandler())
                }
            }
            .connect(host: host, port: port).get()
    }

    private func release(_ channel: Channel, reusable: Bool) {
        let kept = reusable && channel.isActive && idle.withLock { pool -> Bool in
            guard pool.count < maxIdle else { return false }
            pool.append(channel)
            return true
        }
        if !kept { channel.close(promise: nil) }
    }
}

/// Turns the response parts of one request at a time into an `HTTPResponse`: a whole body,
/// or, for chunked watch responses, a stream fed as chunks arrive.
private final class ResponseHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    // Touched only on the channel's event loop.
    private var pending: EventLoopPromise<HTTPResponse>?
    private var head: HTTPResponseHead?
    private var body: [UInt8] = []
    private var stream: AsyncStream<[UInt8]>.Continuation?

    func send(_ head: HTTPRequestHead, body: [UInt8], on channel: Channel) async throws -> HTTPResponse {
        let promise = channel.eventLoop.makePromise(of: HTTPResponse.self)
        channel.eventLoop.execute {
            self.pending = promise
            self.head = nil
            self.body = []
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            if !body.isEmpty { channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: body))), promise: nil) }
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        }
        return try await promise.futureResult.get()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            // A chunked success without a length is a watch: hand it over as a stream now.
            if h.headers.first(name: "transfer-encoding")?.lowercased() == "chunked", h.status == .ok {
                let channel = context.channel
                let (chunks, continuation) = AsyncStream<[UInt8]>.makeStream()
                continuation.onTermination = { _ in channel.close(promise: nil) }
                stream = continuation
                pending?.succeed(HTTPResponse(status: h.status, headers: h.headers, body: .stream(chunks)))
                pending = nil
            }
        case .body(var buffer):
            let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
            if let stream { stream.yield(bytes) } else { body += bytes }
        case .end:
            if let stream {
                stream.finish()
                self.stream = nil
            } else if let head {
                pending?.succeed(HTTPResponse(status: head.status, headers: head.headers, body: .bytes(body)))
                pending = nil
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        stream?.finish()
        stream = nil
        pending?.fail(ChannelError.ioOnClosedChannel)
        pending = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        pending?.fail(error)
        pending = nil
        context.close(promise: nil)
    }
}

extension HTTPSTransport {
    /// The server's CA certificate as it serves it at `/cacerts`, fetched without verifying the
    /// server, since that certificate is what the caller is about to check (against the hash a
    /// join token carries). Nothing else may be sent over such a connection.
    public static func unverifiedCACertificate(host: String, port: Int) async throws -> [UInt8] {
        var config = TLSConfiguration.makeClientConfiguration()
        config.certificateVerification = .none
        config.applicationProtocols = ["http/1.1"]
        let transport = HTTPSTransport(host: host, port: port, tls: try NIOSSLContext(configuration: config), token: "",
                                       maxIdleConnections: 0, group: MultiThreadedEventLoopGroup.singleton)
        let response = await transport.send(HTTPRequest(method: .GET, uri: "/cacerts", headers: [:], body: []))
        guard response.status == .ok, case .bytes(let body) = response.body else {
            throw TransportFailure("\(host):\(port)/cacerts answered \(response.status.code)")
        }
        return body
    }
}

public struct TransportFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
