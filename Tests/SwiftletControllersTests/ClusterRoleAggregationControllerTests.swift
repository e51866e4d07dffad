import Testing
import SwiftletAPI
import SwiftletClient
import SwiftletControllers
import SwiftletMachinery

/// Aggregated ClusterRoles collect the rules of the roles their selectors match, through
/// chains (view → edit → admin), and follow changes.
@Suite struct ClusterRoleAggregationControllerTests {
    static func role(_ name: String, labels: JSONValue = [:], resources: [String] = [], aggregates: String? = nil) -> JSONValue {
        var role: JSONValue = ["apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                               "metadata": ["name": .string(name), "labels": labels],
                               "rules": resources.isEmpty ? [] : [["verbs": ["get"], "apiGroups": [""], "resources": .array(resources.map { .string($0) })]]]
        if let aggregates { role["aggregationRule"] = ["clusterRoleSelectors": [["matchLabels": [.init(stringLiteral: aggregates): "true"]]]] }
        return role
    }

    func resources(_ cluster: GCTestCluster, _ name: String) async -> [String] {
        let role = await cluster.live(Resources.clusterroles, name) ?? .null
        return PolicyRule.rules(of: role).flatMap(\.resources)
    }

    @Test func aggregatedRolesCollectAndFollowTheirSources() async throws {
        let cluster = try GCTestCluster()
        let c = cluster.client
        for role in [
            Self.role("test-reads-b", labels: ["agg/reader": "true"], resources: ["secrets"]),
            Self.role("test-reads-a", labels: ["agg/reader": "true"], resources: ["pods"]),
            Self.role("test-reader", labels: ["agg/writer": "true"], aggregates: "agg/reader"),
            Self.role("test-writer", aggregates: "agg/writer"),
        ] { _ = try await c.create(Resources.clusterroles, role) }
        let running = await cluster.run([ClusterRoleAggregationController(context: cluster.context)])
        defer { running.cancel() }

        // The sources' rules in the order of their names; and through the chain.
        #expect(await gcEventually { await resources(cluster, "test-reader") == ["pods", "secrets"] })
        #expect(await gcEventually { await resources(cluster, "test-writer") == ["pods", "secrets"] })
        _ = try await c.create(Resources.clusterroles, Self.role("test-reads-c", labels: ["agg/reader": "true"], resources: ["configmaps"]))
        #expect(await gcEventually { await resources(cluster, "test-writer") == ["pods", "secrets", "configmaps"] })
        try await c.delete(Resources.clusterroles, namespace: nil, name: "test-reads-a")
        #expect(await gcEventually { await resources(cluster, "test-reader") == ["secrets", "configmaps"] })
    }
}
