import Foundation
import Testing
import SwiftletAPI
import SwiftletClient
import SwiftletControllers
import SwiftletMachinery

@Suite struct GarbageCollectorTests {
    typealias F = GCFixtures

    /// Deployment → ReplicaSet → pods; the Deployment is deleted as kubectl does (Background).
    @Test func backgroundDeletionRemovesDependentsTransitively() async throws {
        let cluster = try GCTestCluster()
        let c = cluster.client
        let deploy = try await c.create(Resources.deployments, F.deployment("web"))
        let rs = try await c.create(Resources.replicasets, F.replicaSet("web-1", owners: [F.ownerReference(deploy)]))
        _ = try await c.create(Resources.pods, F.pod("web-1-a", owners: [F.ownerReference(rs)]))
        _ = try await c.create(Resources.pods, F.pod("web-1-b", owners: [F.ownerReference(rs)]))
        _ = try await c.create(Resources.pods, F.pod("unowned"))
        let gc = GarbageCollector(context: cluster.context)
        #expect(gc.name == "garbagecollector")
        let running = await cluster.run([gc])
        defer { running.cancel() }

        try await c.delete(Resources.deployments, namespace: "default", name: "web",
                           options: DeleteOptions(propagationPolicy: .background))
        #expect(await gcEventually { await cluster.live(Resources.replicasets, "web-1") == nil })
        #expect(await gcEventually { try! await c.list(Resources.pods, namespace: "default").items.count == 1 })
        #expect(await cluster.live(Resources.pods, "unowned") != nil)
    }

    @Test func orphanDeletionLeavesDependentsWithoutTheOwnerReference() async throws {
        let cluster = try GCTestCluster()
        let c = cluster.client
        let deploy = try await c.create(Resources.deployments, F.deployment("web"))
        _ = try await c.create(Resources.replicasets, F.replicaSet("web-1", owners: [F.ownerReference(deploy)]))
        _ = try await c.create(Resources.replicasets, F.replicaSet("web-2", owners: [F.ownerReference(deploy)]))
        let running = await cluster.run([GarbageCollector(context: cluster.context)])
        defer { running.cancel() }

        let answer = try await c.delete(Resources.deployments, namespace: "default", name: "web",
                                        options: DeleteOptions(propagationPolicy: .orphan))
        #expect(answer[path: "metadata", "finalizers"] == ["orphan"])
        #expect(await gcEventually { await cluster.live(Resources.deployments, "web") == nil })
        for name in ["web-1", "web-2"] {
            let rs = await cluster.live(Resources.replicasets, name)
            #expect(rs != nil)
            #expect(rs?[path: "metadata", "ownerReferences"] == nil)
        }
        // And they stay.
        try await Task.sleep(for: .milliseconds(200))
        #expect(await cluster.live(Resources.replicasets, "web-1") != nil)
    }

    /// The owner stays, marked, until its blocking dependents are gone; a pod held by a
    /// finalizer holds the whole chain.
    @Test func foregroundDeletionWaitsForDependents() async throws {
        let cluster = try GCTestCluster()
        let c = cluster.client
        let deploy = try await c.create(Resources.deployments, F.deployment("web"))
        let rs = try await c.create(Resources.replicasets, F.replicaSet("web-1", owners: [F.ownerReference(deploy)]))
        _ = try await c.create(Resources.pods, F.pod("held", owners: [F.ownerReference(rs)], finalizers: ["example.com/hold"]))
        _ = try await c.create(Resources.pods, F.pod("free", owners: [F.ownerReference(rs)]))
        let running = await cluster.run([GarbageCollector(context: cluster.context)])
        defer { running.cancel() }

        let answer = try await c.delete(Resources.deployments, namespace: "default", name: "web",
                                        options: DeleteOptions(propagationPolicy: .foreground))
        #expect(answer[path: "metadata", "finalizers"] == ["foregroundDeletion"])
        // The ReplicaSet is deleted in the foreground too (it has dependents), the pods go.
        #expect(await gcEventually {
            await cluster.live(Resources.pods, "held")?[path: "metadata", "deletionTimestamp"] != nil
        })
        #expect(await gcEventually { await cluster.live(Resources.pods, "free") == nil })
        let marked = await cluster.live(Resources.replicasets, "web-1")
        #expect(marked?[path: "metadata", "finalizers"] == ["foregroundDeletion"])
        // The held pod blocks the ReplicaSet, which blocks the Deployment.
        try await Task.sleep(for: .milliseconds(300))
        #expect(await cluster.live(Resources.replicasets, "web-1") != nil)
        #expect(await cluster.live(Resources.deployments, "web")?[path: "metadata", "deletionTimestamp"] != nil)

        _ = try await c.patch(Resources.pods, namespace: "default", name: "held",
                              .json([["op": "remove", "path": "/metadata/finalizers"]]))
        #expect(await gcEventually { await cluster.live(Resources.replicasets, "web-1") == nil })
        #expect(await gcEventually { await cluster.live(Resources.deployments, "web") == nil })
    }

    /// Dependents whose owner was deleted while no collector ran are found by the initial sync.
    @Test func dependentsOfOwnersGoneBeforeStartAreDeleted() async throws {
        let cluster = try GCTestCluster()
        let c = cluster.client
        let rs = try await c.create(Resources.replicasets, F.replicaSet("gone"))
        let kept = try await c.create(Resources.replicasets, F.replicaSet("kept"))
        _ = try await c.create(Resources.pods, F.pod("orphaned-a", owners: [F.ownerReference(rs)]))
        _ = try await c.create(Resources.pods, F.pod("orphaned-b", owners: [F.ownerReference(rs)]))
        _ = try await c.create(Resources.pods, F.pod("owned", owners: [F.ownerReference(kept)]))
        // An owner that never existed, of a kind that is served.
        var phantom = rs
        phantom[path: "metadata", "uid"] = "00000000-0000-0000-0000-000000000000"
        phantom[path: "metadata", "name"] = "phantom"
        _ = try await c.create(Resources.pods, F.pod("phantom-child", owners: [F.ownerReference(phantom)]))
        // A namesake recreated with another uid is not the owner either.
        try await c.delete(Resources.replicasets, namespace: "default", name: "gone")
        _ = try await c.create(Resources.replicasets, F.replicaSet("gone"))

        let running = await cluster.run([GarbageCollector(context: cluster.context)])
        defer { running.cancel() }
        #expect(await gcEventually {
            try! await c.list(Resources.pods, namespace: "default").items.compactMap { $0[path: "metadata", "name"]?.stringValue } == ["owned"]
        })
        #expect(await cluster.live(Resources.replicasets, "gone") != nil)
        #expect(await cluster.live(Resources.replicasets, "kept") != nil)
    }

    /// A foreground deletion begun while no collector ran still waits for the dependents:
    /// the workers start only once the whole initial state is in the graph.
    @Test func foregroundDeletionBegunBeforeStartStillWaits() async throws {
        let cluster = try GCTestCluster()
        let c = cluster.client
        let deploy = try await c.create(Resources.deployments, F.deployment("web"))
        let rs = try await c.create(Resources.replicasets, F.replicaSet("web-1", owners: [F.ownerReference(deploy)]))
        _ = try await c.create(Resources.pods, F.pod("held", owners: [F.ownerReference(rs)], finalizers: ["example.com/hold"]))
        try await c.delete(Resources.deployments, namespace: "default", name: "web",
                           options: DeleteOptions(propagationPolicy: .foreground))
        let running = await cluster.run([GarbageCollector(context: cluster.context)])
        defer { running.cancel() }

        #expect(await gcEventually {
            await cluster.live(Resources.pods, "held")?[path: "metadata", "deletionTimestamp"] != nil
        })
        try await Task.sleep(for: .milliseconds(300))
        #expect(await cluster.live(Resources.replicasets, "web-1")?[path: "metadata", "finalizers"] == ["foregroundDeletion"])
        #expect(await cluster.live(Resources.deployments, "web") != nil)
        _ = try await c.patch(Resources.pods, namespace: "default", name: "held",
                              .json([["op": "remove", "path": "/metadata/finalizers"]]))
        #expect(await gcEventually { await cluster.live(Resources.deployments, "web") == nil })
        #expect(await cluster.live(Resources.replicasets, "web-1") == nil)
    }

    @Test func aDependentWithARemainingOwnerKeepsIt() async throws {
        let cluster = try GCTestCluster()
        let c = cluster.client
        let a = try await c.create(Resources.replicasets, F.replicaSet("a"))
        let b = try await c.create(Resources.replicasets, F.replicaSet("b"))
        _ = try await c.create(Resources.pods, F.pod("shared", owners: [
            F.ownerReference(a, controller: true), F.ownerReference(b, controller: false),
        ]))
        let running = await cluster.run([GarbageCollector(context: cluster.context)])
        defer { running.cancel() }

        try await c.delete(Resources.replicasets, namespace: "default", name: "a")
        #expect(await gcEventually {
            await cluster.live(Resources.pods, "shared")?[path: "metadata", "ownerReferences"]?.arrayValue?.count == 1
        })
        let pod = await cluster.live(Resources.pods, "shared")
        #expect(pod?[path: "metadata", "ownerReferences", ]?[0]?["uid"] == b[path: "metadata", "uid"])
        try await Task.sleep(for: .milliseconds(200))
        #expect(await cluster.live(Resources.pods, "shared") != nil)

        // Once the last owner goes, so does the pod.
        try await c.delete(Resources.replicasets, namespace: "default", name: "b")
        #expect(await gcEventually { await cluster.live(Resources.pods, "shared") == nil })
    }

    /// Unknown kinds cannot be checked, so their dependents are left alone.
    @Test func ownersOfUnservedKindsCountAsPresent() async throws {
        let cluster = try GCTestCluster()
        let c = cluster.client
        let owner: JSONValue = ["apiVersion": "example.com/v1", "kind": "Widget", "name": "w", "uid": "1234", "controller": true]
        _ = try await c.create(Resources.pods, F.pod("widget-pod", owners: [owner]))
        let gc = GarbageCollector(context: cluster.context)
        let running = await cluster.run([gc])
        defer { running.cancel() }
        #expect(await gcEventually { gc.graphSize >= 2 })  // the pod and its virtual owner
        try await Task.sleep(for: .milliseconds(200))
        #expect(await cluster.live(Resources.pods, "widget-pod") != nil)
    }

    /// A CRD created while the collector runs makes its kind collectable: as owner and as dependent.
    @Test func customResourcesOwnAndAreOwned() async throws {
        let cluster = try GCTestCluster()
        let c = cluster.client
        let gc = GarbageCollector(context: cluster.context)
        let running = await cluster.run([gc])
        defer { running.cancel() }

        let crd: JSONValue = [
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": ["name": "widgets.example.com"],
            "spec": ["group": "example.com", "scope": "Namespaced", "names": ["plural": "widgets", "kind": "Widget"],
                     "versions": [["name": "v1", "served": true, "storage": true,
                                   "schema": ["openAPIV3Schema": ["type": "object", "x-kubernetes-preserve-unknown-fields": true]]]]],
        ]
        let widgets = try #require(CustomResourceDefinitions.storageResource(of: crd))
        _ = try await c.create(Resources.customresourcedefinitions, crd)
        let owner = try await c.create(widgets, ["apiVersion": "example.com/v1", "kind": "Widget", "metadata": ["name": "owner", "namespace": "default"]])
        _ = try await c.create(Resources.pods, F.pod("widget-pod", owners: [F.ownerReference(owner)]))
        let configMap = try await c.create(Resources.configmaps, F.configMap("widget-owner", namespace: "default"))
        _ = try await c.create(widgets, ["apiVersion": "example.com/v1", "kind": "Widget", "metadata": [
            "name": "owned", "namespace": "default", "ownerReferences": [F.ownerReference(configMap)]]])

        try await c.delete(widgets, namespace: "default", name: "owner")
        #expect(await gcEventually { await cluster.live(Resources.pods, "widget-pod") == nil })
        try await c.delete(Resources.configmaps, namespace: "default", name: "widget-owner")
        #expect(await gcEventually { await cluster.live(widgets, "owned") == nil })
    }
}
