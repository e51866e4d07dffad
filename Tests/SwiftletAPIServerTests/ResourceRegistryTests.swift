import Foundation
import Testing
import SwiftletAPI
import SwiftletMachinery
@testable import SwiftletAPIServer

/// Resources added and removed while the server runs, as CustomResourceDefinitions will be:
/// served, discovered, printed and watched from the next request, and gone after removal.
@Suite struct ResourceRegistryTests {
    static let widgets = ResourceInfo(
        group: "example.com", version: "v1", resource: "widgets", singular: "widget", kind: "Widget", namespaced: true,
        shortNames: ["wd"], categories: ["all"],
        verbs: ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"], subresources: [])

    static let widgetType = ResourceType(
        widgets,
        validate: { object, _ in
            object[path: "spec", "size"]?.intValue == nil ? [.required("spec.size")] : []
        },
        selectableFields: [SelectableField("spec.color")], tracksGeneration: true)

    static func widget(_ name: String, size: Int64?, color: String = "red") -> JSONValue {
        var spec: JSONValue = ["color": .string(color)]
        if let size { spec["size"] = .int(size) }
        return ["apiVersion": "example.com/v1", "kind": "Widget", "metadata": ["name": .string(name)], "spec": spec]
    }

    @Test func aResourceRegisteredAtRunTimeIsServedThenForgotten() async throws {
        let t = try TestServer()
        let collection = "/apis/example.com/v1/namespaces/default/widgets"
        #expect(await t.request(.GET, collection).status == 404)
        #expect(await t.request(.GET, "/apis/example.com").status == 404)

        try t.server.registry.register(Self.widgetType, strategy: DefaultStrategy())
        let groups = await t.request(.GET, "/apis").json["groups"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
        #expect(groups.contains("example.com"))
        let list = await t.request(.GET, "/apis/example.com/v1").json["resources"]?.arrayValue ?? []
        #expect(list.compactMap { $0["name"]?.stringValue } == ["widgets"])
        #expect(list.first?["shortNames"] == ["wd"])
        let openAPIIndex = await t.request(.GET, "/openapi/v3").json["paths"]?.objectValue?.keys.contains("apis/example.com/v1")
        #expect(openAPIIndex == true)

        let events = await t.watch("\(collection)?watch=true")
        var iterator = events.makeAsyncIterator()
        let created = await t.request(.POST, collection, body: Self.widget("w1", size: 3))
        #expect(created.status == 201)
        #expect(created.json[path: "metadata", "generation"] == 1)
        #expect(await iterator.next()?["type"] == "ADDED")

        // The entry's validation and field selectors are the ones in force.
        let invalid = await t.request(.POST, collection, body: Self.widget("w2", size: nil))
        #expect(invalid.status == 422)
        #expect(invalid.json["message"]?.stringValue?.contains("spec.size: Required value") == true)
        _ = await t.request(.POST, collection, body: Self.widget("w3", size: 1, color: "blue"))
        let blue = await t.request(.GET, "\(collection)?fieldSelector=spec.color%3Dblue")
        #expect(blue.json["items"]?.arrayValue?.compactMap { $0[path: "metadata", "name"]?.stringValue } == ["w3"])
        #expect(await t.request(.GET, "\(collection)?fieldSelector=spec.size%3D1").status == 400)
        let table = await t.request(.GET, collection, accept: "application/json;as=Table;v=v1;g=meta.k8s.io")
        #expect(table.json["columnDefinitions"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["Name", "Created At"])

        // The same name twice is refused, and removal ends watches and serving.
        #expect(throws: APIServerError.self) { try t.server.registry.register(Self.widgetType, strategy: DefaultStrategy()) }
        t.server.registry.remove(Self.widgets)
        var rest: [JSONValue] = []
        while let event = await iterator.next() { rest.append(event) }  // ends: removal closes the watch
        #expect(rest.map { $0[path: "object", "metadata", "name"] } == ["w3"])
        #expect(await t.request(.GET, collection).status == 404)
        #expect(await t.request(.GET, "/apis/example.com/v1").status == 404)
        let after = await t.request(.GET, "/apis").json["groups"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
        #expect(!after.contains("example.com"))

        // Registered again, it serves what the datastore kept.
        try t.server.registry.register(Self.widgetType, strategy: DefaultStrategy())
        let names = await t.request(.GET, collection).json["items"]?.arrayValue?.compactMap { $0[path: "metadata", "name"]?.stringValue }
        #expect(names == ["w1", "w3"])
    }
}
