import Foundation
import Testing
import SwiftletMachinery
@testable import SwiftletAPIServer

/// Upstream's ServiceAccount admission on pod creation, through the API.
@Suite struct ServiceAccountAdmissionTests {
    static func server() throws -> TestServer {
        try TestServer(configure: { config in
            config.serviceAccountAdmission = true
            config.nameSuffix = { "abcde" }
        })
    }

    static func pod(_ name: String, _ spec: JSONValue = [:]) -> JSONValue {
        var spec = spec
        if spec["containers"] == nil { spec["containers"] = [["name": "c", "image": "registry.example/app:1"]] }
        return ["metadata": ["name": .string(name)], "spec": spec]
    }

    static func account(_ t: TestServer, _ name: String, _ fields: JSONValue = [:]) async {
        var body = fields
        body["metadata"] = ["name": .string(name)]
        #expect(await t.request(.POST, "/api/v1/namespaces/default/serviceaccounts", body: body).status == 201)
    }

    @Test func aPodWithoutPullSecretsGetsThoseOfItsServiceAccount() async throws {
        let t = try Self.server()
        await Self.account(t, "default", ["imagePullSecrets": [["name": "hub"]]])
        await Self.account(t, "builder", ["imagePullSecrets": [["name": "private"], ["name": "mirror"]]])
        let plain = await t.request(.POST, "/api/v1/namespaces/default/pods", body: Self.pod("plain"))
        #expect(plain.json[path: "spec", "imagePullSecrets"] == [["name": "hub"]])
        let named = await t.request(.POST, "/api/v1/namespaces/default/pods", body: Self.pod("named", ["serviceAccountName": "builder"]))
        #expect(named.json[path: "spec", "imagePullSecrets"] == [["name": "private"], ["name": "mirror"]])
        // A pod's own secrets are kept, not merged with the account's.
        let own = await t.request(.POST, "/api/v1/namespaces/default/pods",
                                  body: Self.pod("own", ["serviceAccountName": "builder", "imagePullSecrets": [["name": "mine"]]]))
        #expect(own.json[path: "spec", "imagePullSecrets"] == [["name": "mine"]])
    }

    @Test func aPodGetsTheTokenVolumeInEveryContainer() async throws {
        let t = try Self.server()
        await Self.account(t, "default")
        let created = await t.request(.POST, "/api/v1/namespaces/default/pods", body: Self.pod("web", [
            "initContainers": [["name": "init", "image": "registry.example/app:1"]],
            "containers": [
                ["name": "a", "image": "registry.example/app:1"],
                // A container with its own mount at the path keeps it.
                ["name": "b", "image": "registry.example/app:1", "volumeMounts": [["name": "mine", "mountPath": .string(ServiceAccountAdmission.mountPath)]]],
            ],
            "volumes": [["name": "mine", "emptyDir": [:]]],
        ]))
        #expect(created.status == 201)
        let spec = created.json["spec"] ?? .null
        #expect(spec["serviceAccountName"] == "default")
        #expect(spec["serviceAccount"] == "default")
        let mount: JSONValue = ["name": "kube-api-access-abcde", "readOnly": true, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"]
        #expect(spec[path: "initContainers"]?[0]?["volumeMounts"] == [mount])
        #expect(spec[path: "containers"]?[0]?["volumeMounts"] == [mount])
        #expect(spec[path: "containers"]?[1]?["volumeMounts"]?.arrayValue?.count == 1)
        let volume = spec["volumes"]?.arrayValue?.first { $0["name"] == "kube-api-access-abcde" }
        #expect(volume?[path: "projected", "defaultMode"] == 420)
        #expect(volume?[path: "projected", "sources"]?[0]?["serviceAccountToken"] == ["expirationSeconds": 3607, "path": "token"])
        #expect(volume?[path: "projected", "sources"]?[1]?[path: "configMap", "name"] == "kube-root-ca.crt")
        #expect(volume?[path: "projected", "sources"]?[2]?[path: "downwardAPI", "items"]?[0]?[path: "fieldRef", "fieldPath"] == "metadata.namespace")
    }

    @Test func automountServiceAccountTokenIsThePodsThenTheAccounts() async throws {
        let t = try Self.server()
        await Self.account(t, "default")
        await Self.account(t, "quiet", ["automountServiceAccountToken": false])
        func mounts(_ name: String, _ spec: JSONValue) async -> Bool {
            let created = await t.request(.POST, "/api/v1/namespaces/default/pods", body: Self.pod(name, spec))
            #expect(created.status == 201, "\(created.text)")
            return created.json[path: "spec", "volumes"]?.arrayValue?.isEmpty == false
        }
        #expect(await mounts("plain", [:]))
        #expect(!(await mounts("off", ["automountServiceAccountToken": false])))
        #expect(!(await mounts("quiet", ["serviceAccountName": "quiet"])))
        #expect(await mounts("quiet-but-asked", ["serviceAccountName": "quiet", "automountServiceAccountToken": true]))
        // The deprecated spelling names the account too.
        #expect(!(await mounts("deprecated", ["serviceAccount": "quiet"])))
    }

    @Test func aPodOfAMissingServiceAccountIsForbidden() async throws {
        let t = try Self.server()
        await Self.account(t, "default")
        let refused = await t.request(.POST, "/api/v1/namespaces/default/pods", body: Self.pod("web", ["serviceAccountName": "ghost"]))
        #expect(refused.status == 403)
        #expect(refused.json["message"] == #"pods "web" is forbidden: error looking up service account default/ghost: serviceaccount "ghost" not found"#)
        #expect(await t.request(.GET, "/api/v1/namespaces/default/pods/web").status == 404)
    }

    @Test func aPodCreatedJustAfterItsNamespaceWaitsForTheDefaultAccount() async throws {
        let t = try Self.server()
        #expect(await t.request(.POST, "/api/v1/namespaces", body: ["metadata": ["name": "fresh"]]).status == 201)
        // The controller's part, a moment after the pod's create arrived.
        let controller = Task {
            try await Task.sleep(for: .milliseconds(200))
            return await t.request(.POST, "/api/v1/namespaces/fresh/serviceaccounts", body: ["metadata": ["name": "default"]]).status
        }
        let created = await t.request(.POST, "/api/v1/namespaces/fresh/pods", body: Self.pod("early"))
        #expect(try await controller.value == 201)
        #expect(created.status == 201, "\(created.text)")
        #expect(created.json[path: "spec", "serviceAccountName"] == "default")
    }
}
