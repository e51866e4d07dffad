import Foundation
import Testing
import SwiftletMachinery
@testable import SwiftletAPIServer

@Suite struct PodExecTests {
    static let pods = "/api/v1/namespaces/default/pods"
    static let success = #"{"metadata":{},"status":"Success"}"#

    /// kubectl's `exec p -- echo hi`.
    @Test func execRunsOnTheNodeAndEndsWithStatusAndClose() async throws {
        let h = try await StreamingHarness.start()
        defer { h.stop() }
        await h.pod("p")
        let (response, ws) = try await RawWebSocket.open(h, "\(Self.pods)/p/exec?command=echo&command=hi+there&container=c&stderr=true&stdout=true")
        #expect(response.status == 101)
        #expect(response.headers["sec-websocket-accept"] == RawWebSocket.expectedAccept)
        #expect(response.headers["sec-websocket-protocol"] == "v5.channel.k8s.io")
        #expect(response.headers["upgrade"]?.lowercased() == "websocket")

        let (messages, code) = try await ws.readUntilClose()
        #expect(messages == [[1], [UInt8](channel: 1, "hi there\n"), [UInt8](channel: 3, Self.success)])
        #expect(code == 1000)
        try ws.sendClose()
        #expect(await ws.socket.closedByPeer())

        let call = try #require(h.backend.execCalls.withLock { $0.first })
        #expect(call.command == ["echo", "hi there"])
        #expect(call.container == "c" && call.pod.name == "p" && !call.pod.uid.isEmpty)
        #expect(!call.stdin && call.stdout && call.stderr && !call.tty)
    }

    @Test func aNonZeroExitIsReportedWithItsCode() async throws {
        let h = try await StreamingHarness.start()
        defer { h.stop() }
        await h.pod("p")
        let (response, ws) = try await RawWebSocket.open(h, "\(Self.pods)/p/exec?command=fail&command=3&stderr=true&stdout=true")
        #expect(response.status == 101)
        let (messages, code) = try await ws.readUntilClose()
        let status = #"{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: exit status 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}"#
        #expect(messages == [[1], [UInt8](channel: 2, "bad\n"), [UInt8](channel: 3, status)])
        #expect(code == 1000)
    }

    @Test func stdinFlowsUntilTheClientClosesIt() async throws {
        let h = try await StreamingHarness.start()
        defer { h.stop() }
        await h.pod("p")
        let (response, ws) = try await RawWebSocket.open(h, "\(Self.pods)/p/exec?command=cat&stdin=true&stdout=true&stderr=true")
        #expect(response.status == 101)
        #expect(try await ws.readFrame().payload == [1])
        // One message in two fragments, then one whole; pings are answered meanwhile.
        try ws.send(opcode: 2, [0] + Array("ab".utf8), fin: false)
        try ws.send(opcode: 0, Array("c\n".utf8), fin: true)
        #expect(try await ws.readFrame().payload == [UInt8](channel: 1, "abc\n"))
        try ws.send(opcode: 9, Array("p1".utf8))
        #expect(try await ws.readFrame() == .init(fin: true, opcode: 10, payload: Array("p1".utf8), masked: false))
        try ws.sendBinary([UInt8](channel: 0, "more\n"))
        #expect(try await ws.readFrame().payload == [UInt8](channel: 1, "more\n"))
        try ws.sendBinary([255, 0])
        let (messages, code) = try await ws.readUntilClose()
        #expect(messages == [[UInt8](channel: 3, Self.success)])
        #expect(code == 1000)
    }

    @Test func terminalSizesReachTheCommand() async throws {
        let h = try await StreamingHarness.start()
        defer { h.stop() }
        await h.pod("p")
        // With a TTY, stderr is dropped as the kubelet drops it.
        let (response, ws) = try await RawWebSocket.open(h, "\(Self.pods)/p/exec?command=size&stdin=true&stdout=true&stderr=true&tty=true")
        #expect(response.status == 101)
        try ws.sendBinary([UInt8](channel: 4, #"{"Width":120,"Height":40}"#))
        let (messages, _) = try await ws.readUntilClose()
        #expect(messages == [[1], [UInt8](channel: 1, "120x40\n"), [UInt8](channel: 3, Self.success)])
        let call = try #require(h.backend.execCalls.withLock { $0.first })
        #expect(call.tty && call.stdin && call.stdout && !call.stderr)
    }

    @Test func theClientLeavingCancelsTheCommand() async throws {
        let h = try await StreamingHarness.start()
        defer { h.stop() }
        await h.pod("p")
        let (_, ws) = try await RawWebSocket.open(h, "\(Self.pods)/p/exec?command=wait&stdout=true")
        #expect(try await ws.readFrame().payload == [1])
        try ws.sendClose(code: 1001)
        // The server echoes the Close, then the command is stopped.
        let echo = try await ws.readFrame()
        #expect(echo.opcode == 8 && echo.payload == [0x03, 0xE9])
        #expect(await ws.socket.closedByPeer())
        for _ in 0..<500 where !h.backend.execCancelled.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(10)) }
        #expect(h.backend.execCancelled.withLock { $0 })
    }

    @Test func olderProtocolsAreNegotiatedInTheClientsOrder() async throws {
        let h = try await StreamingHarness.start()
        defer { h.stop() }
        await h.pod("p")
        let (v4, ws4) = try await RawWebSocket.open(h, "\(Self.pods)/p/exec?command=fail&command=2&stdout=true",
                                                    protocols: ["base64.channel.k8s.io", "v4.channel.k8s.io", "v5.channel.k8s.io"])
        #expect(v4.headers["sec-websocket-protocol"] == "v4.channel.k8s.io")
        #expect(try await ws4.readUntilClose().messages.last?.first == 3)

        // No subprotocol: the first protocol's plain text errors, and nothing on success.
        let (v1, ws1) = try await RawWebSocket.open(h, "\(Self.pods)/p/exec?command=fail&command=2&stdout=true", protocols: nil)
        #expect(v1.status == 101 && v1.headers["sec-websocket-protocol"] == nil)
        #expect(try await ws1.readUntilClose().messages == [[1], [UInt8](channel: 3, "command terminated with non-zero exit code: exit status 2")])

        let (refused, _) = try await RawWebSocket.open(h, "\(Self.pods)/p/exec?command=echo&stdout=true", protocols: ["base64.channel.k8s.io"])
        #expect(refused.status == 400)
        #expect(refused.json["message"] == "requested protocol(s) are not supported: [base64.channel.k8s.io]; supports [v5.channel.k8s.io v4.channel.k8s.io channel.k8s.io]")
    }

    @Test func requestsThatCannotRunAreRefusedBeforeTheUpgrade() async throws {
        let h = try await StreamingHarness.start()
        defer { h.stop() }
        await h.pod("p")
        await h.pod("multi", containers: ["a", "b"])
        await h.pod("pending", node: nil)
        await h.pod("done", phase: "Succeeded")
        let cases: [(String, Int, String)] = [
            ("nope/exec?command=sh&stdout=true", 404, "pods \"nope\" not found"),
            ("multi/exec?command=sh&stdout=true", 400, "a container name must be specified for pod multi, choose one of: [a b]"),
            ("multi/exec?command=sh&stdout=true&container=z", 400, "container z is not valid for pod multi"),
            ("pending/exec?command=sh&stdout=true", 400, "pod pending does not have a host assigned"),
            ("done/exec?command=sh&stdout=true", 400, "cannot exec into a container in a completed pod; current phase is Succeeded"),
            ("done/attach?stdout=true", 400, "cannot attach a container in a completed pod; current phase is Succeeded"),
            ("p/exec?command=sh", 400, "you must specify at least 1 of stdin, stdout, stderr"),
            ("p/exec?stdout=true", 400, "you must specify at least one command for the container"),
        ]
        for (target, code, message) in cases {
            let (response, _) = try await RawWebSocket.open(h, "\(Self.pods)/\(target)")
            #expect(response.status == code, "\(target)")
            #expect(response.json["message"]?.stringValue == message)
            #expect(response.headers["content-type"] == "application/json")
        }
        let (anonymous, _) = try await RawWebSocket.open(h, "\(Self.pods)/p/exec?command=echo&stdout=true", authorized: false)
        #expect(anonymous.status == 401)
        #expect(anonymous.json["reason"] == "Unauthorized")
        #expect(h.backend.execCalls.withLock { $0.isEmpty })
    }

    @Test func errorsAfterTheUpgradeGoOnTheErrorChannel() async throws {
        let h = try await StreamingHarness.start()
        defer { h.stop() }
        await h.pod("p")
        let (_, ws) = try await RawWebSocket.open(h, "\(Self.pods)/p/exec?command=explode&stdout=true")
        let (messages, code) = try await ws.readUntilClose()
        let status = try JSONParser.parse(Array(try #require(messages.last).dropFirst())).value
        #expect(messages.last?.first == 3)
        #expect(status == APIError.internalError("boom").status)
        #expect(code == 1000)
    }

    @Test func attachConnectsToTheContainer() async throws {
        let h = try await StreamingHarness.start()
        defer { h.stop() }
        await h.pod("p", containers: ["app"])
        let (response, ws) = try await RawWebSocket.open(h, "\(Self.pods)/p/attach?stdout=true&stderr=true")
        #expect(response.status == 101)
        let (messages, code) = try await ws.readUntilClose()
        #expect(messages == [[1], [UInt8](channel: 1, "attached to app\n"), [UInt8](channel: 3, Self.success)])
        #expect(code == 1000)
    }

    @Test func withoutAnUpgradeExecIsABadRequestAndHTTPCarriesOn() async throws {
        let h = try await StreamingHarness.start()
        defer { h.stop() }
        await h.pod("p")
        let socket = try h.connect()
        try RawHTTPResponse.request(socket, "\(Self.pods)/p/exec?command=sh&stdout=true")
        let plain = try await RawHTTPResponse.read(socket)
        #expect(plain.status == 400)
        #expect(plain.json["message"] == "Upgrade request required")
        // The same connection goes on serving ordinary requests.
        try RawHTTPResponse.request(socket, "\(Self.pods)/p")
        let pod = try await RawHTTPResponse.read(socket)
        #expect(pod.status == 200 && pod.json[path: "metadata", "name"] == "p")
        #expect(await h.t.request(.PUT, "\(Self.pods)/p/exec").status == 405)

        // A refused upgrade is answered, and then the connection closes (the client opens a new one).
        let (missing, ws) = try await RawWebSocket.open(h, "\(Self.pods)/nope/exec?command=sh&stdout=true")
        #expect(missing.status == 404)
        #expect(missing.headers["connection"] == "close")
        #expect(await ws.socket.closedByPeer())

        // So does kubectl's SPDY fallback, which Swiftlet does not speak: the checks answer it.
        let spdy = try h.connect()
        try RawHTTPResponse.request(spdy, "\(Self.pods)/p/exec?command=sh&stdout=true&container=z", method: "POST", headers: [
            ("Authorization", "Bearer \(TestServer.token)"), ("Connection", "Upgrade"), ("Upgrade", "SPDY/3.1"),
            ("X-Stream-Protocol-Version", "v4.channel.k8s.io"), ("Content-Length", "0"),
        ])
        let fallback = try await RawHTTPResponse.read(spdy)
        #expect(fallback.status == 400)
        #expect(fallback.json["message"] == "container z is not valid for pod p")
        #expect(await spdy.closedByPeer())
    }
}
