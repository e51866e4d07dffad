import Foundation
import SwiftletAPI
import SwiftletMachinery
import Testing

/// The Table envelope the API server wraps around the cells, as kubectl receives it.
@Suite struct TableConverterTests {
    typealias F = TableFixtures

    static let namespace: JSONValue = [
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": ["name": "default", "uid": "u1", "resourceVersion": "7", "creationTimestamp": "2026-11-21T18:20:00Z"],
        "spec": ["finalizers": ["kubernetes"]], "status": ["phase": "Active"],
    ]

    @Test func listTableAsJSON() {
        let table = TableConverter.table(
            group: "", resource: "namespaces", objects: [Self.namespace], resourceVersion: "123", continueToken: "abc",
            remainingItemCount: 4, now: F.now)
        let nameDescription = TableConverter.columns(group: "", resource: "namespaces")[0].description
        let ageDescription = TableConverter.columns(group: "", resource: "namespaces")[2].description
        let expected =
            #"{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":"123","continue":"abc","remainingItemCount":4},"#
            + #""columnDefinitions":[{"name":"Name","type":"string","format":"name","description":"#
            + JSONWriter.string(.string(nameDescription)) + #","priority":0},"#
            + #"{"name":"Status","type":"string","format":"","description":"The status of the namespace","priority":0},"#
            + #"{"name":"Age","type":"string","format":"","description":"# + JSONWriter.string(.string(ageDescription))
            + #","priority":0}],"#
            + #""rows":[{"cells":["default","Active","3d"],"object":{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","#
            + #""metadata":{"name":"default","uid":"u1","resourceVersion":"7","creationTimestamp":"2026-11-21T18:20:00Z"}}}]}"#
        #expect(JSONWriter.string(table) == expected)
    }

    @Test func upstreamDescriptions() {
        let columns = TableConverter.columns(group: "", resource: "namespaces")
        #expect(columns[0].description.hasPrefix("Name must be unique within a namespace."))
        #expect(columns[2].description.hasSuffix("api-conventions.md#metadata"))
        #expect(columns[2].description.contains("in UTC.\n\nPopulated by the system."))
    }

    @Test func singleObjectTableOmitsEmptyListFields() {
        let table = TableConverter.table(
            group: "", resource: "namespaces", objects: [Self.namespace], resourceVersion: "7", now: F.now)
        #expect(table["metadata"] == ["resourceVersion": "7"])
        let empty = TableConverter.table(group: "", resource: "namespaces", objects: [], resourceVersion: "", now: F.now)
        #expect(empty["metadata"] == [:])
        #expect(empty["rows"] == [])
    }

    @Test func includeObject() {
        func object(_ include: String) -> JSONValue? {
            TableConverter.row(group: "", resource: "namespaces", object: Self.namespace, includeObject: include, now: F.now)[
                "object"]
        }
        #expect(object("Object") == Self.namespace)
        #expect(object("None") == .null)
        #expect(object("")?["kind"] == "PartialObjectMetadata")
        #expect(object("Metadata")?["metadata"] == Self.namespace["metadata"])

        // Go writes an unset creationTimestamp as null.
        let bare = TableConverter.row(group: "", resource: "configmaps", object: ["metadata": ["name": "x"]], now: F.now)
        #expect(bare[path: "object", "metadata"] == ["name": "x", "creationTimestamp": nil])

        #expect(["", "None", "Metadata", "Object"].allSatisfy(TableConverter.acceptsIncludeObject))
        #expect(!TableConverter.acceptsIncludeObject("object"))
    }

    @Test func watchEventsAfterTheFirstHaveNoHeaders() {
        let table = TableConverter.table(
            group: "", resource: "namespaces", objects: [Self.namespace], resourceVersion: "7", noHeaders: true, now: F.now)
        #expect(table["columnDefinitions"] == .null)
        #expect(table["rows"]?[0]?["cells"] == ["default", "Active", "3d"])
    }

    /// Resources without a printer get apiserver's default convertor.
    @Test func defaultConvertor() {
        let columns = TableConverter.columns(group: "example.com", resource: "widgets")
        #expect(columns.map(\.name) == ["Name", "Created At"])
        #expect(columns.map(\.type) == ["string", "date"])
        #expect(columns.map(\.format) == ["name", ""])

        let widget: JSONValue = ["metadata": ["name": "w", "creationTimestamp": "2026-11-25T03:20:00+09:00"]]
        #expect(F.cells("example.com", "widgets", widget) == ["w", "2026-11-24T18:20:00Z"])
        #expect(F.cells("example.com", "widgets", ["metadata": ["name": "new"]]) == ["new", "0001-01-01T00:00:00Z"])

        // It builds rows by appending to a nil slice, so an empty list has null rows.
        let empty = TableConverter.table(group: "example.com", resource: "widgets", objects: [], resourceVersion: "9", now: F.now)
        #expect(empty["rows"] == .null)
    }

    @Test func everyServedResourceHasAPrinter() {
        // CustomResourceDefinitions, Roles and ClusterRoles print with the default table upstream too.
        let defaultTable = [Resources.customresourcedefinitions, Resources.roles, Resources.clusterroles]
        for info in Resources.all where !defaultTable.contains(info) {
            let columns = TableConverter.columns(group: info.group, resource: info.resource)
            #expect(columns.last?.name != "Created At", "\(info.qualifiedResource) falls back to the default table")
            #expect(columns.contains { $0.format == "name" }, "\(info.qualifiedResource)")
        }
    }

    @Test func cellsMatchColumns() {
        let resources = [
            ("", "pods"), ("", "nodes"), ("", "namespaces"), ("", "services"), ("", "endpoints"), ("", "configmaps"),
            ("", "secrets"), ("", "serviceaccounts"), ("", "events"), ("", "replicationcontrollers"), ("apps", "deployments"),
            ("apps", "replicasets"), ("apps", "daemonsets"), ("apps", "statefulsets"), ("apps", "controllerrevisions"),
            ("discovery.k8s.io", "endpointslices"), ("coordination.k8s.io", "leases"), ("events.k8s.io", "events"),
            ("batch", "jobs"), ("batch", "cronjobs"), ("autoscaling", "horizontalpodautoscalers"), ("autoscaling", "scale"),
            ("example.com", "widgets"),
        ]
        for (group, resource) in resources {
            let empty: JSONValue = ["metadata": ["name": "x"]]
            #expect(
                F.cells(group, resource, empty).count == TableConverter.columns(group: group, resource: resource).count,
                "\(resource).\(group)")
        }
    }
}
