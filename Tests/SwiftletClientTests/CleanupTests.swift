import Testing
import SwiftletAPI
import SwiftletClient
@testable import SwiftletAPIServer
import SwiftletTestSupport

/// Stopping must release the server side too: a leaked watch costs the server a watcher
/// that every write fans out to, for the life of the process.
@Suite struct CleanupTests {
    @Test func stoppingAnInformerEndsItsServerWatch() async throws {
        let server = try makeServer()
        let cache = try #require(server.storage(for: Resources.configmaps)?.cache)
        let informer = SharedInformer(client: makeClient(server), resource: Resources.configmaps)
        informer.start()
        #expect(await informer.waitForSync())
        #expect(await eventually { cache.watcherCount == 1 })
        informer.stop()
        #expect(await eventually { cache.watcherCount == 0 })
    }

    @Test func cancellingAWatchConsumerEndsItsServerWatch() async throws {
        let server = try makeServer()
        let cache = try #require(server.storage(for: Resources.configmaps)?.cache)
        let client = makeClient(server)
        let events = try await client.watch(Resources.configmaps, resourceVersion: "0")
        let consumer = Task { for await _ in events {} }
        #expect(await eventually { cache.watcherCount == 1 })
        consumer.cancel()
        #expect(await eventually { cache.watcherCount == 0 })
    }
}
