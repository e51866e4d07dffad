import Foundation
import SwiftletTestSupport
import Testing
import SwiftletAPI
import SwiftletClient
import SwiftletMachinery
@testable import SwiftletControllers

@Suite struct EndpointsSliceControllerTests {
    @Test func sliceFollowsPods() async throws {
        let h = try await EndpointsHarness()
        defer { h.task.cancel() }
        let service = try await h.service("web", selector: ["app": "web"])
        try await h.pod("web-1", ip: "10.1.0.2")
        try await h.pod("web-2", ip: "10.1.0.3", ready: false, node: "node-b")

        var slices: [JSONValue] = []
        #expect(await eventually {
            slices = await h.slices("web")
            return slices.count == 1 && sliceEndpoints(slices).count == 2
        })
        let slice = slices[0]
        let name = slice[path: "metadata", "name"]?.stringValue ?? ""
        #expect(name.hasPrefix("web-") && name.count == "web-".count + 5)
        #expect(slice[path: "metadata", "labels", "kubernetes.io/service-name"] == "web")
        #expect(slice[path: "metadata", "labels", "endpointslice.kubernetes.io/managed-by"] == "endpointslice-controller.k8s.io")
        #expect(slice["addressType"] == "IPv4")
        #expect(slice["ports"] == [["name": "http", "port": 8080, "protocol": "TCP"]])
        let owner = slice[path: "metadata", "ownerReferences"]?[0]
        #expect(owner?["kind"] == "Service")
        #expect(owner?["uid"] == service[path: "metadata", "uid"])
        #expect(owner?["controller"] == true)

        let endpoints = sliceEndpoints(slices)
        let ready = try #require(endpoints["10.1.0.2"])
        #expect(ready["conditions"] == ["ready": true, "serving": true, "terminating": false])
        #expect(ready["nodeName"] == "node-a")
        #expect(ready[path: "targetRef", "kind"] == "Pod")
        #expect(ready[path: "targetRef", "name"] == "web-1")
        let notReady = try #require(endpoints["10.1.0.3"])
        #expect(notReady["conditions"] == ["ready": false, "serving": false, "terminating": false])
        #expect(notReady["nodeName"] == "node-b")

        // Readiness changes are written into the same slice.
        try await h.setReady("web-2", true)
        #expect(await eventually {
            let now = await h.slices("web")
            return now.count == 1 && now[0][path: "metadata", "name"]?.stringValue == name
                && sliceEndpoints(now)["10.1.0.3"]?[path: "conditions", "ready"] == true
        })

        // A terminating pod (graceful deletion of a bound pod) stays, serving but not ready.
        _ = try await h.client.delete(Resources.pods, namespace: "default", name: "web-1")
        #expect(await eventually {
            sliceEndpoints(await h.slices("web"))["10.1.0.2"]?["conditions"] == ["ready": false, "serving": true, "terminating": true]
        })
        try await h.client.delete(Resources.pods, namespace: "default", name: "web-1", options: DeleteOptions(gracePeriodSeconds: 0))
        #expect(await eventually { Array(sliceEndpoints(await h.slices("web")).keys) == ["10.1.0.3"] })
        await h.stop()
    }

    @Test func emptyServiceHasPlaceholderSlice() async throws {
        let h = try await EndpointsHarness()
        defer { h.task.cancel() }
        _ = try await h.service("empty", selector: ["app": "nothing"])
        var slices: [JSONValue] = []
        #expect(await eventually {
            slices = await h.slices("empty")
            return slices.count == 1
        })
        #expect(slices[0]["endpoints"]?.arrayValue?.isEmpty ?? true)
        #expect(await eventually { (await h.endpoints("empty"))?["subsets"]?.arrayValue?.isEmpty ?? false })
        await h.stop()
    }

    @Test func namedPortsSplitSlicesByPortSet() async throws {
        let h = try await EndpointsHarness()
        defer { h.task.cancel() }
        _ = try await h.service("api", selector: ["app": "api"], ports: [["name": "web", "port": 80, "targetPort": "http"]])
        try await h.pod("a", labels: ["app": "api"], ip: "10.2.0.2", containerPorts: [["name": "http", "containerPort": 8080]])
        try await h.pod("b", labels: ["app": "api"], ip: "10.2.0.3", containerPorts: [["name": "http", "containerPort": 9090]])
        var slices: [JSONValue] = []
        #expect(await eventually {
            slices = await h.slices("api")
            return slices.count == 2 && sliceEndpoints(slices).count == 2
        })
        let ports = Set(slices.compactMap { $0["ports"]?[0]?["port"]?.intValue })
        #expect(ports == [8080, 9090])
        await h.stop()
    }

    @Test func manyPodsSpreadOverSlicesOfAHundred() async throws {
        let h = try await EndpointsHarness()
        defer { h.task.cancel() }
        _ = try await h.service("big", selector: ["app": "big"])
        for i in 0..<130 {
            try await h.pod("big-\(i)", labels: ["app": "big"], ip: "10.3.\(i / 200).\(i % 200 + 2)")
        }
        var slices: [JSONValue] = []
        #expect(await eventually {
            slices = await h.slices("big")
            return sliceEndpoints(slices).count == 130
        })
        #expect(slices.allSatisfy { ($0["endpoints"]?.arrayValue?.count ?? 0) <= 100 })
        #expect(slices.count == 2)
        #expect(await eventually { epIPs(await h.endpoints("big")).count == 130 })
        await h.stop()
    }

    @Test func deletedSliceIsRecreated() async throws {
        let h = try await EndpointsHarness()
        defer { h.task.cancel() }
        _ = try await h.service("web", selector: ["app": "web"])
        try await h.pod("web-1", ip: "10.1.0.2")
        var slices: [JSONValue] = []
        #expect(await eventually {
            slices = await h.slices("web")
            return sliceEndpoints(slices).count == 1
        })
        let name = slices[0][path: "metadata", "name"]?.stringValue ?? ""
        try await h.client.delete(Resources.endpointslices, namespace: "default", name: name)
        #expect(await eventually {
            let now = await h.slices("web")
            return now.count == 1 && now[0][path: "metadata", "name"]?.stringValue != name && sliceEndpoints(now).count == 1
        })
        await h.stop()
    }
}
