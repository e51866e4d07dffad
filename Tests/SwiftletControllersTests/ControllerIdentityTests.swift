import Testing
import SwiftletAPI
import SwiftletAPIServer
import SwiftletClient
import SwiftletMachinery
@testable import SwiftletControllers
import SwiftletTestSupport

/// Controllers acting as their own ServiceAccounts, as `swiftlet server` runs them: upstream's
/// `system:controller:*` roles are enough for what each writes, and nothing else stands in.
@Suite struct ControllerIdentityTests {
    static func serviceAccount(_ name: String) -> UserInfo {
        UserInfo(name: "system:serviceaccount:kube-system:\(name)",
                 groups: ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"])
    }

    @Test func controllersWriteWithTheirOwnRoles() async throws {
        let api = try InProcessAPI()
        let server = api.server
        let manager = APIClient(transport: LocalTransport(server: server, user: UserInfo(name: "system:kube-controller-manager",
                                                                                         groups: ["system:authenticated"])))
        let informers = SharedInformerFactory(client: manager, clock: SystemClock(), log: ClientLog.discard)
        let context = ControllerContext(client: manager, informers: informers, controllerClient: { account in
            APIClient(transport: LocalTransport(server: server, user: Self.serviceAccount(account)))
        }, clock: SystemClock(), log: ClientLog.discard)
        let controllers: [any Controller] = [
            DeploymentController(context: context), ReplicaSetController(context: context),
            ServiceAccountsController(context: context), RootCACertificatePublisher(context: context, caCertificatePEM: "CA"),
        ]
        let running = Task { await ControllerManager(context: context, controllers: controllers).run() }
        defer { running.cancel() }
        _ = try await api.client.create(Resources.deployments, namespace: "default", [
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": ["name": "web"],
            "spec": ["replicas": 2, "selector": ["matchLabels": ["app": "web"]],
                     "template": ["metadata": ["labels": ["app": "web"]], "spec": ["containers": [["name": "c", "image": "app:1"]]]]],
        ])
        #expect(await eventually("the pods") {
            (try? await api.client.list(Resources.pods, namespace: "default").items.count) == 2
        })
        #expect(await eventually("the root CA ConfigMap") {
            (try? await api.client.get(Resources.configmaps, namespace: "default", name: "kube-root-ca.crt")) != nil
        })
        // The ReplicaSet controller's role reaches pods, not ConfigMaps.
        let replicaSets = APIClient(transport: LocalTransport(server: server, user: Self.serviceAccount("replicaset-controller")))
        do {
            _ = try await replicaSets.create(Resources.configmaps, namespace: "default", ["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": "x"]])
            Issue.record("the replicaset-controller must not create ConfigMaps")
        } catch {
            #expect(error.code == 403)
        }
    }
}
