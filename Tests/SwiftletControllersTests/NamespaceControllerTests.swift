import Foundation
import Testing
import SwiftletAPI
import SwiftletClient
import SwiftletControllers
import SwiftletMachinery

@Suite struct NamespaceControllerTests {
    typealias F = GCFixtures

    static func namespace(_ name: String, finalizers: [String] = []) -> JSONValue {
        var ns: JSONValue = ["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": .string(name)]]
        if !finalizers.isEmpty { ns[path: "metadata", "finalizers"] = .array(finalizers.map { .string($0) }) }
        return ns
    }

    /// Until the server marks namespaces Terminating on DELETE, a metadata finalizer makes it
    /// keep the namespace with a deletionTimestamp: the state the controller works from.
    @Test func aDeletedNamespaceIsEmptiedThenFinalized() async throws {
        let cluster = try GCTestCluster()
        let c = cluster.client
        _ = try await c.create(Resources.namespaces, Self.namespace("doomed", finalizers: ["example.com/hold"]))
        _ = try await c.create(Resources.namespaces, Self.namespace("kept"))
        _ = try await c.create(Resources.configmaps, F.configMap("a", namespace: "doomed"))
        _ = try await c.create(Resources.configmaps, F.configMap("lingering", namespace: "doomed", finalizers: ["example.com/hold"]))
        _ = try await c.create(Resources.pods, F.pod("p", namespace: "doomed"))
        _ = try await c.create(Resources.configmaps, F.configMap("b", namespace: "kept"))
        let controller = NamespaceController(context: cluster.context)
        #expect(controller.name == "namespace")
        let running = await cluster.run([controller])
        defer { running.cancel() }

        try await c.delete(Resources.namespaces, name: "doomed")
        #expect(await gcEventually { await cluster.live(Resources.pods, namespace: "doomed", "p") == nil })
        #expect(await gcEventually {
            await cluster.live(Resources.configmaps, namespace: "doomed", "lingering")?[path: "metadata", "deletionTimestamp"] != nil
        })
        #expect(await cluster.live(Resources.configmaps, namespace: "doomed", "a") == nil)
        let terminating = await cluster.live(Resources.namespaces, "doomed")
        #expect(terminating?[path: "status", "phase"] == "Terminating")
        // The lingering object holds the `kubernetes` finalizer in place.
        try await Task.sleep(for: .milliseconds(200))
        #expect(await cluster.live(Resources.namespaces, "doomed")?[path: "spec", "finalizers"] == ["kubernetes"])

        _ = try await c.patch(Resources.configmaps, namespace: "doomed", name: "lingering",
                              .json([["op": "remove", "path": "/metadata/finalizers"]]))
        #expect(await gcEventually {
            await cluster.live(Resources.namespaces, "doomed")?[path: "spec", "finalizers"] == []
        })
        // With its own finalizer gone too, the server removes it.
        _ = try await c.patch(Resources.namespaces, name: "doomed", .json([["op": "remove", "path": "/metadata/finalizers"]]))
        #expect(await gcEventually { await cluster.live(Resources.namespaces, "doomed") == nil })
        #expect(await cluster.live(Resources.configmaps, namespace: "kept", "b") != nil)
        #expect(await cluster.live(Resources.namespaces, "kept")?[path: "status", "phase"] == "Active")
    }
}
