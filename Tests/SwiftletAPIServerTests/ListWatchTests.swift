import Foundation
import NIOHTTP1
import Testing
import SwiftletAPI
import SwiftletMachinery
import SwiftletStorage
@testable import SwiftletAPIServer

@Suite struct ListWatchTests {
    let cms = "/api/v1/namespaces/default/configmaps"

    @Test func labelAndFieldSelectors() async throws {
        let t = try TestServer()
        for (name, tier) in [("a", "web"), ("b", "api"), ("c", "db")] {
            _ = await t.request(.POST, cms, body: TestServer.configMap(name, labels: ["tier": .string(tier)]))
        }
        func names(_ query: String) async -> [String] {
            await t.request(.GET, cms + "?" + query).json["items"]?.arrayValue?.compactMap { $0[path: "metadata", "name"]?.stringValue } ?? []
        }
        #expect(await names("labelSelector=tier%20in%20(web,api)") == ["a", "b"])
        #expect(await names("labelSelector=tier!=web") == ["b", "c"])
        #expect(await names("fieldSelector=metadata.name%3Dc") == ["c"])
        let bad = await t.request(.GET, cms + "?fieldSelector=spec.nodeName%3Dx")
        #expect(bad.status == 400)
        #expect(bad.json["message"] == "field label not supported: spec.nodeName")
        #expect(await t.request(.GET, cms + "?labelSelector=tier%20in%20(web").status == 400)
    }

    @Test func pagingWithLimitAndContinue() async throws {
        let t = try TestServer()
        for i in 0..<5 { _ = await t.request(.POST, cms, body: TestServer.configMap("cm-\(i)")) }
        var seen: [String] = []
        var token = ""
        repeat {
            let page = await t.request(.GET, cms + "?limit=2" + (token.isEmpty ? "" : "&continue=\(token)")).json
            seen += page["items"]?.arrayValue?.compactMap { $0[path: "metadata", "name"]?.stringValue } ?? []
            token = page[path: "metadata", "continue"]?.stringValue ?? ""
        } while !token.isEmpty
        #expect(seen == (0..<5).map { "cm-\($0)" })
    }

    @Test func tableListsCarryColumnsAndRows() async throws {
        let t = try TestServer()
        _ = await t.request(.POST, "/apis/apps/v1/namespaces/default/deployments", body: TestServer.deployment("web", replicas: 2))
        let r = await t.request(.GET, "/apis/apps/v1/namespaces/default/deployments",
                                accept: "application/json;as=Table;v=v1;g=meta.k8s.io,application/json")
        #expect(r.json["kind"] == "Table")
        let columns = r.json["columnDefinitions"]?.arrayValue?.compactMap { $0["name"]?.stringValue }
        #expect(columns?.prefix(5) == ["Name", "Ready", "Up-to-date", "Available", "Age"])
        #expect(r.json["rows"]?[0]?["cells"]?[0] == "web")
        #expect(r.json["rows"]?[0]?["cells"]?[1] == "0/2")
    }

    @Test func watchFromNowSeesChangesInOrder() async throws {
        let t = try TestServer()
        let list = await t.request(.GET, cms).json
        let rv = try #require(list[path: "metadata", "resourceVersion"]?.stringValue)
        let stream = await t.watch(cms + "?watch=true&resourceVersion=\(rv)")
        _ = await t.request(.POST, cms, body: TestServer.configMap("a"))
        _ = await t.request(.PATCH, cms + "/a", body: ["data": ["k": "2"]], contentType: "application/merge-patch+json")
        _ = await t.request(.DELETE, cms + "/a")
        let events = await nextEvents(stream, count: 3)
        #expect(events.map { $0["type"]?.stringValue } == ["ADDED", "MODIFIED", "DELETED"])
        #expect(events.allSatisfy { $0[path: "object", "kind"] == "ConfigMap" && $0[path: "object", "apiVersion"] == "v1" })
        let revisions = events.compactMap { $0[path: "object", "metadata", "resourceVersion"]?.stringValue.flatMap { Int64($0) } }
        #expect(revisions == revisions.sorted() && Set(revisions).count == 3)
    }

    @Test func watchFromZeroStartsWithSyntheticAdds() async throws {
        let t = try TestServer()
        _ = await t.request(.POST, cms, body: TestServer.configMap("existing"))
        let stream = await t.watch(cms + "?watch=true&resourceVersion=0")
        let events = await nextEvents(stream, count: 1)
        #expect(events.first?["type"] == "ADDED")
        #expect(events.first?[path: "object", "metadata", "name"] == "existing")
    }

    @Test func watchWithSelectorSeesObjectsLeaveAndEnter() async throws {
        let t = try TestServer()
        _ = await t.request(.POST, cms, body: TestServer.configMap("a", labels: ["on": "yes"]))
        let rv = await t.request(.GET, cms).json[path: "metadata", "resourceVersion"]?.stringValue ?? "0"
        let stream = await t.watch(cms + "?watch=true&labelSelector=on%3Dyes&resourceVersion=\(rv)")
        _ = await t.request(.PATCH, cms + "/a", body: ["metadata": ["labels": ["on": "no"]]], contentType: "application/merge-patch+json")
        _ = await t.request(.PATCH, cms + "/a", body: ["metadata": ["labels": ["on": "yes"]]], contentType: "application/merge-patch+json")
        let events = await nextEvents(stream, count: 2)
        #expect(events.map { $0["type"]?.stringValue } == ["DELETED", "ADDED"])
    }

    @Test func aWatcherThatFallsBehindItsBufferIsClosedAndOthersGoOn() async throws {
        let store = MemoryStore()
        let cache = try ResourceCache(type: ResourceTypes.configMaps, store: store, watcherBuffer: 5)
        let slow = try cache.watch(filter: WatchFilter(), prefix: Resources.configmaps.storagePrefix, from: .after(0))
        let fast = try cache.watch(filter: WatchFilter(), prefix: Resources.configmaps.storagePrefix, from: .after(0))
        var fastEvents = fast.live.makeAsyncIterator()
        func configMap(_ revision: Int64) -> StoreEvent {
            let value = JSONWriter.write(["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": .string("c\(revision)"), "namespace": "default"]])
            return StoreEvent(kind: .created, kv: KeyValue(key: "/registry/configmaps/default/c\(revision)", value: value,
                                                           createRevision: revision, modRevision: revision), previous: nil)
        }
        var seen = 0
        for revision in Int64(1)...20 {
            cache.apply(configMap(revision))
            // The fast watcher takes each event as it comes.
            if await fastEvents.next() != nil { seen += 1 }
        }
        #expect(seen == 20)
        #expect(cache.watcherCount == 1)
        // The slow one got what its buffer held, then its end.
        var slowEvents: [Int64] = []
        for await event in slow.live { slowEvents.append(event.revision) }
        #expect(slowEvents == [1, 2, 3, 4, 5])
    }

    @Test func aWatchStartsWithEveryObjectWhateverItsBuffer() async throws {
        let t = try TestServer()
        for i in 0..<30 { _ = await t.request(.POST, cms, body: TestServer.configMap("cm-\(i)")) }
        let cache = try ResourceCache(type: ResourceTypes.configMaps, store: t.store, watcherBuffer: 5)
        let watch = try cache.watch(filter: WatchFilter(), prefix: Resources.configmaps.storagePrefix, from: .currentState)
        #expect(watch.initial.count == 30)
        #expect(cache.watcherCount == 1)
        watch.close()
    }

    @Test func watchTimeoutsAreIntegersAndCapped() throws {
        #expect(try APIServer.watchTimeout("5") == .seconds(5))
        #expect(try APIServer.watchTimeout("999999999") == .seconds(3600))
        let unset = try APIServer.watchTimeout(nil)
        #expect(unset >= .seconds(1800) && unset < .seconds(3600))
        for bad in ["x", "-1", "1.5", "99999999999999999999"] {
            #expect(throws: APIError.self) { try APIServer.watchTimeout(bad) }
        }
    }

    @Test func aWatchEndsAtItsTimeout() async throws {
        let t = try TestServer()
        let stream = await t.watch(cms + "?watch=true&timeoutSeconds=1")
        var count = 0
        for await _ in stream { count += 1 }
        #expect(count == 0)
        let refused = await t.request(.GET, cms + "?watch=true&timeoutSeconds=x")
        #expect(refused.status == 400)
    }

    @Test func watchFromBeforeTheWindowIsExpired() async throws {
        // A server started on a store with history keeps events only from its start.
        let first = try TestServer()
        _ = await first.request(.POST, cms, body: TestServer.configMap("a"))
        first.server.shutdown()
        let t = try TestServer(store: first.store)
        let stream = await t.watch(cms + "?watch=true&resourceVersion=1")
        let events = await nextEvents(stream, count: 1)
        #expect(events.first?["type"] == "ERROR")
        #expect(events.first?[path: "object", "code"] == 410)
        #expect(events.first?[path: "object", "reason"] == "Expired")
    }

    @Test func restartKeepsObjectsAndAllocations() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-restart-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let url = "sqlite://\(dir)/state.db"
        let service: JSONValue = ["metadata": ["name": "s"], "spec": ["type": "NodePort", "ports": [["port": 80]]]]
        var before: JSONValue = .null
        do {
            let store = try openStore(url: url)
            var config = APIServerConfig()
            config.tokens = [TestServer.token: UserInfo(name: "a", groups: ["system:masters"])]
            let server = try APIServer(config: config, store: store)
            let t = TestServerHandle(server: server)
            before = await t.request(.POST, "/api/v1/namespaces/default/services", body: service).json
            server.shutdown()
            store.close()
        }
        let store = try openStore(url: url)
        var config = APIServerConfig()
        config.tokens = [TestServer.token: UserInfo(name: "a", groups: ["system:masters"])]
        let server = try APIServer(config: config, store: store)
        let t = TestServerHandle(server: server)
        let after = await t.request(.GET, "/api/v1/namespaces/default/services/s").json
        #expect(after[path: "metadata", "uid"] == before[path: "metadata", "uid"])
        #expect(after[path: "metadata", "resourceVersion"] == before[path: "metadata", "resourceVersion"])
        // The node port and IP are still taken: asking for them again fails.
        var clash = service
        clash[path: "metadata", "name"] = "t"
        clash[path: "spec", "clusterIP"] = before[path: "spec", "clusterIP"]
        #expect(await t.request(.POST, "/api/v1/namespaces/default/services", body: clash).status == 422)
        server.shutdown()
        store.close()
    }
}

/// `TestServer`'s request helper over a server built elsewhere (the restart test's).
struct TestServerHandle {
    let server: APIServer
    func request(_ method: HTTPMethod, _ uri: String, body: JSONValue? = nil) async -> TestServer.Reply {
        let headers: HTTPHeaders = ["Accept": "application/json", "Content-Type": "application/json", "Authorization": "Bearer \(TestServer.token)"]
        let response = await server.handle(HTTPRequest(method: method, uri: uri, headers: headers, body: body.map { JSONWriter.write($0) } ?? []))
        guard case .bytes(let b) = response.body else { return .init(status: Int(response.status.code), headers: response.headers, body: []) }
        return .init(status: Int(response.status.code), headers: response.headers, body: b)
    }
}
