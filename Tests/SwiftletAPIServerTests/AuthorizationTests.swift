import Crypto
import Foundation
import NIOHTTP1
import Testing
import SwiftletAPI
import SwiftletMachinery
import SwiftletPKI
@testable import SwiftletAPIServer

/// Requests through RBAC: upstream's 403 wording, the bootstrap policy, reviews (what
/// `kubectl auth can-i` and `whoami` send), impersonation, and escalation prevention.
@Suite struct AuthorizationTests {
    static let alice = "alice-token"
    static let node = "node-token"

    func server() throws -> TestServer {
        try TestServer(configure: {
            $0.tokens[Self.alice] = UserInfo(name: "alice", groups: ["dev"])
            $0.tokens[Self.node] = UserInfo(name: "system:node-bootstrap", groups: ["system:nodes"])
        })
    }

    static func binding(_ name: String, namespace: String, role: String, kind: String = "ClusterRole", user: String = "alice") -> JSONValue {
        ["apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": ["name": .string(name), "namespace": .string(namespace)],
         "roleRef": ["apiGroup": "rbac.authorization.k8s.io", "kind": .string(kind), "name": .string(role)],
         "subjects": [["apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": .string(user)]]]
    }

    @Test func refusalsNameTheUserVerbResourceAndScope() async throws {
        let t = try server()
        let list = await t.request(.GET, "/api/v1/namespaces/default/pods", token: Self.alice)
        #expect(list.status == 403)
        #expect(list.json["reason"] == "Forbidden")
        #expect(list.json["message"] == #"pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "default""#)
        #expect(list.json["details"] == ["kind": "pods"])
        let get = await t.request(.GET, "/apis/apps/v1/namespaces/default/deployments/web/scale", token: Self.alice)
        #expect(get.json["message"] == #"deployments.apps "web" is forbidden: User "alice" cannot get resource "deployments/scale" in API group "apps" in the namespace "default""#)
        let nodes = await t.request(.GET, "/api/v1/nodes", token: Self.alice)
        #expect(nodes.json["message"] == #"nodes is forbidden: User "alice" cannot list resource "nodes" in API group "" at the cluster scope"#)
        let path = await t.request(.GET, "/metrics", token: Self.alice)
        #expect(path.json["message"] == #"forbidden: User "alice" cannot get path "/metrics""#)
        // Discovery, OpenAPI and version are everyone's.
        #expect(await t.request(.GET, "/apis", token: Self.alice).status == 200)
        #expect(await t.request(.GET, "/api/v1", token: Self.alice).status == 200)
        #expect(await t.request(.GET, "/openapi/v3", token: Self.alice).status == 200)
    }

    @Test func aRoleBindingToViewOpensReadsInItsNamespaceOnly() async throws {
        let t = try server()
        #expect(await t.request(.POST, "/api/v1/namespaces", body: ["metadata": ["name": "dev"]]).status == 201)
        #expect(await t.request(.POST, "/apis/rbac.authorization.k8s.io/v1/namespaces/dev/rolebindings",
                                body: Self.binding("alice-view", namespace: "dev", role: "view")).status == 201)
        // view is aggregated by the controller; written directly here, as it would be.
        let view = await t.request(.GET, "/apis/rbac.authorization.k8s.io/v1/clusterroles/system:aggregate-to-view")
        var aggregated = await t.request(.GET, "/apis/rbac.authorization.k8s.io/v1/clusterroles/view").json
        aggregated["rules"] = view.json["rules"]
        #expect(await t.request(.PUT, "/apis/rbac.authorization.k8s.io/v1/clusterroles/view", body: aggregated).status == 200)

        #expect(await t.request(.GET, "/api/v1/namespaces/dev/pods", token: Self.alice).status == 200)
        #expect(await t.request(.GET, "/api/v1/namespaces/default/pods", token: Self.alice).status == 403)
        #expect(await t.request(.POST, "/api/v1/namespaces/dev/configmaps", body: TestServer.configMap("c"), token: Self.alice).status == 403)
        // Secrets are not in view.
        #expect(await t.request(.GET, "/api/v1/namespaces/dev/secrets", token: Self.alice).status == 403)
    }

    @Test func reviewsAnswerWhatTheAPIAllows() async throws {
        let t = try server()
        let review: JSONValue = ["apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                                 "spec": ["resourceAttributes": ["namespace": "default", "verb": "list", "resource": "pods"]]]
        let denied = await t.request(.POST, "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body: review, token: Self.alice)
        #expect(denied.status == 201)
        #expect(denied.json[path: "status", "allowed"] == false)
        let allowed = await t.request(.POST, "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body: review)
        #expect(allowed.json[path: "status", "allowed"] == true)

        let whoami = await t.request(.POST, "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                                     body: ["apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"], token: Self.alice)
        #expect(whoami.json[path: "status", "userInfo"] == ["username": "alice", "groups": ["dev", "system:authenticated"]])

        let rules = await t.request(.POST, "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
                                    body: ["apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview", "spec": ["namespace": "default"]],
                                    token: Self.alice)
        let resourceRules = rules.json[path: "status", "resourceRules"]?.arrayValue ?? []
        #expect(resourceRules.contains { FieldRead.strings($0["resources"]).contains("selfsubjectaccessreviews") })
        #expect(!resourceRules.contains { FieldRead.strings($0["resources"]).contains("pods") })

        // SubjectAccessReview asks about someone else, and needs its own permission.
        let about: JSONValue = ["apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                                "spec": ["user": "bob", "groups": ["system:masters"], "resourceAttributes": ["verb": "delete", "resource": "nodes"]]]
        #expect(await t.request(.POST, "/apis/authorization.k8s.io/v1/subjectaccessreviews", body: about).json[path: "status", "allowed"] == true)
        #expect(await t.request(.POST, "/apis/authorization.k8s.io/v1/subjectaccessreviews", body: about, token: Self.alice).status == 403)
        #expect(await t.request(.GET, "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews").status == 405)
        let discovery = await t.request(.GET, "/apis/authorization.k8s.io/v1").json["resources"]?.arrayValue ?? []
        #expect(discovery.contains { $0["name"] == "selfsubjectaccessreviews" && $0["verbs"] == ["create"] })
    }

    @Test func impersonationNeedsTheImpersonateVerb() async throws {
        let t = try server()
        let asAlice: HTTPHeaders = ["Impersonate-User": "alice", "Impersonate-Group": "dev"]
        let impersonated = await t.request(.GET, "/api/v1/namespaces/default/pods", headers: asAlice)
        #expect(impersonated.json["message"] == #"pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "default""#)
        let whoami = await t.request(.POST, "/apis/authentication.k8s.io/v1/selfsubjectreviews", body: ["kind": "SelfSubjectReview"], headers: asAlice)
        #expect(whoami.json[path: "status", "userInfo", "groups"] == ["dev", "system:authenticated"])

        let refused = await t.request(.GET, "/api/v1/namespaces/default/pods", token: Self.alice, headers: ["Impersonate-User": "admin"])
        #expect(refused.status == 403)
        #expect(refused.json["message"] == #"users "admin" is forbidden: User "alice" cannot impersonate resource "users" in API group "" at the cluster scope"#)
    }

    @Test func rolesAndBindingsCannotGrantWhatTheWriterLacks() async throws {
        let t = try server()
        // alice may manage RBAC in dev (admin there), and nothing more.
        #expect(await t.request(.POST, "/api/v1/namespaces", body: ["metadata": ["name": "dev"]]).status == 201)
        let aggregateAdmin = await t.request(.GET, "/apis/rbac.authorization.k8s.io/v1/clusterroles/system:aggregate-to-admin").json
        #expect(await t.request(.POST, "/apis/rbac.authorization.k8s.io/v1/namespaces/dev/roles", body: [
            "metadata": ["name": "rbac-admin"], "rules": aggregateAdmin["rules"] ?? [],
        ]).status == 201)
        #expect(await t.request(.POST, "/apis/rbac.authorization.k8s.io/v1/namespaces/dev/rolebindings",
                                body: Self.binding("alice-rbac", namespace: "dev", role: "rbac-admin", kind: "Role")).status == 201)

        let secretsRole: JSONValue = ["metadata": ["name": "secrets"], "rules": [["verbs": ["get", "list"], "apiGroups": [""], "resources": ["secrets"]]]]
        let escalation = await t.request(.POST, "/apis/rbac.authorization.k8s.io/v1/namespaces/dev/roles", body: secretsRole, token: Self.alice)
        #expect(escalation.status == 403)
        #expect(escalation.json["message"] == #"""
            roles.rbac.authorization.k8s.io "secrets" is forbidden: user "alice" (groups=["dev" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:
            {APIGroups:[""], Resources:["secrets"], Verbs:["get" "list"]}
            """#)
        // A role within what alice holds is fine; binding cluster-admin is not.
        let within: JSONValue = ["metadata": ["name": "binder"], "rules": [["verbs": ["get"], "apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"]]]]
        #expect(await t.request(.POST, "/apis/rbac.authorization.k8s.io/v1/namespaces/dev/roles", body: within, token: Self.alice).status == 201)
        let bindAdmin = await t.request(.POST, "/apis/rbac.authorization.k8s.io/v1/namespaces/dev/rolebindings",
                                        body: Self.binding("alice-admin", namespace: "dev", role: "cluster-admin"), token: Self.alice)
        #expect(bindAdmin.status == 403)
        #expect((bindAdmin.json["message"]?.stringValue ?? "").hasPrefix(#"rolebindings.rbac.authorization.k8s.io "alice-admin" is forbidden: user "alice""#))
        // With the bind verb on that role, the binding may be made.
        #expect(await t.request(.POST, "/apis/rbac.authorization.k8s.io/v1/namespaces/dev/roles", body: [
            "metadata": ["name": "bind-admin"],
            "rules": [["verbs": ["bind"], "apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"], "resourceNames": ["cluster-admin"]]],
        ]).status == 201)
        #expect(await t.request(.POST, "/apis/rbac.authorization.k8s.io/v1/namespaces/dev/rolebindings",
                                body: Self.binding("alice-bind", namespace: "dev", role: "bind-admin", kind: "Role")).status == 201)
        #expect(await t.request(.POST, "/apis/rbac.authorization.k8s.io/v1/namespaces/dev/rolebindings",
                                body: Self.binding("alice-admin", namespace: "dev", role: "cluster-admin"), token: Self.alice).status == 201)
    }

    @Test func theNodesGroupWithoutANodesNameGetsNothing() async throws {
        let t = try server()
        #expect(await t.request(.GET, "/api/v1/namespaces/default/services", token: Self.node).status == 403)
        #expect(await t.request(.POST, "/api/v1/namespaces/default/secrets", body: ["metadata": ["name": "s"]], token: Self.node).status == 403)
        #expect(await t.request(.DELETE, "/apis/apps/v1/namespaces/default/deployments/web", token: Self.node).status == 403)
    }

    @Test func bindingsAndRolesAreValidatedAsUpstream() async throws {
        let t = try server()
        let bad = await t.request(.POST, "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", body: [
            "metadata": ["name": "bad"], "roleRef": ["kind": "Role", "name": "x"],
            "subjects": [["kind": "ServiceAccount", "name": "app"], ["kind": "Robot", "name": "r"]],
        ])
        #expect(bad.status == 422)
        let message = bad.json["message"]?.stringValue ?? ""
        #expect(message.contains(#"roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole""#))
        #expect(message.contains("subjects[0].namespace: Required value"))
        #expect(message.contains(#"subjects[1].kind: Unsupported value: "Robot""#))
        let rule = await t.request(.POST, "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles", body: [
            "metadata": ["name": "r"], "rules": [["verbs": ["get"], "nonResourceURLs": ["/healthz"]], ["resources": ["pods"]]],
        ])
        let ruleMessage = rule.json["message"]?.stringValue ?? ""
        #expect(ruleMessage.contains("rules[0].nonResourceURLs: Invalid value: [\"/healthz\"]: namespaced rules cannot apply to non-resource URLs"))
        #expect(ruleMessage.contains("rules[1].verbs: Required value: verbs must contain at least one value"))
        #expect(ruleMessage.contains("rules[1].apiGroups: Required value: resource rules must supply at least one api group"))
        // The role reference of a binding cannot change.
        #expect(await t.request(.POST, "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings",
                                body: Self.binding("b", namespace: "default", role: "view")).status == 201)
        var changed = await t.request(.GET, "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings/b").json
        changed[path: "roleRef", "name"] = "edit"
        let immutable = await t.request(.PUT, "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings/b", body: changed)
        #expect((immutable.json["message"]?.stringValue ?? "").contains("roleRef: Invalid value"))
        #expect((immutable.json["message"]?.stringValue ?? "").contains("cannot change roleRef"))
    }
}

/// ServiceAccount tokens through the API: TokenRequest (`kubectl create token`), their use as
/// bearer tokens, binding to a pod, TokenReview.
@Suite struct ServiceAccountTokenTests {
    func server() throws -> TestServer {
        try TestServer(configure: { $0.serviceAccountTokens = ServiceAccountTokens(key: P256.Signing.PrivateKey()) })
    }

    func token(_ t: TestServer, _ account: String, body: JSONValue = ["spec": [:]]) async -> TestServer.Reply {
        await t.request(.POST, "/api/v1/namespaces/default/serviceaccounts/\(account)/token", body: body)
    }

    @Test func aRequestedTokenActsAsItsServiceAccountUntilItGoes() async throws {
        let t = try server()
        #expect(await token(t, "app").status == 404)
        #expect(await t.request(.POST, "/api/v1/namespaces/default/serviceaccounts", body: ["metadata": ["name": "app"]]).status == 201)
        let issued = await token(t, "app")
        #expect(issued.status == 201)
        #expect(issued.json["kind"] == "TokenRequest")
        #expect(issued.json[path: "spec", "audiences"] == ["https://kubernetes.default.svc.cluster.local"])
        #expect(issued.json[path: "spec", "expirationSeconds"] == 3600)
        let jwt = try #require(issued.json[path: "status", "token"]?.stringValue)

        let whoami = await t.request(.POST, "/apis/authentication.k8s.io/v1/selfsubjectreviews", body: ["kind": "SelfSubjectReview"], token: jwt)
        #expect(whoami.json[path: "status", "userInfo", "username"] == "system:serviceaccount:default:app")
        #expect(whoami.json[path: "status", "userInfo", "groups"] == ["system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"])
        let refused = await t.request(.GET, "/api/v1/namespaces/default/pods", token: jwt)
        #expect(refused.json["message"] == #"pods is forbidden: User "system:serviceaccount:default:app" cannot list resource "pods" in API group "" in the namespace "default""#)

        let review = await t.request(.POST, "/apis/authentication.k8s.io/v1/tokenreviews", body: ["kind": "TokenReview", "spec": ["token": .string(jwt)]])
        #expect(review.json[path: "status", "authenticated"] == true)
        #expect(review.json[path: "status", "user", "username"] == "system:serviceaccount:default:app")
        let bogus = await t.request(.POST, "/apis/authentication.k8s.io/v1/tokenreviews", body: ["kind": "TokenReview", "spec": ["token": "x.y.z"]])
        #expect(bogus.json[path: "status", "authenticated"] == false)

        // Deleting the ServiceAccount ends its tokens, even one recreated under the same name.
        #expect(await t.request(.DELETE, "/api/v1/namespaces/default/serviceaccounts/app").status == 200)
        #expect(await t.request(.POST, "/api/v1/namespaces/default/serviceaccounts", body: ["metadata": ["name": "app"]]).status == 201)
        #expect(await t.request(.GET, "/api/v1/namespaces/default/pods", token: jwt).status == 401)
    }

    @Test func boundTokensEndWithTheirPodAndShortOnesAreRefused() async throws {
        let t = try server()
        #expect(await t.request(.POST, "/api/v1/namespaces/default/serviceaccounts", body: ["metadata": ["name": "app"]]).status == 201)
        let short = await token(t, "app", body: ["spec": ["expirationSeconds": 60]])
        #expect(short.status == 422)
        #expect(short.json["message"] == #"TokenRequest.authentication.k8s.io "app" is invalid: spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes"#)
        #expect(await token(t, "app", body: ["spec": ["boundObjectRef": ["kind": "Pod", "name": "web"]]]).status == 404)

        let pod: JSONValue = ["apiVersion": "v1", "kind": "Pod", "metadata": ["name": "web"],
                              "spec": ["serviceAccountName": "app", "containers": [["name": "c", "image": "nginx"]]]]
        #expect(await t.request(.POST, "/api/v1/namespaces/default/pods", body: pod).status == 201)
        let bound = await token(t, "app", body: ["spec": ["boundObjectRef": ["kind": "Pod", "apiVersion": "v1", "name": "web"]]])
        let jwt = try #require(bound.json[path: "status", "token"]?.stringValue)
        let whoami = await t.request(.POST, "/apis/authentication.k8s.io/v1/selfsubjectreviews", body: ["kind": "SelfSubjectReview"], token: jwt)
        #expect(whoami.json[path: "status", "userInfo", "extra", "authentication.kubernetes.io/pod-name"] == ["web"])
        #expect(await t.request(.DELETE, "/api/v1/namespaces/default/pods/web?gracePeriodSeconds=0").status == 200)
        #expect(await t.request(.POST, "/apis/authentication.k8s.io/v1/selfsubjectreviews", body: ["kind": "SelfSubjectReview"], token: jwt).status == 401)
    }
}

/// The join token's one right: trading itself for a node's credentials.
@Suite struct NodeCredentialTests {
    @Test func theJoinTokenGetsAnyNodesCredentialsAndANodeOnlyItsOwn() async throws {
        let t = try TestServer(configure: {
            $0.tokens["join"] = UserInfo(name: "system:node-bootstrap", groups: ["system:bootstrappers"])
            $0.tokens["node-a"] = UserInfo(name: "system:node:a", groups: ["system:nodes"])
            $0.issueNodeClientCertificate = { node in ("CERT \(node)", "KEY \(node)") }
        })
        let path = "/v1-swiftlet/node-client-certificate"
        let issued = await t.request(.POST, path, body: ["nodeName": "b", "nodePassword": "pb"], token: "join")
        #expect(issued.status == 201)
        #expect(issued.json == ["certificate": "CERT b", "key": "KEY b"])
        #expect(await t.request(.POST, path, body: ["nodeName": "a", "nodePassword": "pa"], token: "node-a").status == 201)
        let other = await t.request(.POST, path, body: ["nodeName": "b", "nodePassword": "pb"], token: "node-a")
        #expect(other.status == 403)
        #expect(other.json["message"] == #"forbidden: User "system:node:a" cannot ask for the credentials of node "b""#)
        #expect(await t.request(.POST, path, body: ["nodeName": "Not_A_Name", "nodePassword": "p"], token: "join").status == 422)
        #expect(await t.request(.POST, path, body: ["nodeName": "c"], token: "join").status == 422)

        // Node passwords, as k3s's: once node b exists, its name answers only to its password.
        #expect(await t.request(.POST, "/api/v1/nodes", body: ["metadata": ["name": "b"]]).status == 201)
        let taken = await t.request(.POST, path, body: ["nodeName": "b", "nodePassword": "guess"], token: "join")
        #expect(taken.status == 403)
        #expect((taken.json["message"]?.stringValue ?? "").contains(#"node password rejected: node "b" joined with another password"#))
        #expect(await t.request(.POST, path, body: ["nodeName": "b", "nodePassword": "pb"], token: "join").status == 201)
        let stored = await t.request(.GET, "/api/v1/namespaces/kube-system/secrets/b.node-password.swiftlet")
        #expect(stored.json["type"] == "swiftlet.io/node-password")
        let hash = String(decoding: Data(base64Encoded: stored.json[path: "data", "hash"]?.stringValue ?? "") ?? Data(), as: UTF8.self)
        #expect(hash.hasPrefix("sha256$") && !hash.contains("pb"))
        // Deleting the Node frees its name for a new machine.
        #expect(await t.request(.DELETE, "/api/v1/nodes/b").status == 200)
        #expect(await t.request(.POST, path, body: ["nodeName": "b", "nodePassword": "new"], token: "join").status == 201)
        // Nothing else is the join token's.
        #expect(await t.request(.GET, "/api/v1/pods", token: "join").status == 403)
        #expect(await t.request(.GET, "/api/v1/pods?fieldSelector=spec.nodeName%3Da", token: "node-a").status == 200)
        #expect(await t.request(.GET, "/api/v1/pods", token: "node-a").status == 403)
    }
}
