import Foundation
import Testing
import SwiftletAPI
import SwiftletMachinery
import SwiftletTestSupport
@testable import SwiftletAPIServer

/// Upstream's update and delete semantics that clients such as Helm and kubectl drain rely on.
@Suite struct UpdateSemanticsTests {
    @Test func aPutWithoutResourceVersionReplacesWhatIsStored() async throws {
        let t = try TestServer()
        let uri = "/api/v1/namespaces/default/configmaps"
        #expect(await t.request(.POST, uri, body: TestServer.configMap("release", data: ["v": "1"])).status == 201)
        // Helm updates its release Secrets this way.
        let replaced = await t.request(.PUT, "\(uri)/release", body: TestServer.configMap("release", data: ["v": "2"]))
        #expect(replaced.status == 200)
        #expect(replaced.json[path: "data", "v"] == "2")
        // A stale resourceVersion is still a conflict.
        var stale = TestServer.configMap("release", data: ["v": "3"])
        stale[path: "metadata", "resourceVersion"] = "1"
        #expect(await t.request(.PUT, "\(uri)/release", body: stale).status == 409)
        #expect(await t.request(.GET, "\(uri)/release").json[path: "data", "v"] == "2")
    }

    @Test func aResourceThatRefusesUnconditionalUpdatesSaysSo() async throws {
        let t = try TestServer()
        var type = ResourceRegistryTests.widgetType
        type.allowsUnconditionalUpdate = false
        try t.server.registry.register(type, strategy: DefaultStrategy())
        let uri = "/apis/example.com/v1/namespaces/default/widgets"
        #expect(await t.request(.POST, uri, body: ResourceRegistryTests.widget("w", size: 1)).status == 201)
        let put = await t.request(.PUT, "\(uri)/w", body: ResourceRegistryTests.widget("w", size: 2))
        #expect(put.status == 422)
        #expect(put.json["message"] == #"Widget.example.com "w" is invalid: metadata.resourceVersion: Invalid value: "": must be specified for an update"#)
    }

    @Test func aPatchThatSetsResourceVersionIsConditionalOnIt() async throws {
        let t = try TestServer()
        let uri = "/api/v1/namespaces/default/configmaps"
        let created = await t.request(.POST, uri, body: TestServer.configMap("c"))
        let version = try #require(created.json[path: "metadata", "resourceVersion"]?.stringValue)
        let current = await t.request(.PATCH, "\(uri)/c", body: ["metadata": ["resourceVersion": .string(version)], "data": ["k": "w"]],
                                      contentType: "application/merge-patch+json")
        #expect(current.status == 200)
        let stale = await t.request(.PATCH, "\(uri)/c", body: ["metadata": ["resourceVersion": .string(version)], "data": ["k": "x"]],
                                    contentType: "application/merge-patch+json")
        #expect(stale.status == 409)
        #expect(stale.json["reason"] == "Conflict")
        #expect(await t.request(.GET, "\(uri)/c").json[path: "data", "k"] == "w")
    }

    /// DeleteOptions{propagationPolicy: Orphan}, as client-go's typed clients send it.
    static func protobufDeleteOptions(policy: String, apiVersion: String = "v1", kind: String = "DeleteOptions") -> [UInt8] {
        PB.body(apiVersion, kind, [.string(4, policy)])
    }

    @Test func deleteOptionsMayComeAsProtobuf() async throws {
        let t = try TestServer()
        let deployments = "/apis/apps/v1/namespaces/default/deployments"
        #expect(await t.request(.POST, deployments, body: TestServer.deployment("web")).status == 201)
        let deleted = await t.request(.DELETE, "\(deployments)/web", rawBody: Self.protobufDeleteOptions(policy: "Orphan"),
                                      contentType: KubernetesProtobuf.mediaType)
        #expect(deleted.status == 200)
        // Orphan is a finalizer the garbage collector runs: the object waits for it.
        #expect(deleted.json[path: "metadata", "finalizers"] == ["orphan"])

        _ = await t.request(.POST, "/api/v1/namespaces/default/configmaps", body: TestServer.configMap("a"))
        _ = await t.request(.POST, "/api/v1/namespaces/default/configmaps", body: TestServer.configMap("b"))
        let collection = await t.request(.DELETE, "/api/v1/namespaces/default/configmaps",
                                         rawBody: Self.protobufDeleteOptions(policy: "Background"), contentType: KubernetesProtobuf.mediaType)
        #expect(collection.status == 200)
        #expect(await t.request(.GET, "/api/v1/namespaces/default/configmaps").json["items"]?.arrayValue?.isEmpty == true)

        let wrongKind = await t.request(.DELETE, "\(deployments)/web", rawBody: Self.protobufDeleteOptions(policy: "Orphan", kind: "Pod"),
                                        contentType: KubernetesProtobuf.mediaType)
        #expect(wrongKind.status == 400)
        let garbage = await t.request(.DELETE, "\(deployments)/web", rawBody: [0x6B, 0x38, 0x73, 0x00, 0xFF, 0xFF],
                                      contentType: KubernetesProtobuf.mediaType)
        #expect(garbage.status == 400)
        let badPolicy = await t.request(.DELETE, "\(deployments)/web", rawBody: Self.protobufDeleteOptions(policy: "Sideways"),
                                        contentType: KubernetesProtobuf.mediaType)
        #expect(badPolicy.status == 422)
    }

    static func service(_ name: String, _ spec: JSONValue) -> JSONValue {
        ["apiVersion": "v1", "kind": "Service", "metadata": ["name": .string(name)], "spec": spec]
    }

    @Test func aServiceBecomingExternalNameGivesItsAddressesBack() async throws {
        let t = try TestServer()
        let uri = "/api/v1/namespaces/default/services"
        let created = await t.request(.POST, uri, body: Self.service("db", [
            "type": "NodePort", "selector": ["app": "db"], "ports": [["port": 5432]],
        ]))
        #expect(created.status == 201)
        let ip = try #require(created.json[path: "spec", "clusterIP"]?.stringValue)
        let nodePort = try #require(created.json[path: "spec", "ports"]?[0]?["nodePort"]?.intValue)

        // What kubectl apply's merge patch leaves: the allocated fields as they were.
        var changed = created.json
        changed[path: "spec", "type"] = "ExternalName"
        changed[path: "spec", "externalName"] = "db.example.com"
        changed[path: "spec", "selector"] = nil
        let external = await t.request(.PUT, "\(uri)/db", body: changed)
        #expect(external.status == 200, "\(external.text)")
        #expect(external.json[path: "spec", "clusterIP"] == nil)
        #expect(external.json[path: "spec", "clusterIPs"] == nil)
        #expect(external.json[path: "spec", "ipFamilies"] == nil)
        #expect(external.json[path: "spec", "ports"]?[0]?["nodePort"] == nil)

        // Both are free again: another Service may ask for them.
        let taker = await t.request(.POST, uri, body: Self.service("taker", [
            "type": "NodePort", "clusterIP": .string(ip), "ports": [["port": 80, "nodePort": .int(nodePort)]],
        ]))
        #expect(taker.status == 201, "\(taker.text)")

        // Back to ClusterIP, it gets a new address.
        var back = external.json
        back[path: "spec", "type"] = "ClusterIP"
        back[path: "spec", "externalName"] = nil
        let clusterIP = await t.request(.PUT, "\(uri)/db", body: back)
        #expect(clusterIP.status == 200, "\(clusterIP.text)")
        let newIP = try #require(clusterIP.json[path: "spec", "clusterIP"]?.stringValue)
        #expect(newIP != ip)
        #expect(clusterIP.json[path: "spec", "clusterIPs"] == [.string(newIP)])
    }

    @Test func changingTheAddressWhileBecomingExternalNameIsStillRefused() async throws {
        let t = try TestServer()
        let uri = "/api/v1/namespaces/default/services"
        let created = await t.request(.POST, uri, body: Self.service("db", ["ports": [["port": 5432]]]))
        var changed = created.json
        changed[path: "spec", "type"] = "ExternalName"
        changed[path: "spec", "externalName"] = "db.example.com"
        changed[path: "spec", "clusterIP"] = "10.43.0.99"
        changed[path: "spec", "clusterIPs"] = ["10.43.0.99"]
        let refused = await t.request(.PUT, "\(uri)/db", body: changed)
        #expect(refused.status == 422)
        #expect(refused.json["message"]?.stringValue?.contains("may not be set for ExternalName services") == true)
    }
}
