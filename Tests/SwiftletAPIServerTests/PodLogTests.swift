import Foundation
import Testing
import SwiftletMachinery
@testable import SwiftletAPIServer

@Suite struct PodLogTests {
    static let logPath = "/api/v1/namespaces/default/pods"

    @Test func logsComeFromTheNodeAgentAsPlainText() async throws {
        let h = try await StreamingHarness.start(backend: FakeNodeBackend(logChunks: [Array("one\n".utf8), Array("two\n".utf8)]))
        defer { h.stop() }
        await h.pod("p")
        let socket = try h.connect()
        try RawHTTPResponse.request(socket, "\(Self.logPath)/p/log?tailLines=2&timestamps=true&previous=true")
        let response = try await RawHTTPResponse.read(socket, headOnly: true)
        #expect(response.status == 200)
        #expect(response.headers["content-type"] == "text/plain")
        var body: [UInt8] = []
        while case let chunk = try await RawHTTPResponse.readChunk(socket), !chunk.isEmpty { body += chunk }
        #expect(String(decoding: body, as: UTF8.self) == "one\ntwo\n")

        let (pod, options) = try #require(h.backend.logCalls.withLock { $0.first })
        let uid = await h.t.request(.GET, "\(Self.logPath)/p").json[path: "metadata", "uid"]?.stringValue
        #expect(pod == PodReference(namespace: "default", name: "p", uid: uid ?? "?"))
        #expect(options == PodLogOptions(container: "c", previous: true, timestamps: true, tailLines: 2))
    }

    @Test func followStreamsLinesAsTheyAreLogged() async throws {
        let h = try await StreamingHarness.start()
        defer { h.stop() }
        await h.pod("p")
        let socket = try h.connect()
        try RawHTTPResponse.request(socket, "\(Self.logPath)/p/log?follow=true")
        // The head comes before any log line, as upstream flushes it.
        let response = try await RawHTTPResponse.read(socket, headOnly: true)
        #expect(response.status == 200)
        #expect(response.headers["transfer-encoding"] == "chunked")
        h.backend.liveLog.continuation.yield(Array("first\n".utf8))
        #expect(try await RawHTTPResponse.readChunk(socket) == Array("first\n".utf8))
        h.backend.liveLog.continuation.yield(Array("second\n".utf8))
        #expect(try await RawHTTPResponse.readChunk(socket) == Array("second\n".utf8))
        h.backend.liveLog.continuation.finish()
        #expect(try await RawHTTPResponse.readChunk(socket) == [])
        #expect(h.backend.logCalls.withLock { $0.first?.1.follow } == true)
    }

    @Test func limitBytesCutsTheLogAndStopsTheSource() async throws {
        let h = try await StreamingHarness.start(backend: FakeNodeBackend(logChunks: [Array("abc".utf8), Array("defgh".utf8), Array("ij".utf8)]))
        defer { h.stop() }
        await h.pod("p")
        let socket = try h.connect()
        try RawHTTPResponse.request(socket, "\(Self.logPath)/p/log?limitBytes=5")
        _ = try await RawHTTPResponse.read(socket, headOnly: true)
        var body: [UInt8] = []
        while case let chunk = try await RawHTTPResponse.readChunk(socket), !chunk.isEmpty { body += chunk }
        #expect(String(decoding: body, as: UTF8.self) == "abcde")
        #expect(h.backend.logTerminated.withLock { $0 })
    }

    @Test func sinceSecondsBecomesATimeOnTheServersClock() async throws {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let h = try await StreamingHarness.start(clock: { now })
        defer { h.stop() }
        await h.pod("p")
        #expect(await h.t.request(.GET, "\(Self.logPath)/p/log?sinceSeconds=30").status == 200)
        #expect(await h.t.request(.GET, "\(Self.logPath)/p/log?sinceTime=2027-01-15T08:00:00Z").status == 200)
        let since = h.backend.logCalls.withLock { $0.map(\.1.since) }
        #expect(since == [now.addingTimeInterval(-30), RFC3339.date(from: "2027-01-15T08:00:00Z")])
    }

    @Test func invalidOptionsAreRefusedAsUpstreamWordsThem() async throws {
        let h = try await StreamingHarness.start()
        defer { h.stop() }
        await h.pod("p")
        let cases: [(String, Int, String)] = [
            ("tailLines=-1", 422, "PodLogOptions \"p\" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0"),
            ("limitBytes=0", 422, "PodLogOptions \"p\" is invalid: limitBytes: Invalid value: 0: must be greater than 0"),
            ("sinceSeconds=0", 422, "PodLogOptions \"p\" is invalid: sinceSeconds: Invalid value: 0: must be greater than 0"),
            ("sinceSeconds=5&sinceTime=2027-01-15T08:00:00Z", 422,
             "PodLogOptions \"p\" is invalid: : Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified"),
            ("tailLines=x", 400, "strconv.ParseInt: parsing \"x\": invalid syntax"),
        ]
        for (query, code, message) in cases {
            let r = await h.t.request(.GET, "\(Self.logPath)/p/log?\(query)")
            #expect(r.status == code, "\(query)")
            #expect(r.json["message"]?.stringValue == message)
        }
        #expect(h.backend.logCalls.withLock { $0.isEmpty })
    }

    @Test func theContainerIsChosenAsUpstreamChoosesIt() async throws {
        let h = try await StreamingHarness.start(backend: FakeNodeBackend(logChunks: [Array("x".utf8)]))
        defer { h.stop() }
        await h.pod("multi", containers: ["a", "b"], initContainers: ["setup"])
        let unnamed = await h.t.request(.GET, "\(Self.logPath)/multi/log")
        #expect(unnamed.status == 400)
        #expect(unnamed.json["message"] == "a container name must be specified for pod multi, choose one of: [setup a b]")
        let unknown = await h.t.request(.GET, "\(Self.logPath)/multi/log?container=z")
        #expect(unknown.status == 400)
        #expect(unknown.json["message"] == "container z is not valid for pod multi")
        #expect(await h.t.request(.GET, "\(Self.logPath)/multi/log?container=setup").status == 200)
        #expect(h.backend.logCalls.withLock { $0.map(\.1.container) } == ["setup"])
    }

    @Test func podsThatCannotBeReachedAnswerAsUpstream() async throws {
        let h = try await StreamingHarness.start()
        defer { h.stop() }
        #expect(await h.t.request(.GET, "\(Self.logPath)/nope/log").json["message"] == "pods \"nope\" not found")
        // Not scheduled yet: no log location, so no content.
        await h.pod("pending", node: nil)
        #expect(await h.t.request(.GET, "\(Self.logPath)/pending/log").status == 204)
        await h.pod("lost", node: "gone")
        let lost = await h.t.request(.GET, "\(Self.logPath)/lost/log")
        #expect(lost.status == 404)
        #expect(lost.json["message"] == "nodes \"gone\" not found")
        _ = await h.t.request(.POST, "/api/v1/nodes", body: ["metadata": ["name": "n2"]])
        await h.pod("far", node: "n2")
        let far = await h.t.request(.GET, "\(Self.logPath)/far/log")
        #expect(far.status == 500)
        #expect(far.json["message"] == "Internal error occurred: error dialing backend: the node agent of node \"n2\" is not connected")
        #expect(await h.t.request(.DELETE, "\(Self.logPath)/far/log").status == 405)
        #expect(await h.t.request(.GET, "\(Self.logPath)/far/log", authorized: false).status == 401)
    }

    @Test func theNodeAgentsErrorsReachTheClient() async throws {
        let waiting = APIError.badRequest("container \"c\" in pod \"p\" is waiting to start: ContainerCreating")
        let h = try await StreamingHarness.start(backend: FakeNodeBackend(logError: waiting))
        defer { h.stop() }
        await h.pod("p")
        let socket = try h.connect()
        try RawHTTPResponse.request(socket, "\(Self.logPath)/p/log")
        let response = try await RawHTTPResponse.read(socket)
        #expect(response.status == 400)
        #expect(response.json == waiting.status)
    }
}
