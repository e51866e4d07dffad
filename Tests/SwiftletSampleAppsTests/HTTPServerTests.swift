import Glibc
import Testing
@testable import SwiftletSampleApps
import SwiftletTestSupport

@Suite(.blockingWork) struct HTTPServerTests {
    /// Answers with what it was asked, so tests can see the request the server parsed.
    static let echo: HTTPHandler = { request in
        HTTPResponse(status: request.path == "/missing" ? 404 : 200, contentType: "text/plain",
                     body: "\(request.method) \(request.target) body=\(String(decoding: request.body, as: UTF8.self))")
    }

    @Test func answersARequestOverLoopback() throws {
        let server = try startLoopbackServer(handler: Self.echo)
        defer { server.stop() }
        #expect(server.port != 0)
        let client = try LoopbackClient(port: server.port)
        client.send("GET /hello?x=1 HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        let response = client.readToEnd()
        #expect(response.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(response.contains("\r\nContent-Type: text/plain\r\n"))
        #expect(response.contains("\r\nContent-Length: 20\r\n"))
        #expect(response.contains("\r\nConnection: close\r\n"))
        #expect(response.hasSuffix("\r\n\r\nGET /hello?x=1 body="))
    }

    @Test func keepsTheConnectionForPipelinedRequests() throws {
        let server = try startLoopbackServer(handler: Self.echo)
        defer { server.stop() }
        let client = try LoopbackClient(port: server.port)
        client.send("GET /one HTTP/1.1\r\nHost: t\r\n\r\n"
            + "POST /two HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello")
        let first = client.read(until: "body=hello")
        #expect(first.split(separator: "HTTP/1.1 200 OK", omittingEmptySubsequences: false).count == 3)
        #expect(first.contains("GET /one body="))
        #expect(first.contains("POST /two body=hello"))
        #expect(!first.contains("Connection: close"))
        // Still open: a third request on the same connection, which closes it.
        client.send("GET /missing HTTP/1.1\r\nConnection: close\r\n\r\n")
        let last = client.readToEnd()
        #expect(last.hasPrefix("HTTP/1.1 404 Not Found\r\n"))
        #expect(last.contains("Connection: close"))
    }

    @Test func servesConnectionsConcurrently() throws {
        let server = try startLoopbackServer(handler: Self.echo)
        defer { server.stop() }
        // All connected and idle first: a server that served one connection at a time would stall on the first.
        let clients = try (0..<20).map { _ in try LoopbackClient(port: server.port) }
        for (index, client) in clients.enumerated().reversed() {
            client.send("GET /\(index) HTTP/1.1\r\nConnection: close\r\n\r\n")
            #expect(client.readToEnd().hasSuffix("GET /\(index) body="))
        }
    }

    @Test func http10KeepAliveIsConfirmed() throws {
        let server = try startLoopbackServer(handler: Self.echo)
        defer { server.stop() }
        let client = try LoopbackClient(port: server.port)
        client.send("GET /first HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        #expect(client.read(until: "body=").contains("\r\nConnection: keep-alive\r\n"))
        client.send("GET /second HTTP/1.0\r\n\r\n")
        let last = client.readToEnd()
        #expect(last.contains("Connection: close") && last.hasSuffix("GET /second body="))
    }

    @Test func headGetsHeadersWithoutBody() throws {
        let server = try startLoopbackServer(handler: Self.echo)
        defer { server.stop() }
        let client = try LoopbackClient(port: server.port)
        client.send("HEAD / HTTP/1.0\r\n\r\n")
        let response = client.readToEnd()
        #expect(response.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(response.contains("Content-Length: 12\r\n"))
        #expect(response.hasSuffix("\r\n\r\n"))
    }

    @Test func badRequestsGetAnErrorAndTheServerCarriesOn() throws {
        let server = try startLoopbackServer(handler: Self.echo)
        defer { server.stop() }
        let bad = try LoopbackClient(port: server.port)
        bad.send("NONSENSE\r\n\r\n")
        let refused = bad.readToEnd()
        #expect(refused.hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
        #expect(refused.contains("Connection: close"))

        // A client that vanishes mid-request, and one that reads nothing, must not take the server down.
        do {
            let vanishing = try LoopbackClient(port: server.port)
            vanishing.send("GET / HTTP/1.1\r\nHo")
        }
        let good = try LoopbackClient(port: server.port)
        good.send("GET /after HTTP/1.1\r\nConnection: close\r\n\r\n")
        #expect(good.readToEnd().hasSuffix("GET /after body="))
    }

    @Test func logsOneLinePerRequestAtInformation() throws {
        let captured = CapturedLog()
        let server = try startLoopbackServer(log: captured.log(minimum: .information), handler: Self.echo)
        defer { server.stop() }
        let client = try LoopbackClient(port: server.port)
        client.send("GET /a?b=c HTTP/1.1\r\nHost: pod\r\nConnection: close\r\n\r\n")
        _ = client.readToEnd()
        let lines = captured.all
        #expect(lines.count == 1)
        #expect(lines.first?.hasPrefix("info: Microsoft.AspNetCore.Hosting.Diagnostics[2] "
            + "Request finished HTTP/1.1 GET http://pod/a?b=c - 200 16 text/plain ") == true)
        #expect(lines.first?.hasSuffix("ms\n") == true)
    }

    @Test func logsNothingPerRequestAtWarning() throws {
        let captured = CapturedLog()
        let server = try startLoopbackServer(log: captured.log(minimum: .warning), handler: Self.echo)
        defer { server.stop() }
        let client = try LoopbackClient(port: server.port)
        client.send("GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
        #expect(client.readToEnd().hasPrefix("HTTP/1.1 200 OK"))
        #expect(captured.all.isEmpty)
    }

    @Test func stopEndsServe() throws {
        let server = try HTTPServer(address: "127.0.0.1", port: 0, log: ConsoleLog(minimum: .none), handler: Self.echo)
        let finished = CapturedLog()
        let marker = finished.log(minimum: .trace)
        spawnDetachedThread {
            server.serve()
            marker.log(.information, "test", "served")
        }
        server.stop()
        var waited = 0
        while finished.all.isEmpty && waited < 500 {
            usleep(10_000)
            waited += 1
        }
        #expect(finished.all.count == 1)
        #expect(throws: SocketError.self) { _ = try LoopbackClient(port: server.port) }
    }
}
