import Foundation
import SwiftletTestSupport
import Testing
import SwiftletAPI
import SwiftletClient
import SwiftletMachinery
@testable import SwiftletControllers

@Suite struct EndpointsControllerTests {
    @Test func endpointsFollowReadyPods() async throws {
        let h = try await EndpointsHarness()
        defer { h.task.cancel() }
        _ = try await h.service("web", selector: ["app": "web"])
        try await h.pod("web-1", ip: "10.1.0.2")
        try await h.pod("web-2", ip: "10.1.0.3", node: "node-b")
        try await h.pod("other", labels: ["app": "other"], ip: "10.1.0.9")

        var ep: JSONValue?
        #expect(await eventually {
            ep = await h.endpoints("web")
            return epIPs(ep) == ["10.1.0.2", "10.1.0.3"]
        })
        let subset = try #require(ep?["subsets"]?[0])
        #expect(subset["ports"] == [["name": "http", "port": 8080, "protocol": "TCP"]])
        let first = try #require(subset["addresses"]?[0])
        #expect(first["nodeName"] == "node-a")
        #expect(first[path: "targetRef", "kind"] == "Pod")
        #expect(first[path: "targetRef", "name"] == "web-1")
        #expect(first[path: "targetRef", "namespace"] == "default")
        #expect(first[path: "targetRef", "uid"]?.stringValue?.isEmpty == false)
        #expect(ep?[path: "metadata", "labels", "tier"] == "front")

        // Readiness moves an address between the lists.
        try await h.setReady("web-2", false)
        #expect(await eventually {
            ep = await h.endpoints("web")
            return epIPs(ep) == ["10.1.0.2"] && epIPs(ep, notReady: true) == ["10.1.0.3"]
        })
        try await h.setReady("web-2", true)
        #expect(await eventually { epIPs(await h.endpoints("web")) == ["10.1.0.2", "10.1.0.3"] })

        // A pod that is relabelled away, or goes, is dropped.
        _ = try await h.client.patch(Resources.pods, namespace: "default", name: "web-1",
                                     .merge(["metadata": ["labels": ["app": "moved"]]]))
        #expect(await eventually { epIPs(await h.endpoints("web")) == ["10.1.0.3"] })
        try await h.client.delete(Resources.pods, namespace: "default", name: "web-2",
                                  options: DeleteOptions(gracePeriodSeconds: 0))
        #expect(await eventually {
            let ep = await h.endpoints("web")
            return ep != nil && (ep?["subsets"]?.arrayValue ?? []).isEmpty
        })
        // A pod that comes later is added; one without an address yet is not.
        try await h.pod("web-3", ip: "10.1.0.4")
        try await h.pod("web-4", ip: nil)
        #expect(await eventually { epIPs(await h.endpoints("web")) == ["10.1.0.4"] })
        await h.stop()
    }

    @Test func namedTargetPortsResolvePerPod() async throws {
        let h = try await EndpointsHarness()
        defer { h.task.cancel() }
        _ = try await h.service("api", selector: ["app": "api"],
                                ports: [["name": "web", "port": 80, "targetPort": "http"],
                                        ["name": "dns", "port": 53, "protocol": "UDP", "targetPort": "dns"]])
        try await h.pod("a", labels: ["app": "api"], ip: "10.2.0.2",
                        containerPorts: [["name": "http", "containerPort": 8080], ["name": "dns", "containerPort": 5353, "protocol": "UDP"]])
        try await h.pod("b", labels: ["app": "api"], ip: "10.2.0.3", containerPorts: [["name": "http", "containerPort": 9090]])
        try await h.pod("c", labels: ["app": "api"], ip: "10.2.0.4", containerPorts: [["name": "other", "containerPort": 1]])

        var ep: JSONValue?
        #expect(await eventually {
            ep = await h.endpoints("api")
            return epIPs(ep) == ["10.2.0.2", "10.2.0.3"]
        })
        let subsets = ep?["subsets"]?.arrayValue ?? []
        #expect(subsets.count == 2)
        let forA = try #require(subsets.first { $0["addresses"]?[0]?["ip"] == "10.2.0.2" })
        #expect(forA["ports"] == [["name": "dns", "port": 5353, "protocol": "UDP"], ["name": "web", "port": 8080, "protocol": "TCP"]])
        let forB = try #require(subsets.first { $0["addresses"]?[0]?["ip"] == "10.2.0.3" })
        #expect(forB["ports"] == [["name": "web", "port": 9090, "protocol": "TCP"]])
        await h.stop()
    }

    @Test func servicesWithoutSelectorAreLeftAlone() async throws {
        let h = try await EndpointsHarness()
        defer { h.task.cancel() }
        let kubernetes = try #require(await h.endpoints("kubernetes"))
        // The API server's own slice for `kubernetes`, which no controller may take away.
        let kubernetesSlices = await h.slices("kubernetes")
        #expect(kubernetesSlices.count == 1)
        _ = try await h.service("manual", selector: nil)
        _ = try await h.service("web", selector: ["app": "web"])
        try await h.pod("web-1", ip: "10.1.0.2")
        #expect(await eventually { epIPs(await h.endpoints("web")) == ["10.1.0.2"] })
        #expect(await h.endpoints("manual") == nil)
        #expect(await h.slices("manual").isEmpty)
        #expect(await h.endpoints("kubernetes") == kubernetes)
        #expect(await h.slices("kubernetes") == kubernetesSlices)
        await h.stop()
    }

    @Test func writesOnlyWhenSomethingChanged() async throws {
        let h = try await EndpointsHarness()
        defer { h.task.cancel() }
        _ = try await h.service("web", selector: ["app": "web"])
        try await h.pod("web-1", ip: "10.1.0.2")
        var ep: JSONValue?
        #expect(await eventually {
            ep = await h.endpoints("web")
            return epIPs(ep) == ["10.1.0.2"]
        })
        var slices: [JSONValue] = []
        #expect(await eventually {
            slices = await h.slices("web")
            return slices.count == 1 && sliceEndpoints(slices).count == 1
        })
        // Changes that do not affect endpoints: an annotation on the service and on the pod.
        _ = try await h.client.patch(Resources.services, namespace: "default", name: "web",
                                     .merge(["metadata": ["annotations": ["touched": "1"]]]))
        _ = try await h.client.patch(Resources.pods, namespace: "default", name: "web-1",
                                     .merge(["metadata": ["annotations": ["touched": "1"]]]))
        try await Task.sleep(for: .milliseconds(300))
        let epAfter = await h.endpoints("web")
        #expect(epAfter?[path: "metadata", "resourceVersion"] == ep?[path: "metadata", "resourceVersion"])
        let slicesAfter = await h.slices("web")
        #expect(slicesAfter.map { $0[path: "metadata", "resourceVersion"] } == slices.map { $0[path: "metadata", "resourceVersion"] })
        await h.stop()
    }

    @Test func deletedServiceTakesItsEndpointsAndSlices() async throws {
        let h = try await EndpointsHarness()
        defer { h.task.cancel() }
        _ = try await h.service("web", selector: ["app": "web"])
        try await h.pod("web-1", ip: "10.1.0.2")
        #expect(await eventually { epIPs(await h.endpoints("web")) == ["10.1.0.2"] })
        #expect(await eventually { sliceEndpoints(await h.slices("web")).count == 1 })
        try await h.client.delete(Resources.services, namespace: "default", name: "web")
        #expect(await eventually { await h.endpoints("web") == nil })
        #expect(await eventually { await h.slices("web").isEmpty })
        await h.stop()
    }

    @Test func publishNotReadyAddressesListsEveryPodAsReady() async throws {
        let h = try await EndpointsHarness()
        defer { h.task.cancel() }
        _ = try await h.service("peers", selector: ["app": "web"]) { s in
            s[path: "spec", "publishNotReadyAddresses"] = true
            s[path: "spec", "clusterIP"] = "None"
        }
        try await h.pod("web-1", ip: "10.1.0.2", ready: false)
        var ep: JSONValue?
        #expect(await eventually {
            ep = await h.endpoints("peers")
            return epIPs(ep) == ["10.1.0.2"]
        })
        #expect(ep?[path: "metadata", "labels", "service.kubernetes.io/headless"] == "")
        await h.stop()
    }
}
