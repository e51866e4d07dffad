import Foundation
import Glibc
import NIOHTTP1
import NIOPosix
import NIOSSL
import Testing
import SwiftletAPI
import SwiftletMachinery
import SwiftletPKI
import SwiftletTestSupport
@testable import SwiftletAPIServer

/// The HTTP listener against clients that misbehave, on a real socket: what it reads before
/// authenticating, how long it waits for a head, a body or a TLS handshake, what a malformed
/// request gets, and the in-flight limits.
@Suite(.blockingWork) struct ConnectionDefenceTests {
    static let quick = ConnectionTimeouts(tlsHandshake: .milliseconds(500), requestHead: .milliseconds(500), requestBody: .milliseconds(500))

    /// A listener on loopback in front of a test API server; plain HTTP unless `tls`.
    final class Listener: @unchecked Sendable {
        let port: Int
        let serving: Task<Void, Error>
        let directory: String

        init(_ server: APIServer = try! TestServer().server, tls: Bool = false, timeouts: ConnectionTimeouts = quick) async throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-defence-\(UUID().uuidString)").path
            var context: NIOSSLContext?
            if tls {
                let pki = try ClusterPKI.loadOrCreate(dataDirectory: directory, servingNames: try CertificateNames.apiServer(serviceIP: "10.43.0.1"))
                context = try NIOSSLContext(configuration: .makeServerConfiguration(
                    certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(pki.servingCertificatePEM.utf8)).map { .certificate($0) },
                    privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(pki.servingKeyPEM.utf8), format: .pem))))
            }
            let http = HTTPServer(host: "127.0.0.1", port: 0, tls: context, group: .singletonMultiThreadedEventLoopGroup,
                                  timeouts: timeouts, checkHead: { server.checkHead($0) }) { await server.handle($0) }
            let bound = try await http.bind()
            port = bound.port
            serving = Task { try await http.serve(bound) }
        }

        func stop() {
            serving.cancel()
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    @Test func anUnauthenticatedRequestIsRefusedFromItsHeadWithoutReadingItsBody() async throws {
        // No deadline could close the connection here: it is the refusal that does.
        let listener = try await Listener(timeouts: ConnectionTimeouts())
        defer { listener.stop() }
        let client = try LoopbackSocket(port: listener.port)
        // A body of 3 MB announced, none of it sent: the answer comes anyway, and the connection closes.
        try client.write("POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 3000000\r\n\r\n")
        let reply = try #require(await client.untilClosed(), "the server neither answered nor closed")
        #expect(reply.hasPrefix("HTTP/1.1 401 Unauthorized\r\n"))
        #expect(reply.lowercased().contains("connection: close"))
        #expect(reply.contains("\"reason\":\"Unauthorized\""))
    }

    @Test func aHeadSentTooSlowlyOrNotAtAllClosesTheConnection() async throws {
        let listener = try await Listener()
        defer { listener.stop() }
        let idle = try LoopbackSocket(port: listener.port)
        let slow = try LoopbackSocket(port: listener.port)
        try slow.write("GET /api/v1/namespaces HTTP/1.1\r\nHost: x\r\n")  // and never the blank line
        #expect(await idle.untilClosed() == "")
        #expect(await slow.untilClosed() == "")
    }

    @Test func aBodySentTooSlowlyClosesTheConnection() async throws {
        let listener = try await Listener()
        defer { listener.stop() }
        let client = try LoopbackSocket(port: listener.port)
        try client.write("POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(TestServer.token)\r\n"
                    + "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"kind\":")
        #expect(await client.untilClosed() == "")
    }

    @Test func aKeptAliveConnectionServesRequestsAndClosesWhenIdle() async throws {
        let listener = try await Listener()
        defer { listener.stop() }
        let client = try LoopbackSocket(port: listener.port)
        try client.write("GET /version HTTP/1.1\r\nHost: x\r\n\r\n")
        try client.write("GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
        let replies = try #require(await client.untilClosed())
        #expect(replies.components(separatedBy: "HTTP/1.1 200 OK").count == 3)
    }

    @Test func aMalformedRequestGetsA400AndTheConnectionCloses() async throws {
        let listener = try await Listener(timeouts: ConnectionTimeouts())
        defer { listener.stop() }
        let client = try LoopbackSocket(port: listener.port)
        try client.write("GET /version HTTP/1.1\r\nHost: x\r\nBad Header Line Without Colon\r\n\r\n")
        let reply = try #require(await client.untilClosed(), "the connection stayed open after the 400")
        #expect(reply.hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
    }

    @Test func aClientThatNeverStartsTLSIsClosed() async throws {
        let listener = try await Listener(tls: true)
        defer { listener.stop() }
        let client = try LoopbackSocket(port: listener.port)
        #expect(await client.untilClosed() == "")
    }

    /// A server whose in-flight limits are `limit`, with a node's token beside the admin's:
    /// the node is limited, the admin (system:masters) is served anyway, as upstream serves it.
    /// The node reads and creates pods (its RBAC role); the limits come before authorization.
    private func limitedServer(_ limit: Int) throws -> TestServer {
        try TestServer(configure: {
            $0.maxRequestsInFlight = limit
            $0.maxMutatingRequestsInFlight = limit
            $0.tokens[Self.nodeToken] = UserInfo(name: "system:node:n1", groups: ["system:nodes", "system:authenticated"])
        })
    }

    private static let nodeToken = "node-token"

    private func asNode(_ t: TestServer, _ method: HTTPMethod, _ uri: String, body: JSONValue? = nil) async -> HTTPResponse {
        await t.server.handle(HTTPRequest(method: method, uri: uri, headers: ["Authorization": "Bearer \(Self.nodeToken)"],
                                          body: body.map { JSONWriter.write($0) } ?? []))
    }

    private func json(_ response: HTTPResponse) -> JSONValue {
        guard case .bytes(let body) = response.body else { return .null }
        return (try? JSONParser.parse(body).value) ?? .null
    }

    @Test func theInFlightLimitsAnswer429ButLeaveWatchesAndMastersAlone() async throws {
        let t = try limitedServer(0)
        let list = await asNode(t, .GET, "/api/v1/namespaces/default/pods")
        #expect(list.status == .tooManyRequests)
        #expect(list.headers.first(name: "Retry-After") == "1")
        #expect(json(list)["message"] == "Too many requests, please try again later.")
        #expect(json(list)[path: "details", "retryAfterSeconds"] == 1)
        #expect(await asNode(t, .POST, "/api/v1/namespaces/default/pods", body: TestServer.configMap("c")).status == .tooManyRequests)
        #expect(await asNode(t, .GET, "/api/v1/namespaces/default/services?watch=1").status == .ok)
        #expect(await t.request(.GET, "/api/v1/namespaces/default/configmaps").status == 200)
        #expect(await t.request(.POST, "/api/v1/namespaces/default/configmaps", body: TestServer.configMap("c")).status == 201)

        // A place is given back when the response holding it is gone.
        let limit = InFlightLimit(1)
        var held = limit.take()
        #expect(held != nil)
        #expect(limit.take() == nil)
        held = nil
        #expect(limit.take() != nil)
    }

    /// As upstream: the place is held while the answer is written, so a client that leaves its
    /// answers unread holds places (and then gets 429), not an unbounded share of memory.
    @Test func aResponseHoldsItsPlaceUntilItIsGone() async throws {
        let t = try limitedServer(1)
        do {
            let unwritten = await asNode(t, .GET, "/api/v1/services")
            #expect(unwritten.status == .ok)
            #expect(await asNode(t, .GET, "/api/v1/services").status == .tooManyRequests)
        }
        #expect(await asNode(t, .GET, "/api/v1/services").status == .ok)
        #expect(await asNode(t, .GET, "/api/v1/services").status == .ok)
    }
}
