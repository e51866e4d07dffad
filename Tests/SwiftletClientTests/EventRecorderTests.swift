import Foundation
import Testing
import SwiftletAPI
import SwiftletAPIServer
import SwiftletClient
import SwiftletMachinery

@Suite struct EventRecorderTests {
    func eventsAbout(_ object: JSONValue, _ client: APIClient) async throws -> [JSONValue] {
        let ns = object[path: "metadata", "namespace"]?.stringValue ?? "default"
        // The selector kubectl describe uses.
        let selector = "involvedObject.name=\(name(object)),involvedObject.namespace=\(ns),involvedObject.kind=\(object["kind"]?.stringValue ?? ""),involvedObject.uid=\(object[path: "metadata", "uid"]?.stringValue ?? "")"
        return try await client.list(Resources.events, namespace: ns, fieldSelector: selector).items
    }

    @Test func repeatsWithinTheWindowIncrementCount() async throws {
        let client = makeClient(try makeServer())
        let rs = try await client.create(Resources.replicasets, namespace: "default", replicaSet("web"))
        let clock = ManualClock()
        let recorder = EventRecorder(client: client, component: "replicaset-controller", clock: clock)
        let first = clock.now

        recorder.event(rs, type: .normal, reason: "SuccessfulCreate", message: "Created pod: web-abc")
        clock.advance(by: .seconds(60))
        recorder.event(rs, type: .normal, reason: "SuccessfulCreate", message: "Created pod: web-abc")
        clock.advance(by: .seconds(60))
        recorder.event(rs, type: .normal, reason: "SuccessfulCreate", message: "Created pod: web-abc")
        await recorder.flush()

        let events = try await eventsAbout(rs, client)
        #expect(events.count == 1)
        let event = try #require(events.first)
        #expect(event["count"] == 3)
        #expect(event["firstTimestamp"] == .string(RFC3339.string(from: first)))
        #expect(event["lastTimestamp"] == .string(RFC3339.string(from: first.addingTimeInterval(120))))
        #expect(event["reason"] == "SuccessfulCreate")
        #expect(event["type"] == "Normal")
        #expect(event[path: "source", "component"] == "replicaset-controller")
        #expect(event["reportingComponent"] == "replicaset-controller")
        #expect(event[path: "involvedObject", "kind"] == "ReplicaSet")
        #expect(event[path: "involvedObject", "apiVersion"] == "apps/v1")
        #expect(event[path: "involvedObject", "uid"] == rs[path: "metadata", "uid"])
        #expect(event[path: "involvedObject", "resourceVersion"] == rs[path: "metadata", "resourceVersion"])
        let eventName = name(event)
        #expect(eventName.hasPrefix("web."))
        let suffix = eventName.dropFirst(4)
        #expect(suffix.count == 16 && suffix.allSatisfy(\.isHexDigit))
    }

    @Test func differentMessagesAndExpiredWindowsMakeNewEvents() async throws {
        let client = makeClient(try makeServer())
        let rs = try await client.create(Resources.replicasets, namespace: "default", replicaSet("web"))
        let clock = ManualClock()
        let recorder = EventRecorder(client: client, component: "replicaset-controller", clock: clock, window: .seconds(600))

        recorder.event(rs, type: .normal, reason: "SuccessfulCreate", message: "Created pod: web-1")
        recorder.event(rs, type: .normal, reason: "SuccessfulCreate", message: "Created pod: web-2")
        recorder.event(rs, type: .warning, reason: "SuccessfulCreate", message: "Created pod: web-1")
        clock.advance(by: .seconds(601))
        recorder.event(rs, type: .normal, reason: "SuccessfulCreate", message: "Created pod: web-1")
        await recorder.flush()

        let events = try await eventsAbout(rs, client)
        #expect(events.count == 4)
        #expect(events.allSatisfy { $0["count"] == 1 })
        #expect(Set(events.map(name)).count == 4)
    }

    @Test func clusterScopedObjectsGetEventsInDefault() async throws {
        let client = makeClient(try makeServer())
        let node = try await client.create(Resources.nodes, ["apiVersion": "v1", "kind": "Node", "metadata": ["name": "node-1"]])
        let recorder = EventRecorder(client: client, component: "kubelet", host: "node-1")
        recorder.event(node, type: .normal, reason: "NodeReady", message: "Node node-1 status is now: NodeReady")
        await recorder.flush()
        let events = try await client.list(Resources.events, namespace: "default", fieldSelector: "involvedObject.name=node-1").items
        #expect(events.count == 1)
        #expect(events.first?[path: "source", "host"] == "node-1")
        #expect(events.first?["reportingInstance"] == "node-1")
    }

    @Test func aFailedWriteIsLoggedNotThrown() async throws {
        let client = makeClient(try makeServer())
        let capture = LogCapture()
        let recorder = EventRecorder(client: client, component: "test", log: capture.sink)
        let ghost: JSONValue = ["apiVersion": "v1", "kind": "Pod", "metadata": ["name": "p", "namespace": "missing", "uid": "u"]]
        recorder.event(ghost, type: .warning, reason: "Failed", message: "boom")
        await recorder.flush()
        #expect(capture.entries.count == 1)
        #expect(capture.entries.first?.contains("not written") == true)
    }

    @Test func anEventDeletedMeanwhileIsCreatedAgain() async throws {
        let client = makeClient(try makeServer())
        let rs = try await client.create(Resources.replicasets, namespace: "default", replicaSet("web"))
        let recorder = EventRecorder(client: client, component: "replicaset-controller", clock: ManualClock())
        recorder.event(rs, type: .normal, reason: "Scaled", message: "up")
        await recorder.flush()
        let first = try #require(try await eventsAbout(rs, client).first)
        try await client.delete(Resources.events, namespace: "default", name: name(first))
        recorder.event(rs, type: .normal, reason: "Scaled", message: "up")
        await recorder.flush()
        let events = try await eventsAbout(rs, client)
        #expect(events.count == 1)
        #expect(events.first?["count"] == 1)
        #expect(events.first.map(name) != name(first))
    }
}
