import Testing
import SwiftletAPI
import SwiftletClient
import SwiftletControllers
import SwiftletMachinery

/// The serviceaccount controller and the root CA publisher: every namespace gets `default`
/// and `kube-root-ca.crt`, and gets them back when they are deleted or changed.
@Suite struct ServiceAccountControllerTests {
    @Test func everyNamespaceHasItsDefaultAccountAndTheRootCA() async throws {
        let cluster = try GCTestCluster()
        let c = cluster.client
        _ = try await c.create(Resources.namespaces, ["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": "team"]])
        let running = await cluster.run([
            ServiceAccountsController(context: cluster.context),
            RootCACertificatePublisher(context: cluster.context, caCertificatePEM: "-----BEGIN CERTIFICATE-----\nCA\n"),
        ])
        defer { running.cancel() }

        for namespace in ["default", "kube-system", "team"] {
            #expect(await gcEventually { await cluster.live(Resources.serviceaccounts, namespace: namespace, "default") != nil })
            #expect(await gcEventually {
                await cluster.live(Resources.configmaps, namespace: namespace, "kube-root-ca.crt")?[path: "data", "ca.crt"] == "-----BEGIN CERTIFICATE-----\nCA\n"
            })
        }
        try await c.delete(Resources.serviceaccounts, namespace: "team", name: "default")
        #expect(await gcEventually { await cluster.live(Resources.serviceaccounts, namespace: "team", "default") != nil })
        _ = try await c.patch(Resources.configmaps, namespace: "team", name: "kube-root-ca.crt", .merge(["data": ["ca.crt": "tampered"]]))
        #expect(await gcEventually {
            await cluster.live(Resources.configmaps, namespace: "team", "kube-root-ca.crt")?[path: "data", "ca.crt"] == "-----BEGIN CERTIFICATE-----\nCA\n"
        })
    }
}
