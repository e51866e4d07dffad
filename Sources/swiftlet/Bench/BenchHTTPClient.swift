import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// A minimal HTTPS/1.1 client for the benchmarks: one keep-alive connection, one request at a
/// time, as a Go client's connection is used. Kept apart from the API server so that the
/// benchmark measures the server from outside, over the same TLS a real client uses.
struct BenchResponse {
    var status: Int
    var body: [UInt8]
}

enum BenchHTTPClient {
    typealias Channel = NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>

    static func connect(host: String, port: Int, tls: NIOSSLContext) async throws -> Channel {
        try await ClientBootstrap(group: .singletonMultiThreadedEventLoopGroup)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: nil))
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try Channel(wrappingChannelSynchronously: channel)
                }
            }
    }

    /// Runs `body` with a function that sends one request and reads its whole response.
    static func withConnection<T: Sendable>(
        host: String, port: Int, tls: NIOSSLContext, token: String,
        _ body: (_ send: (HTTPMethod, String, [UInt8]?) async throws -> BenchResponse) async throws -> T
    ) async throws -> T {
        let channel = try await connect(host: host, port: port, tls: tls)
        return try await channel.executeThenClose { inbound, outbound in
            var responses = inbound.makeAsyncIterator()
            return try await body { method, uri, payload in
                var head = HTTPRequestHead(version: .http1_1, method: method, uri: uri)
                head.headers.add(name: "Host", value: host)
                head.headers.add(name: "Authorization", value: "Bearer \(token)")
                head.headers.add(name: "Accept", value: "application/json")
                if let payload {
                    head.headers.add(name: "Content-Type", value: "application/json")
                    head.headers.add(name: "Content-Length", value: String(payload.count))
                    try await outbound.write(contentsOf: [.head(head), .body(.byteBuffer(ByteBuffer(bytes: payload))), .end(nil)])
                } else {
                    try await outbound.write(contentsOf: [.head(head), .end(nil)])
                }
                var status = 0
                var bytes: [UInt8] = []
                while let part = try await responses.next() {
                    switch part {
                    case .head(let h): status = Int(h.status.code)
                    case .body(var b): bytes += b.readBytes(length: b.readableBytes) ?? []
                    case .end: return BenchResponse(status: status, body: bytes)
                    }
                }
                throw BenchError("connection closed before the response ended")
            }
        }
    }

    /// Opens a watch and calls `onLine` for every event line, until it returns false.
    static func watch(host: String, port: Int, tls: NIOSSLContext, token: String, uri: String,
                      onLine: ([UInt8]) -> Bool) async throws {
        let channel = try await connect(host: host, port: port, tls: tls)
        try await channel.executeThenClose { inbound, outbound in
            var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: uri)
            head.headers.add(name: "Host", value: host)
            head.headers.add(name: "Authorization", value: "Bearer \(token)")
            try await outbound.write(contentsOf: [.head(head), .end(nil)])
            var pending: [UInt8] = []
            for try await part in inbound {
                guard case .body(var b) = part else { continue }
                pending += b.readBytes(length: b.readableBytes) ?? []
                while let newline = pending.firstIndex(of: 0x0A) {
                    let line = Array(pending[..<newline])
                    pending.removeFirst(newline + 1)
                    if !onLine(line) { return }
                }
            }
        }
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
