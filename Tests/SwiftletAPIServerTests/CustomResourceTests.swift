import Foundation
import Testing
import SwiftletAPI
import SwiftletMachinery
import SwiftletStorage
@testable import SwiftletAPIServer

/// CustomResourceDefinitions served in process: established at once, their resources served
/// in every served version, kept across restarts, and deleted with their definition.
@Suite struct CustomResourceTests {
    static let crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    static let widgets = "/apis/example.com/v1/namespaces/default/widgets"

    static func crd(kind: String = "Widget", plural: String = "widgets") -> JSONValue {
        [
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": ["name": .string("\(plural).example.com")],
            "spec": [
                "group": "example.com", "scope": "Namespaced", "names": ["plural": .string(plural), "kind": .string(kind)],
                "versions": [
                    ["name": "v1", "served": true, "storage": true, "subresources": ["status": [:]], "schema": ["openAPIV3Schema": [
                        "type": "object",
                        "properties": ["spec": ["type": "object", "properties": ["size": ["type": "integer", "default": 1]]],
                                       "status": ["type": "object", "properties": ["ready": ["type": "boolean"]]]],
                    ]]],
                    ["name": "v1beta1", "served": true, "storage": false, "schema": ["openAPIV3Schema": [
                        "type": "object", "x-kubernetes-preserve-unknown-fields": true,
                    ]]],
                ],
            ],
        ]
    }

    static func widget(_ name: String, _ spec: JSONValue = [:], version: String = "v1") -> JSONValue {
        ["apiVersion": .string("example.com/\(version)"), "kind": "Widget", "metadata": ["name": .string(name)], "spec": spec]
    }

    @Test func aDefinitionIsEstablishedAndItsResourcesServed() async throws {
        let t = try TestServer()
        let created = await t.request(.POST, Self.crds, body: Self.crd())
        #expect(created.status == 201)
        let conditions = created.json[path: "status", "conditions"]?.arrayValue ?? []
        #expect(conditions.map { "\($0["type"]!.stringValue!)=\($0["status"]!.stringValue!)" } == ["NamesAccepted=True", "Established=True"])
        #expect(created.json[path: "metadata", "finalizers"] == ["customresourcecleanup.apiextensions.k8s.io"])
        #expect(created.json[path: "status", "storedVersions"] == ["v1"])

        let w = await t.request(.POST, Self.widgets, body: Self.widget("w1"))
        #expect(w.status == 201)
        #expect(w.json[path: "spec", "size"] == 1)  // defaulted
        // The other served version shows the same object under its apiVersion.
        let beta = await t.request(.GET, "/apis/example.com/v1beta1/namespaces/default/widgets/w1")
        #expect(beta.json["apiVersion"] == "example.com/v1beta1")
        #expect(beta.json[path: "spec", "size"] == 1)
        // Written through v1beta1, it is stored in v1.
        #expect(await t.request(.POST, "/apis/example.com/v1beta1/namespaces/default/widgets", body: Self.widget("w2", ["x": 1], version: "v1beta1")).status == 201)
        #expect(await t.request(.GET, "\(Self.widgets)/w2").json["apiVersion"] == "example.com/v1")
        let stored = try #require(try t.store.get("/widgets.example.com/default/w2"))
        #expect(try JSONParser.parse(stored.value).value["apiVersion"] == "example.com/v1")

        // Custom resources refuse unconditional updates and strategic merge patches, as upstream.
        let put = await t.request(.PUT, "\(Self.widgets)/w1", body: Self.widget("w1", ["size": 2]))
        #expect(put.status == 422)
        let smp = await t.request(.PATCH, "\(Self.widgets)/w1", body: ["spec": ["size": 2]], contentType: "application/strategic-merge-patch+json")
        #expect(smp.status == 415)
        let merge = await t.request(.PATCH, "\(Self.widgets)/w1", body: ["spec": ["size": 2]], contentType: "application/merge-patch+json")
        #expect(merge.json[path: "metadata", "generation"] == 2)
        let status = await t.request(.PATCH, "\(Self.widgets)/w1/status", body: ["status": ["ready": true]], contentType: "application/merge-patch+json")
        #expect(status.json[path: "status", "ready"] == true)
        #expect(status.json[path: "metadata", "generation"] == 2)

        // A second definition of the same kind in the group is not accepted.
        let clash = await t.request(.POST, Self.crds, body: Self.crd(kind: "Widget", plural: "gizmos"))
        let clashConditions = clash.json[path: "status", "conditions"]?.arrayValue ?? []
        #expect(clashConditions.first { $0["type"] == "NamesAccepted" }?["status"] == "False")
        #expect(clashConditions.first { $0["type"] == "NamesAccepted" }?["message"] == #""Widget" is already in use"#)
        #expect(await t.request(.GET, "/apis/example.com/v1/namespaces/default/gizmos").status == 404)
    }

    @Test func resourcesSurviveARestartAndGoWithTheirDefinition() async throws {
        let store = MemoryStore()
        let first = try TestServer(store: store)
        _ = await first.request(.POST, Self.crds, body: Self.crd())
        _ = await first.request(.POST, Self.widgets, body: Self.widget("kept"))
        first.server.shutdown()

        let t = try TestServer(store: store)
        let list = await t.request(.GET, Self.widgets)
        #expect(list.json["items"]?.arrayValue?.compactMap { $0[path: "metadata", "name"]?.stringValue } == ["kept"])
        let groups = await t.request(.GET, "/apis").json["groups"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
        #expect(groups.contains("example.com"))

        let deleted = await t.request(.DELETE, "\(Self.crds)/widgets.example.com")
        #expect(deleted.status == 200)
        #expect(await t.request(.GET, "\(Self.crds)/widgets.example.com").status == 404)
        #expect(await t.request(.GET, Self.widgets).status == 404)
        #expect(try store.get("/widgets.example.com/default/kept") == nil)
        // Defined again, it starts empty.
        _ = await t.request(.POST, Self.crds, body: Self.crd())
        #expect(await t.request(.GET, Self.widgets).json["items"]?.arrayValue?.isEmpty == true)
    }

    @Test func serverSideApplyMergesCustomListsByTheirSchemaKeys() async throws {
        let t = try TestServer()
        var crd = Self.crd()
        crd[path: "spec", "versions"] = [["name": "v1", "served": true, "storage": true, "schema": ["openAPIV3Schema": [
            "type": "object",
            "properties": ["spec": ["type": "object", "properties": [
                "routes": ["type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                           "items": ["type": "object", "properties": ["name": ["type": "string"], "to": ["type": "string"]]]],
                "owners": ["type": "array", "items": ["type": "string"]],
            ]]],
        ]]]]
        _ = await t.request(.POST, Self.crds, body: crd)
        let apply = "application/apply-patch+yaml"
        let first = await t.request(.PATCH, "\(Self.widgets)/w?fieldManager=a",
                                    body: Self.widget("w", ["routes": [["name": "x", "to": "1"]], "owners": ["a"]]), contentType: apply)
        #expect(first.status == 201)
        let second = await t.request(.PATCH, "\(Self.widgets)/w?fieldManager=b&force=true",
                                     body: Self.widget("w", ["routes": [["name": "y", "to": "2"]], "owners": ["b"]]), contentType: apply)
        #expect(second.status == 200)
        // A list-map keeps both managers' items; an atomic list is replaced.
        #expect(second.json[path: "spec", "routes"] == [["name": "x", "to": "1"], ["name": "y", "to": "2"]])
        #expect(second.json[path: "spec", "owners"] == ["b"])
    }

    @Test func theScaleSubresourceReadsAndWritesTheDefinitionsPaths() async throws {
        let t = try TestServer()
        var crd = Self.crd()
        crd[path: "spec", "versions"] = [["name": "v1", "served": true, "storage": true,
            "subresources": ["scale": ["specReplicasPath": ".spec.count", "statusReplicasPath": ".status.count",
                                       "labelSelectorPath": ".status.selector"]],
            "schema": ["openAPIV3Schema": ["type": "object", "x-kubernetes-preserve-unknown-fields": true]]]]
        #expect(await t.request(.POST, Self.crds, body: crd).status == 201)
        var widget = Self.widget("w", ["count": 2])
        widget["status"] = ["count": 1, "selector": "app=w"]
        #expect(await t.request(.POST, Self.widgets, body: widget).status == 201)

        let scale = await t.request(.GET, "\(Self.widgets)/w/scale")
        #expect(scale.json["kind"] == "Scale" && scale.json["apiVersion"] == "autoscaling/v1")
        #expect(scale.json[path: "spec", "replicas"] == 2)
        // Without a status subresource, status is written with the object.
        #expect(scale.json[path: "status"] == ["replicas": 1, "selector": "app=w"])

        let patched = await t.request(.PATCH, "\(Self.widgets)/w/scale", body: ["spec": ["replicas": 5]], contentType: "application/merge-patch+json")
        #expect(patched.status == 200)
        #expect(patched.json[path: "spec", "replicas"] == 5)
        #expect(await t.request(.GET, "\(Self.widgets)/w").json[path: "spec", "count"] == 5)
        let discovery = await t.request(.GET, "/apis/example.com/v1").json["resources"]?.arrayValue ?? []
        #expect(discovery.contains { $0["name"] == "widgets/scale" })
    }

    @Test func definitionsRefuseSchemaKeywordsAndScalePathsUpstreamRefuses() async throws {
        let t = try TestServer()
        var crd = Self.crd()
        crd[path: "spec", "versions"] = [["name": "v1", "served": true, "storage": true,
            "subresources": ["scale": ["specReplicasPath": ".status.count", "statusReplicasPath": "status.count"]],
            "schema": ["openAPIV3Schema": ["type": "object", "properties": [
                "spec": ["$ref": "#/definitions/x"], "list": ["type": "array", "items": [["type": "string"]]],
                "nothing": ["type": "null"],
            ]]]]]
        let refused = await t.request(.POST, Self.crds, body: crd)
        #expect(refused.status == 422)
        let causes = Set((refused.json[path: "details", "causes"]?.arrayValue ?? []).compactMap { $0["field"]?.stringValue })
        #expect(causes == [
            "spec.versions[0].schema.openAPIV3Schema.properties[spec].$ref",
            "spec.versions[0].schema.openAPIV3Schema.properties[list].items",
            "spec.versions[0].schema.openAPIV3Schema.properties[nothing].type",
            "spec.versions[0].subresources.scale.specReplicasPath",
            "spec.versions[0].subresources.scale.statusReplicasPath",
        ])
        let message = refused.json["message"]?.stringValue ?? ""
        #expect(message.contains("$ref is not supported"))
        #expect(message.contains(#"spec.versions[0].subresources.scale.specReplicasPath: Invalid value: ".status.count": should be a json path under .spec"#))
        #expect(message.contains(#"spec.versions[0].subresources.scale.statusReplicasPath: Invalid value: "status.count": must be a simple json path starting with ."#))
        #expect(await t.request(.GET, "\(Self.crds)/widgets.example.com").status == 404)
    }

    @Test func openAPIPublishesTheDefinitionsSchemaBesideTheBuiltInKinds() async throws {
        let t = try TestServer()
        var crd = Self.crd()
        crd[path: "spec", "versions", ] = [["name": "v1", "served": true, "storage": true, "schema": ["openAPIV3Schema": [
            "type": "object", "description": "A widget.",
            "properties": ["spec": ["type": "object", "properties": ["size": ["type": "integer", "description": "How big."]]]],
        ]]]]
        let before = await t.request(.GET, "/openapi/v3")
        #expect(before.json[path: "paths", "apis/example.com/v1"] == nil)
        #expect(await t.request(.POST, Self.crds, body: crd).status == 201)

        let index = await t.request(.GET, "/openapi/v3")
        let url = try #require(index.json[path: "paths", "apis/example.com/v1", "serverRelativeURL"]?.stringValue)
        let document = await t.request(.GET, url)
        let schemas = try #require(document.json[path: "components", "schemas"])
        let widget = try #require(schemas["com.example.v1.Widget"])
        #expect(widget["description"] == "A widget.")
        #expect(widget["x-kubernetes-group-version-kind"] == [["group": "example.com", "kind": "Widget", "version": "v1"]])
        #expect(widget[path: "properties", "spec", "properties", "size", "description"] == "How big.")
        // metadata is ObjectMeta's, referenced in version 3's form, and ObjectMeta comes along.
        #expect(widget[path: "properties", "metadata", "allOf"] == [["$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]])
        #expect(schemas["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]?["description"] != nil)

        // Built-in kinds carry upstream's definitions; version 2 refers to them as #/definitions/.
        let apps = await t.request(.GET, "/openapi/v3/apis/apps/v1")
        let deployment = try #require(apps.json[path: "components", "schemas", "io.k8s.api.apps.v1.Deployment"])
        #expect(deployment["description"] == "Deployment enables declarative updates for Pods and ReplicaSets.")
        #expect(apps.json[path: "components", "schemas", "io.k8s.api.core.v1.PodSpec"] != nil)
        let v2 = await t.request(.GET, "/openapi/v2")
        #expect(v2.json[path: "definitions", "io.k8s.api.apps.v1.Deployment", "properties", "spec", "$ref"] == "#/definitions/io.k8s.api.apps.v1.DeploymentSpec")
        #expect(v2.json[path: "definitions", "com.example.v1.Widget"] != nil)

        // Deleting the definition takes its document away.
        _ = await t.request(.DELETE, "\(Self.crds)/widgets.example.com")
        #expect(await t.request(.GET, "/openapi/v3").json[path: "paths", "apis/example.com/v1"] == nil)
    }

    @Test func selectableFieldsServeFieldSelectors() async throws {
        let t = try TestServer()
        var crd = Self.crd()
        crd[path: "spec", "versions"] = [["name": "v1", "served": true, "storage": true,
            "selectableFields": [["jsonPath": ".spec.color"], ["jsonPath": ".spec.size"]],
            "schema": ["openAPIV3Schema": ["type": "object", "properties": ["spec": ["type": "object", "properties": [
                "color": ["type": "string"], "size": ["type": "integer"], "tags": ["type": "array", "items": ["type": "string"]],
            ]]]]]]]
        #expect(await t.request(.POST, Self.crds, body: crd).status == 201)
        for (name, color, size) in [("a", "red", 1), ("b", "blue", 1), ("c", "red", 2)] {
            #expect(await t.request(.POST, Self.widgets, body: Self.widget(name, ["color": .string(color), "size": .int(Int64(size))])).status == 201)
        }
        let red = await t.request(.GET, "\(Self.widgets)?fieldSelector=spec.color%3Dred,spec.size%3D1")
        #expect((red.json["items"]?.arrayValue ?? []).map { $0[path: "metadata", "name"] } == ["a"])
        let unknown = await t.request(.GET, "\(Self.widgets)?fieldSelector=spec.tags%3Dx")
        #expect(unknown.status == 400)

        var bad = Self.crd(kind: "Gadget", plural: "gadgets")
        bad[path: "spec", "versions"] = [["name": "v1", "served": true, "storage": true,
            "selectableFields": [["jsonPath": ".spec.tags"], ["jsonPath": ".spec.nothing"], ["jsonPath": ".spec.color"], ["jsonPath": ".spec.color"], [:]],
            "schema": ["openAPIV3Schema": ["type": "object", "properties": ["spec": ["type": "object", "properties": [
                "color": ["type": "string"], "tags": ["type": "array", "items": ["type": "string"]],
            ]]]]]]]
        let refused = await t.request(.POST, Self.crds, body: bad)
        #expect(refused.status == 422)
        let message = refused.json["message"]?.stringValue ?? ""
        #expect(message.contains(#"spec.versions[0].selectableFields[0].jsonPath: Invalid value: ".spec.tags": must point to a field of type string, boolean or integer."#))
        #expect(message.contains(#"spec.versions[0].selectableFields[1].jsonPath: Invalid value: ".spec.nothing": is an invalid path"#))
        #expect(message.contains(#"spec.versions[0].selectableFields[3].jsonPath: Duplicate value: ".spec.color""#))
        #expect(message.contains("spec.versions[0].selectableFields[4].jsonPath: Required value"))
    }
}
