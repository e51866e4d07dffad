import Foundation
import Synchronization
import Testing
import SwiftletAPI
import SwiftletAPIServer
import SwiftletClient
import SwiftletMachinery
import SwiftletStorage
import SwiftletTestSupport

@Suite struct InformerTests {
    let cms = Resources.configmaps

    @Test func handlersSeeChangesInOrderAndTheCacheMatchesAList() async throws {
        let client = makeClient(try makeServer())
        _ = try await client.create(cms, configMap("before"))
        let informer = SharedInformer(client: client, resource: cms, namespace: "default")
        let log = HandlerLog()
        informer.addEventHandler(log.handler)
        informer.start()
        defer { informer.stop() }
        #expect(await informer.waitForSync())
        #expect(informer.hasSynced)

        _ = try await client.create(cms, configMap("a"))
        _ = try await client.patch(cms, namespace: "default", name: "a", .merge(["data": ["k": "2"]]))
        _ = try await client.create(cms, configMap("b"))
        try await client.delete(cms, namespace: "default", name: "before")
        _ = try await client.patch(cms, namespace: "default", name: "b", .merge(["data": ["k": "3"]]))

        let entries = await log.waitFor(count: 6)
        #expect(entries == ["add before", "add a", "update a", "add b", "delete before", "update b"])
        let listed = try await client.list(cms, namespace: "default").items
        #expect(informer.list() == listed)
        #expect(informer.get(namespace: "default", name: "b")?[path: "data", "k"] == "3")
        #expect(informer.get(namespace: "default", name: "before") == nil)
    }

    @Test func updatesCarryTheOldAndNewObject() async throws {
        let client = makeClient(try makeServer())
        let informer = SharedInformer(client: client, resource: cms, namespace: "default")
        let pairs = HandlerPairs()
        informer.addEventHandler(EventHandler(onUpdate: { old, new in pairs.append(old, new) }))
        informer.start()
        defer { informer.stop() }
        #expect(await informer.waitForSync())
        _ = try await client.create(cms, configMap("a", data: ["k": "1"]))
        _ = try await client.patch(cms, namespace: "default", name: "a", .merge(["data": ["k": "2"]]))
        #expect(await eventually { pairs.count == 1 })
        #expect(pairs.first?.old[path: "data", "k"] == "1")
        #expect(pairs.first?.new[path: "data", "k"] == "2")
    }

    @Test func aLabelSelectedInformerSeesObjectsLeave() async throws {
        let client = makeClient(try makeServer())
        _ = try await client.create(cms, configMap("a", labels: ["on": "yes"]))
        _ = try await client.create(cms, configMap("b", labels: ["on": "no"]))
        let informer = SharedInformer(client: client, resource: cms, labelSelector: "on=yes")
        let log = HandlerLog()
        informer.addEventHandler(log.handler)
        informer.start()
        defer { informer.stop() }
        #expect(await informer.waitForSync())
        _ = try await client.patch(cms, namespace: "default", name: "a", .merge(["metadata": ["labels": ["on": "no"]]]))
        _ = try await client.patch(cms, namespace: "default", name: "b", .merge(["metadata": ["labels": ["on": "yes"]]]))
        #expect(await log.waitFor(count: 3) == ["add a", "delete a", "add b"])
        #expect(informer.list().map(name) == ["b"])
    }

    /// The API server restarts while the informer is away; meanwhile objects change and the
    /// new server no longer has the informer's revision in its window. The re-watch gets a
    /// 410, and the relist must report exactly what changed.
    @Test func relistAfterExpiryReportsTheDifference() async throws {
        let store = MemoryStore()
        let first = try makeServer(store: store)
        let transport = SwitchableTransport(first)
        let client = APIClient(transport: transport)
        _ = try await client.create(cms, configMap("a"))
        _ = try await client.create(cms, configMap("b"))
        let informer = SharedInformer(client: client, resource: cms, namespace: "default")
        let log = HandlerLog()
        informer.addEventHandler(log.handler)
        informer.start()
        defer { informer.stop() }
        #expect(await informer.waitForSync())
        _ = try await client.create(cms, configMap("keep"))
        #expect(await log.waitFor(count: 3) == ["add a", "add b", "add keep"])  // so the watch is live

        transport.route(to: nil)
        first.shutdown()
        #expect(await eventually { transport.heldCount == 1 })  // the informer's re-watch waits

        let second = try makeServer(store: store)
        let direct = makeClient(second)
        try await direct.delete(cms, namespace: "default", name: "a")
        _ = try await direct.patch(cms, namespace: "default", name: "b", .merge(["data": ["k": "changed"]]))
        _ = try await direct.create(cms, configMap("c"))
        second.shutdown()

        let third = try makeServer(store: store)
        transport.route(to: third)
        let entries = await log.waitFor(count: 6)
        #expect(Array(entries.dropFirst(3)) == ["update b", "add c", "delete a"])
        #expect(informer.list() == (try await makeClient(third).list(cms, namespace: "default").items))

        _ = try await client.create(cms, configMap("after"))  // watching again after the relist
        #expect(await log.waitFor(count: 7).last == "add after")
    }

    /// A quiet watch closed by a server restart delivered nothing: the informer backs off
    /// rather than re-watching in a tight loop, then relists from the new server.
    @Test func aWatchClosedWithoutEventsBacksOffThenRelists() async throws {
        let store = MemoryStore()
        let first = try makeServer(store: store)
        let transport = SwitchableTransport(first)
        let clock = ManualClock()
        let capture = LogCapture()
        let informer = SharedInformer(client: APIClient(transport: transport), resource: cms, clock: clock, log: capture.sink)
        let log = HandlerLog()
        informer.addEventHandler(log.handler)
        informer.start()
        defer { informer.stop() }
        #expect(await informer.waitForSync())

        let second = try makeServer(store: store)
        transport.route(to: second)
        first.shutdown()
        #expect(await eventually { clock.sleeperCount == 1 })
        #expect(capture.entries == ["informer configmaps: watch closed without delivering an event; relisting (attempt 1)"])
        _ = try await makeClient(second).create(cms, configMap("a"))
        clock.advance(by: .seconds(1))
        #expect(await log.waitFor(count: 1) == ["add a"])
    }

    @Test func theControllerUIDIndexFindsOwnedPods() async throws {
        let client = makeClient(try makeServer())
        let rsA = try await client.create(Resources.replicasets, namespace: "default", replicaSet("a"))
        let rsB = try await client.create(Resources.replicasets, namespace: "default", replicaSet("b"))
        _ = try await client.create(Resources.pods, namespace: "default", pod("a-1", owner: rsA))
        _ = try await client.create(Resources.pods, namespace: "default", pod("a-2", owner: rsA))
        _ = try await client.create(Resources.pods, namespace: "default", pod("b-1", owner: rsB))
        _ = try await client.create(Resources.pods, namespace: "default", pod("orphan"))

        let informer = SharedInformer(client: client, resource: Resources.pods, indexers: [.controllerUID])
        informer.start()
        defer { informer.stop() }
        #expect(await informer.waitForSync())
        let uidA = try #require(rsA[path: "metadata", "uid"]?.stringValue)
        let uidB = try #require(rsB[path: "metadata", "uid"]?.stringValue)
        #expect(informer.byIndex(name: "controllerUID", value: uidA).map(name) == ["a-1", "a-2"])
        #expect(informer.byIndex(name: "controllerUID", value: uidB).map(name) == ["b-1"])
        #expect(informer.byIndex(name: "namespace", value: "default").count == 4)

        // Releasing a pod (dropping its ownerReference) moves it out of the owner's entry.
        _ = try await client.patch(Resources.pods, namespace: "default", name: "a-2", .merge(["metadata": ["ownerReferences": nil]]))
        try await client.delete(Resources.pods, namespace: "default", name: "b-1", options: DeleteOptions(gracePeriodSeconds: 0))
        #expect(await eventually {
            informer.byIndex(name: "controllerUID", value: uidA).map(name) == ["a-1"]
                && informer.byIndex(name: "controllerUID", value: uidB).isEmpty
        })
    }

    @Test func anIndexerAddedLateIndexesTheCachedObjects() async throws {
        let client = makeClient(try makeServer())
        _ = try await client.create(cms, configMap("a", labels: ["tier": "web"]))
        let informer = SharedInformer(client: client, resource: cms)
        informer.start()
        defer { informer.stop() }
        #expect(await informer.waitForSync())
        informer.addIndexer(Indexer(name: "tier") { [$0[path: "metadata", "labels", "tier"]?.stringValue ?? ""] })
        #expect(informer.byIndex(name: "tier", value: "web").map(name) == ["a"])
    }

    @Test func aLateHandlerIsToldOfTheCachedObjects() async throws {
        let client = makeClient(try makeServer())
        _ = try await client.create(cms, configMap("a"))
        let informer = SharedInformer(client: client, resource: cms, namespace: "default")
        informer.start()
        defer { informer.stop() }
        #expect(await informer.waitForSync())
        let log = HandlerLog()
        informer.addEventHandler(log.handler)
        _ = try await client.create(cms, configMap("b"))
        #expect(await log.waitFor(count: 2) == ["add a", "add b"])
    }

    @Test func aSlowHandlerDoesNotHoldUpTheCacheOrOtherHandlers() async throws {
        let client = makeClient(try makeServer())
        let informer = SharedInformer(client: client, resource: cms, namespace: "default")
        let gate = Gate()
        informer.addEventHandler(EventHandler(onAdd: { _ in gate.block() }))
        let log = HandlerLog()
        informer.addEventHandler(log.handler)
        informer.start()
        defer { informer.stop() }
        #expect(await informer.waitForSync())
        _ = try await client.create(cms, configMap("a"))
        _ = try await client.create(cms, configMap("b"))
        #expect(await log.waitFor(count: 2) == ["add a", "add b"])
        #expect(informer.list().map(name) == ["a", "b"])
        gate.open()
    }

    @Test func theFactorySharesOneInformerPerResourceAndNamespace() async throws {
        let client = makeClient(try makeServer())
        let factory = SharedInformerFactory(client: client)
        let pods = factory.informer(for: Resources.pods)
        #expect(factory.informer(for: Resources.pods) === pods)
        #expect(factory.informer(for: Resources.pods, namespace: "default") !== pods)
        #expect(factory.informer(for: Resources.nodes, namespace: "ignored") === factory.informer(for: Resources.nodes))
        factory.start()
        defer { factory.shutDown() }
        #expect(await factory.waitForSync())
        #expect(pods.hasSynced)
    }

    @Test func waitForSyncReturnsFalseWhenStopped() async throws {
        let transport = SwitchableTransport(try makeServer())
        transport.route(to: nil)
        let informer = SharedInformer(client: APIClient(transport: transport), resource: cms)
        informer.start()
        let waiting = Task { await informer.waitForSync() }
        informer.stop()
        #expect(await waiting.value == false)
        #expect(!informer.hasSynced)
    }

    @Test func listErrorsBackOffOnTheClockAndRetry() async throws {
        let server = try makeServer()
        let clock = ManualClock()
        let capture = LogCapture()
        // A selector the server refuses: every list fails.
        let informer = SharedInformer(client: makeClient(server), resource: cms, labelSelector: "a in (", clock: clock, log: capture.sink)
        informer.start()
        defer { informer.stop() }
        #expect(await eventually { clock.sleeperCount == 1 })
        #expect(capture.entries.first?.contains("relisting (attempt 1)") == true)
        clock.advance(by: .seconds(1))
        #expect(await eventually { capture.entries.count == 2 && clock.sleeperCount == 1 })
        #expect(capture.entries.last?.contains("relisting (attempt 2)") == true)
        clock.advance(by: .seconds(1))
        #expect(capture.entries.count == 2)  // the second backoff is 2 s
        clock.advance(by: .seconds(1))
        #expect(await eventually { capture.entries.count == 3 })
    }
}

/// Records (old, new) pairs from onUpdate.
final class HandlerPairs: Sendable {
    private let pairs = Mutex<[(old: JSONValue, new: JSONValue)]>([])
    func append(_ old: JSONValue, _ new: JSONValue) { pairs.withLock { $0.append((old, new)) } }
    var count: Int { pairs.withLock { $0.count } }
    var first: (old: JSONValue, new: JSONValue)? { pairs.withLock { $0.first } }
}

/// Blocks the calling thread until opened: a handler that is stuck.
final class Gate: Sendable {
    private let semaphore = DispatchSemaphore(value: 0)
    private let opened = Mutex(false)

    func block() {
        guard !opened.withLock({ $0 }) else { return }
        semaphore.wait()
        semaphore.signal()  // lets any later call through
    }

    func open() {
        opened.withLock { $0 = true }
        semaphore.signal()
    }
}
