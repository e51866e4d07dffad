import Crypto
import Foundation
import NIOHTTP1
import Testing
import SwiftletAPI
import SwiftletMachinery
import SwiftletPKI
@testable import SwiftletAPIServer

/// The Node authorizer and NodeRestriction: a kubelet reads what its own pods name and writes
/// only its own Node, Lease and pods, with upstream's messages.
@Suite struct NodeAuthorizerTests {
    static let nodeA = "node-a-token"

    /// Node a runs `web` (ConfigMap settings, Secret creds, ServiceAccount builder); node b runs `far`.
    func cluster() async throws -> (TestServer, webUID: String, farUID: String) {
        let t = try TestServer(configure: {
            $0.tokens[Self.nodeA] = UserInfo(name: "system:node:a", groups: ["system:nodes", "system:authenticated"])
            $0.serviceAccountTokens = ServiceAccountTokens(key: P256.Signing.PrivateKey())
        })
        for name in ["settings", "other"] {
            #expect(await t.request(.POST, "/api/v1/namespaces/default/configmaps", body: TestServer.configMap(name)).status == 201)
        }
        for name in ["creds", "unrelated"] {
            #expect(await t.request(.POST, "/api/v1/namespaces/default/secrets", body: ["metadata": ["name": .string(name)]]).status == 201)
        }
        for name in ["builder", "default"] {
            #expect(await t.request(.POST, "/api/v1/namespaces/default/serviceaccounts", body: ["metadata": ["name": .string(name)]]).status == 201)
        }
        let web = await t.request(.POST, "/api/v1/namespaces/default/pods", body: [
            "metadata": ["name": "web"],
            "spec": ["nodeName": "a", "serviceAccountName": "builder",
                     "volumes": [["name": "conf", "configMap": ["name": "settings"]]],
                     "containers": [["name": "c", "image": "app:1", "env": [["name": "P", "valueFrom": ["secretKeyRef": ["name": "creds", "key": "p"]]]]]]],
        ])
        let far = await t.request(.POST, "/api/v1/namespaces/default/pods", body: [
            "metadata": ["name": "far"],
            "spec": ["nodeName": "b", "volumes": [["name": "conf", "configMap": ["name": "other"]]],
                     "containers": [["name": "c", "image": "app:1"]]],
        ])
        #expect(web.status == 201 && far.status == 201)
        return (t, FieldRead.string(web.json[path: "metadata", "uid"]), FieldRead.string(far.json[path: "metadata", "uid"]))
    }

    func asNode(_ t: TestServer, _ method: HTTPMethod, _ uri: String, body: JSONValue? = nil,
                contentType: String = "application/json") async -> TestServer.Reply {
        await t.request(method, uri, body: body, contentType: contentType, token: Self.nodeA)
    }

    @Test func aNodeReadsOnlyWhatItsPodsName() async throws {
        let (t, _, _) = try await cluster()
        #expect(await asNode(t, .GET, "/api/v1/namespaces/default/configmaps/settings").status == 200)
        #expect(await asNode(t, .GET, "/api/v1/namespaces/default/secrets/creds").status == 200)
        let other = await asNode(t, .GET, "/api/v1/namespaces/default/configmaps/other")
        #expect(other.status == 403)
        #expect(other.json["message"] == #"configmaps "other" is forbidden: User "system:node:a" cannot get resource "configmaps" in API group "" in the namespace "default": no relationship found between node 'a' and this object"#)
        #expect(await asNode(t, .GET, "/api/v1/namespaces/default/secrets/unrelated").status == 403)
        // One object by name, as the kubelet watches it; never the whole collection.
        #expect(await asNode(t, .GET, "/api/v1/namespaces/default/configmaps?fieldSelector=metadata.name%3Dsettings").status == 200)
        #expect(await asNode(t, .GET, "/api/v1/namespaces/default/configmaps?fieldSelector=metadata.name%3Dsettings&watch=1").status == 200)
        #expect(await asNode(t, .GET, "/api/v1/namespaces/default/configmaps").status == 403)
        #expect(await asNode(t, .GET, "/api/v1/namespaces/default/secrets?fieldSelector=metadata.name%3Dunrelated").status == 403)
        // Pods: its own, one by one or all through its spec.nodeName selector.
        #expect(await asNode(t, .GET, "/api/v1/namespaces/default/pods/web").status == 200)
        #expect(await asNode(t, .GET, "/api/v1/namespaces/default/pods/far").status == 403)
        let own = await asNode(t, .GET, "/api/v1/pods?fieldSelector=spec.nodeName%3Da")
        #expect(own.json["items"]?.arrayValue?.map { $0[path: "metadata", "name"] } == ["web"])
        let others = await asNode(t, .GET, "/api/v1/pods?fieldSelector=spec.nodeName%3Db")
        #expect(others.status == 403)
        #expect((others.json["message"]?.stringValue ?? "").hasSuffix("can only list/watch pods with spec.nodeName=a field selector"))
        // What the node rules give every node stays: Services, nodes.
        #expect(await asNode(t, .GET, "/api/v1/services").status == 200)
        #expect(await asNode(t, .GET, "/apis/apps/v1/namespaces/default/deployments").status == 403)
    }

    @Test func aNodeWritesOnlyItsOwnPodsNodeAndLease() async throws {
        let (t, _, _) = try await cluster()
        let status: JSONValue = ["status": ["phase": "Running"]]
        #expect(await asNode(t, .PATCH, "/api/v1/namespaces/default/pods/web/status", body: status,
                             contentType: "application/merge-patch+json").status == 200)
        let farStatus = await asNode(t, .PATCH, "/api/v1/namespaces/default/pods/far/status", body: status,
                                     contentType: "application/merge-patch+json")
        #expect(farStatus.status == 403)
        #expect(farStatus.json["message"] == #"pods "far" is forbidden: node "a" can only update pod status for pods with spec.nodeName set to itself"#)
        #expect(await asNode(t, .DELETE, "/api/v1/namespaces/default/pods/far").json["message"]
            == #"pods "far" is forbidden: node "a" can only delete pods with spec.nodeName set to itself"#)
        let created = await asNode(t, .POST, "/api/v1/namespaces/default/pods", body: [
            "metadata": ["name": "sneaky"], "spec": ["nodeName": "a", "containers": [["name": "c", "image": "app:1"]]],
        ])
        #expect(created.json["message"] == #"pods is forbidden: pod does not have "kubernetes.io/config.mirror" annotation, node "a" can only create mirror pods"#)

        // Nodes: its own, with the kubelet's labels, and never its taints.
        let nodeB = await asNode(t, .POST, "/api/v1/nodes", body: ["metadata": ["name": "b"]])
        #expect(nodeB.json["message"] == #"nodes is forbidden: node "a" is not allowed to modify node "b""#)
        let labelled = await asNode(t, .POST, "/api/v1/nodes", body: ["metadata": ["name": "a", "labels": ["node-restriction.kubernetes.io/pool": "x"]]])
        #expect((labelled.json["message"]?.stringValue ?? "").hasSuffix(#"node "a" is not allowed to set the following labels: node-restriction.kubernetes.io/pool"#))
        #expect(await asNode(t, .POST, "/api/v1/nodes", body: ["metadata": ["name": "a", "labels": ["kubernetes.io/hostname": "a"]]]).status == 201)
        #expect(await t.request(.POST, "/api/v1/nodes", body: ["metadata": ["name": "b"]]).status == 201)
        #expect(await asNode(t, .PATCH, "/api/v1/nodes/b/status", body: status, contentType: "application/merge-patch+json").status == 403)
        let taint = await asNode(t, .PATCH, "/api/v1/nodes/a", body: ["spec": ["taints": [["key": "k", "effect": "NoSchedule"]]]],
                                 contentType: "application/merge-patch+json")
        #expect(taint.json["message"] == #"nodes "a" is forbidden: node "a" is not allowed to modify taints"#)
        let role = await asNode(t, .PATCH, "/api/v1/nodes/a", body: ["metadata": ["labels": ["node-role.kubernetes.io/control-plane": ""]]],
                                contentType: "application/merge-patch+json")
        #expect(role.json["message"] == #"nodes "a" is forbidden: is not allowed to modify labels: node-role.kubernetes.io/control-plane"#)
        #expect(await asNode(t, .PATCH, "/api/v1/nodes/a", body: ["metadata": ["labels": ["topology.kubernetes.io/zone": "z1"]]],
                             contentType: "application/merge-patch+json").status == 200)

        // Leases: its own, in kube-node-lease.
        func lease(_ name: String) -> JSONValue { ["apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": ["name": .string(name)]] }
        #expect(await asNode(t, .POST, "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", body: lease("b")).json["message"]
            == #"leases.coordination.k8s.io is forbidden: can only access node lease with the same name as the requesting node"#)
        #expect(await asNode(t, .POST, "/apis/coordination.k8s.io/v1/namespaces/default/leases", body: lease("a")).status == 403)
        #expect(await asNode(t, .POST, "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", body: lease("a")).status == 201)
        #expect(await asNode(t, .GET, "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/b").status == 403)
    }

    @Test func aNodeGetsTokensOnlyForItsOwnPods() async throws {
        let (t, webUID, farUID) = try await cluster()
        func token(_ account: String, pod: String?, uid: String) async -> TestServer.Reply {
            var spec: JSONValue = ["expirationSeconds": 3607]
            if let pod { spec["boundObjectRef"] = ["apiVersion": "v1", "kind": "Pod", "name": .string(pod), "uid": .string(uid)] }
            return await asNode(t, .POST, "/api/v1/namespaces/default/serviceaccounts/\(account)/token",
                                body: ["apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec])
        }
        #expect(await token("builder", pod: "web", uid: webUID).status == 201)
        #expect(await token("builder", pod: nil, uid: "").json["message"]
            == #"serviceaccounts "builder" is forbidden: node requested token not bound to a pod"#)
        #expect(await token("builder", pod: "web", uid: "").json["message"]
            == #"serviceaccounts "builder" is forbidden: node requested token with a pod binding without a uid"#)
        #expect(await token("builder", pod: "far", uid: farUID).json["message"]
            == #"serviceaccounts "builder" is forbidden: node requested token bound to a pod scheduled on a different node"#)
        // No pod of node a runs as `default`.
        #expect(await token("default", pod: "web", uid: webUID).status == 403)
    }
}
