import Foundation
import Testing
import SwiftletAPI
import SwiftletAPIServer
import SwiftletClient
import SwiftletMachinery
import SwiftletStorage
@testable import SwiftletControllers
import SwiftletTestSupport

@Suite struct ServiceLoadBalancerControllerTests {

    /// A real API server on a memory store running only this controller.
    static func harness() async throws -> (APIClient, SharedInformerFactory, Task<Void, Never>) {
        let client = try InProcessAPI().client
        let informers = SharedInformerFactory(client: client, log: ClientLog.discard)
        let controller = ServiceLoadBalancerController(context: ControllerContext(client: client, informers: informers, log: ClientLog.discard))
        informers.start()
        _ = await informers.waitForSync()
        return (client, informers, Task { await controller.run(workers: 1) })
    }

    static func ingress(_ client: APIClient, _ name: String) async throws -> JSONValue? {
        try await client.get(Resources.services, namespace: "default", name: name)[path: "status", "loadBalancer", "ingress"]
    }

    @Test func loadBalancerServicesPublishLocalhostUntilTheyChangeType() async throws {
        let (client, informers, task) = try await Self.harness()
        defer { task.cancel(); informers.shutDown() }
        _ = try await client.create(Resources.services, namespace: "default", [
            "metadata": ["name": "web"],
            "spec": ["type": "LoadBalancer", "selector": ["app": "web"], "ports": [["port": 8088, "targetPort": 80]]],
        ])
        #expect(try await eventually { try await Self.ingress(client, "web") == [["hostname": "localhost"]] })

        _ = try await client.patch(Resources.services, namespace: "default", name: "web",
                                   .merge(["spec": ["type": "ClusterIP", "ports": [["port": 8088, "targetPort": 80]]]]))
        #expect(try await eventually { try await Self.ingress(client, "web") == nil })
    }

    @Test func servicesOfOtherTypesOrClassesAreLeftAlone() async throws {
        let (client, informers, task) = try await Self.harness()
        defer { task.cancel(); informers.shutDown() }
        _ = try await client.create(Resources.services, namespace: "default", [
            "metadata": ["name": "elsewhere"],
            "spec": ["type": "LoadBalancer", "loadBalancerClass": "example.com/lb", "ports": [["port": 80]]],
        ])
        _ = try await client.create(Resources.services, namespace: "default", [
            "metadata": ["name": "plain"], "spec": ["ports": [["port": 80]]],
        ])
        _ = try await client.create(Resources.services, namespace: "default", [
            "metadata": ["name": "marker"], "spec": ["type": "LoadBalancer", "ports": [["port": 81]]],
        ])
        // The controller works in order; once the last one is done the others had their turn.
        #expect(try await eventually { try await Self.ingress(client, "marker") != nil })
        #expect(try await Self.ingress(client, "elsewhere") == nil)
        #expect(try await Self.ingress(client, "plain") == nil)
    }
}
