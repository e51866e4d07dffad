import Foundation
import Testing
import SwiftletMachinery
@testable import SwiftletAPIServer

/// `pods/portforward` through the WebSocket tunnel for SPDY, as kubectl 1.31+ opens it, against a node backend that
/// cannot forward (the default): the session answers the streams and reports the node's error on the error stream.
@Suite struct PortForwardTests {
    static let pods = "/api/v1/namespaces/default/pods"

    @Test func streamsAreAnsweredAndTheNodesErrorReachesTheErrorStream() async throws {
        let h = try await StreamingHarness.start()
        defer { h.stop() }
        await h.pod("p", phase: "Running")
        let (response, ws) = try await RawWebSocket.open(h, "\(Self.pods)/p/portforward?ports=8080", protocols: [PortForwardSession.subprotocol])
        #expect(response.status == 101)
        #expect(response.headers["sec-websocket-protocol"] == PortForwardSession.subprotocol)

        let deflater = try SPDYHeaderCompression(.deflating)
        for (streamID, type) in [(UInt32(1), "error"), (3, "data")] {
            let block = try deflater.process(SPDYHeaderBlock.encode([("streamType", type), ("port", "8080"), ("requestID", "0")]))
            try ws.sendBinary(SPDYFrame.synStream(streamID: streamID, fin: false, headerBlock: block).encoded)
        }
        try ws.sendBinary(SPDYFrame.ping(id: 9).encoded)

        let inflater = try SPDYHeaderCompression(.inflating)
        var received: [SPDYFrame] = []
        var buffer: [UInt8] = []
        // The ping's answer and the forward's frames come from concurrent work: wait for all of them.
        let awaited: [SPDYFrame] = [.data(streamID: 3, fin: true, payload: []), .data(streamID: 1, fin: true, payload: []), .ping(id: 9)]
        while !awaited.allSatisfy(received.contains) {
            let frame = try await ws.readFrame()
            #expect(frame.opcode == 2)
            buffer += frame.payload
            received += try SPDYFrame.parse(&buffer)
        }
        var replies: [UInt32] = []
        for case .synReply(let streamID, _, let block) in received {
            #expect(try SPDYHeaderBlock.decode(inflater.process(block)) == [:])
            replies.append(streamID)
        }
        #expect(replies == [1, 3])
        let message = received.compactMap { frame -> String? in
            guard case .data(1, false, let payload) = frame else { return nil }
            return String(decoding: payload, as: UTF8.self)
        }
        let uid = await h.t.request(.GET, "\(Self.pods)/p").json[path: "metadata", "uid"]?.stringValue ?? ""
        #expect(message == ["error forwarding port 8080 to pod p, uid \(uid): port forwarding to pods on this node is not supported"])
        try ws.sendClose()
    }

    @Test func onlyARunningPodAndTheTunnelProtocolAreTaken() async throws {
        let h = try await StreamingHarness.start()
        defer { h.stop() }
        await h.pod("pending")
        let (notRunning, _) = try await RawWebSocket.open(h, "\(Self.pods)/pending/portforward", protocols: [PortForwardSession.subprotocol])
        #expect(notRunning.status == 400)
        #expect(notRunning.json["message"]?.stringValue?.hasPrefix("unable to forward port because pod is not running.") == true)

        await h.pod("p", phase: "Running")
        let (otherProtocol, _) = try await RawWebSocket.open(h, "\(Self.pods)/p/portforward", protocols: ["v5.channel.k8s.io"])
        #expect(otherProtocol.status == 400)
        #expect(otherProtocol.json["message"] == "requested protocol(s) are not supported: [v5.channel.k8s.io]; supports [SPDY/3.1+portforward.k8s.io]")

        let plain = await h.t.request(.POST, "\(Self.pods)/p/portforward")
        #expect(plain.status == 400)
        #expect(plain.json["message"] == "Upgrade request required")
    }
}
