import Foundation
import Testing
import SwiftletAPI
@testable import SwiftletClient
@testable import SwiftletControllers
import SwiftletMachinery

/// Adoption on a cache that is behind the API server: the pod cache is frozen (its informer
/// stopped) with the pod as an orphan, and the pod changes on the server meanwhile.
@Suite struct ReplicaSetAdoptionTests {
    typealias H = ReplicaSetHarness

    /// A ReplicaSet `web` of `replicas` and an orphan pod it selects, with the pod cache frozen
    /// while it still shows the orphan.
    func frozenOrphan(replicas: Int64) async throws -> (H, JSONValue) {
        let h = try H()
        _ = try await h.client.create(Resources.pods, namespace: "default", H.pod("orphan", labels: ["app": "web"]))
        let rs = try await h.create(H.replicaSet("web", replicas: replicas))
        #expect(await h.start())
        #expect(await h.until { h.pods.get(namespace: "default", name: "orphan") != nil && h.owners.get(h.key("web")) != nil })
        h.pods.stop()
        return (h, rs)
    }

    func setOwnerReferences(_ h: H, _ refs: JSONValue) async throws {
        _ = try await h.client.patch(Resources.pods, namespace: "default", name: "orphan",
                                     .merge(["metadata": ["ownerReferences": refs]]))
    }

    func podNames(_ h: H) async throws -> [String] {
        try await h.client.list(Resources.pods, namespace: "default").items.map(rsName).sorted()
    }

    @Test func aPodAlreadyAdoptedByThisOwnerCountsThoughTheCacheShowsAnOrphan() async throws {
        let (h, rs) = try await frozenOrphan(replicas: 2)
        defer { h.stop() }
        // An earlier sync adopted it; the cache has not seen that yet.
        try await setOwnerReferences(h, [h.controller.controllerReference(to: rs)])
        try await h.controller.sync(h.key("web"))
        // The pod counts: one more is created, not two.
        #expect(try await podNames(h).count == 2)
        #expect(try await h.events(reason: "SuccessfulCreate").count == 1)
        let orphan = try await h.client.get(Resources.pods, namespace: "default", name: "orphan")
        #expect(Indexer.controllerReference(of: orphan)?["uid"] == rs[path: "metadata", "uid"])
    }

    @Test func aPodAdoptedByAnotherOwnerMeanwhileIsNotCounted() async throws {
        let (h, _) = try await frozenOrphan(replicas: 1)
        defer { h.stop() }
        try await setOwnerReferences(h, [["apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "other",
                                          "uid": "another-uid", "controller": true]])
        try await h.controller.sync(h.key("web"))
        #expect(try await podNames(h).count == 2)
        let orphan = try await h.client.get(Resources.pods, namespace: "default", name: "orphan")
        #expect(Indexer.controllerReference(of: orphan)?["uid"] == "another-uid")
    }

    @Test func aPodStillOrphanedButChangedUnderThePatchIsRetriedNotReplaced() async throws {
        let (h, rs) = try await frozenOrphan(replicas: 1)
        defer { h.stop() }
        // A non-controller reference makes the patch's test fail; the pod is still an orphan.
        let plain: JSONValue = ["apiVersion": "v1", "kind": "ConfigMap", "name": "cm", "uid": "cm-uid"]
        try await setOwnerReferences(h, [plain])
        await #expect(throws: APIError.self) { try await h.controller.sync(h.key("web")) }
        // Neither adopted on the stale view nor replaced by a new pod.
        #expect(try await podNames(h) == ["orphan"])
        let orphan = try await h.client.get(Resources.pods, namespace: "default", name: "orphan")
        #expect(orphan[path: "metadata", "ownerReferences"] == [plain])
        // Once the cache has the change, the next sync adopts it.
        let fresh = try await h.controller.claimPods(h.owners.get(h.key("web"))!, selector: try h.controller.kind.selector(of: rs),
                                                      from: [orphan])
        #expect(fresh.count == 1)
        #expect(Indexer.controllerReference(of: fresh[0])?["uid"] == rs[path: "metadata", "uid"])
    }

    @Test func noAdoptionWhenTheLiveOwnerIsNotTheCachedOne() async throws {
        let (h, _) = try await frozenOrphan(replicas: 1)
        defer { h.stop() }
        h.owners.stop()
        // Deleted and re-created under the same name: the cache still has the old one.
        try await h.client.delete(Resources.replicasets, namespace: "default", name: "web")
        try await h.create(H.replicaSet("web", replicas: 1))
        await #expect(throws: APIError.self) { try await h.controller.sync(h.key("web")) }
        #expect(try await podNames(h) == ["orphan"])
        let orphan = try await h.client.get(Resources.pods, namespace: "default", name: "orphan")
        #expect(orphan[path: "metadata", "ownerReferences"] == nil)
    }
}
