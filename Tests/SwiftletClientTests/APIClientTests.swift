import Foundation
import Testing
import SwiftletAPI
import SwiftletAPIServer
import SwiftletClient
import SwiftletMachinery
import SwiftletStorage

@Suite struct APIClientTests {
    let cms = Resources.configmaps

    @Test func createGetUpdatePatchDelete() async throws {
        let client = makeClient(try makeServer())
        let created = try await client.create(cms, configMap("a"))
        #expect(created[path: "metadata", "uid"]?.stringValue?.isEmpty == false)

        var fetched = try await client.get(cms, namespace: "default", name: "a")
        #expect(fetched == created)

        fetched["data"] = ["k": "2"]
        let updated = try await client.update(cms, fetched)
        #expect(updated["data"] == ["k": "2"])

        let merged = try await client.patch(cms, namespace: "default", name: "a", .merge(["data": ["m": "1"]]))
        #expect(merged["data"] == ["k": "2", "m": "1"])
        let strategic = try await client.patch(cms, namespace: "default", name: "a", .strategicMerge(["data": ["s": "1"]]))
        #expect(strategic[path: "data", "s"] == "1")
        let jsonPatched = try await client.patch(cms, namespace: "default", name: "a",
                                                 .json([["op": "remove", "path": "/data/k"]]))
        #expect(jsonPatched[path: "data", "k"] == nil)

        try await client.delete(cms, namespace: "default", name: "a")
        await #expect(throws: APIError.notFound(group: "", resource: "configmaps", name: "a")) {
            try await client.get(cms, namespace: "default", name: "a")
        }
    }

    @Test func errorsCarryTheServersStatus() async throws {
        let client = makeClient(try makeServer())
        let first = try await client.create(cms, configMap("a"))

        let duplicate = await #expect(throws: APIError.self) { try await client.create(cms, configMap("a")) }
        #expect(duplicate?.code == 409)
        #expect(duplicate?.reason == "AlreadyExists")
        #expect(duplicate?.message == #"configmaps "a" already exists"#)

        _ = try await client.patch(cms, namespace: "default", name: "a", .merge(["data": ["k": "newer"]]))
        let stale = await #expect(throws: APIError.self) { try await client.update(cms, first) }
        #expect(stale?.reason == "Conflict")

        let invalid = await #expect(throws: APIError.self) { try await client.create(cms, configMap("Not_Valid")) }
        #expect(invalid?.code == 422)
        #expect(invalid?.reason == "Invalid")

        let failedTest = await #expect(throws: APIError.self) {
            try await client.patch(cms, namespace: "default", name: "a", .json([["op": "test", "path": "/data/k", "value": "old"]]))
        }
        #expect(failedTest?.code == 422)

        let anonymous = APIClient(transport: LocalTransport(server: try makeServer(), token: "wrong"))
        let refused = await #expect(throws: APIError.self) { try await anonymous.list(cms) }
        #expect(refused?.code == 401)
    }

    @Test func listFiltersBySelectorsAndReportsItsRevision() async throws {
        let client = makeClient(try makeServer())
        for (n, tier) in [("a", "web"), ("b", "api"), ("c", "db")] {
            _ = try await client.create(cms, configMap(n, labels: ["tier": .string(tier)]))
        }
        _ = try await client.create(Resources.namespaces, ["metadata": ["name": "other"]])
        _ = try await client.create(cms, configMap("d", namespace: "other", labels: ["tier": "web"]))

        let web = try await client.list(cms, labelSelector: "tier in (web, api)")
        #expect(web.items.map(name) == ["a", "b", "d"])
        #expect(try await client.list(cms, namespace: "default", labelSelector: "tier!=db").items.map(name) == ["a", "b"])
        #expect(try await client.list(cms, fieldSelector: "metadata.name=c").items.map(name) == ["c"])

        let all = try await client.list(cms)
        let newest = all.items.compactMap { $0[path: "metadata", "resourceVersion"]?.stringValue.flatMap { Int64($0) } }.max()
        #expect(Int64(all.resourceVersion)! >= newest!)
    }

    @Test func statusIsWrittenThroughItsSubresource() async throws {
        let client = makeClient(try makeServer())
        var rs = try await client.create(Resources.replicasets, namespace: "default", replicaSet("web"))
        rs["status"] = ["replicas": 1, "readyReplicas": 1]
        rs[path: "spec", "replicas"] = 5
        let written = try await client.update(Resources.replicasets, rs, subresource: "status")
        #expect(written[path: "status", "readyReplicas"] == 1)
        #expect(written[path: "spec", "replicas"] == 1)  // the status endpoint ignores spec

        let patched = try await client.patch(Resources.replicasets, namespace: "default", name: "web",
                                             .merge(["status": ["observedGeneration": 1]]), subresource: "status")
        #expect(patched[path: "status", "observedGeneration"] == 1)
    }

    @Test func deleteHonoursPreconditionsAndOptions() async throws {
        let client = makeClient(try makeServer())
        let created = try await client.create(cms, configMap("a"))
        let wrongUID = await #expect(throws: APIError.self) {
            try await client.delete(cms, namespace: "default", name: "a", options: DeleteOptions(preconditionUID: "not-the-uid"))
        }
        #expect(wrongUID?.code == 409)
        #expect(wrongUID?.message.contains("Precondition failed") == true)

        let staleVersion = await #expect(throws: APIError.self) {
            try await client.delete(cms, namespace: "default", name: "a", options: DeleteOptions(preconditionResourceVersion: "1"))
        }
        #expect(staleVersion?.code == 409)

        let options = DeleteOptions(gracePeriodSeconds: 0, propagationPolicy: .background,
                                    preconditionUID: created[path: "metadata", "uid"]?.stringValue,
                                    preconditionResourceVersion: created[path: "metadata", "resourceVersion"]?.stringValue)
        let status = try await client.delete(cms, namespace: "default", name: "a", options: options)
        #expect(status["status"] == "Success")
        #expect(try await client.list(cms, namespace: "default").items.isEmpty)
    }

    @Test func bindAssignsAPodOnce() async throws {
        let client = makeClient(try makeServer())
        _ = try await client.create(Resources.pods, namespace: "default", pod("p"))
        try await client.bind(pod: "p", namespace: "default", node: "node-1")
        let bound = try await client.get(Resources.pods, namespace: "default", name: "p")
        #expect(bound[path: "spec", "nodeName"] == "node-1")

        let again = await #expect(throws: APIError.self) { try await client.bind(pod: "p", namespace: "default", node: "node-2") }
        #expect(again?.code == 409)
    }

    @Test func watchDeliversChangesInOrder() async throws {
        let client = makeClient(try makeServer())
        let start = try await client.list(cms, namespace: "default")
        let events = try await client.watch(cms, namespace: "default", resourceVersion: start.resourceVersion)
        _ = try await client.create(cms, configMap("a"))
        _ = try await client.patch(cms, namespace: "default", name: "a", .merge(["data": ["k": "2"]]))
        try await client.delete(cms, namespace: "default", name: "a")

        var seen: [WatchedEvent] = []
        for await event in events where event.type != .bookmark {
            seen.append(event)
            if seen.count == 3 { break }
        }
        #expect(seen.map(\.type) == [.added, .modified, .deleted])
        #expect(seen.allSatisfy { name($0.object) == "a" })
        let versions = seen.compactMap { $0.resourceVersion.flatMap { Int64($0) } }
        #expect(versions == versions.sorted() && Set(versions).count == 3)
    }

    @Test func watchEndsWhenTheServerCloses() async throws {
        let server = try makeServer()
        let client = makeClient(server)
        let events = try await client.watch(cms, resourceVersion: try await client.list(cms).resourceVersion)
        server.shutdown()
        var count = 0
        for await _ in events { count += 1 }
        #expect(count == 0)
    }

    /// A server started on a store with history only keeps events from its own start: a
    /// watch from before that is answered with a 410 ERROR event.
    @Test func watchFromAnExpiredRevisionIsDistinguishable() async throws {
        let store = MemoryStore()
        let first = try makeServer(store: store)
        _ = try await makeClient(first).create(cms, configMap("a"))
        first.shutdown()
        let client = makeClient(try makeServer(store: store))

        let events = try await client.watch(cms, resourceVersion: "1")
        var iterator = events.makeAsyncIterator()
        let event = try #require(await iterator.next())
        #expect(event.type == .expired)
        #expect(event.error?.code == 410)
        #expect(event.error?.reason == "Expired")
        #expect(await iterator.next() == nil)
    }

    @Test func watchRequestErrorsAreThrown() async throws {
        let client = makeClient(try makeServer())
        let error = await #expect(throws: APIError.self) {
            _ = try await client.watch(cms, fieldSelector: "spec.nodeName=x", resourceVersion: "0")
        }
        #expect(error?.code == 400)
    }
}
