import Testing
import SwiftletMachinery

/// A hand-built apply schema: struct fields, a value schema for maps, list types.
final class ApplyTestSchema: ApplySchema {
    let fields: [String: ApplyTestSchema]
    let mapValue: ApplyTestSchema?
    let element: ApplyTestSchema?
    let listType: ListType
    let isAtomicMap: Bool

    init(_ fields: [String: ApplyTestSchema] = [:], mapValue: ApplyTestSchema? = nil, elements: ApplyTestSchema? = nil,
         list: ListType = .atomic, atomic: Bool = false) {
        self.fields = fields
        self.mapValue = mapValue
        self.element = elements
        self.listType = list
        self.isAtomicMap = atomic
    }

    func applyMember(_ name: String) -> (any ApplySchema)? { fields[name] ?? mapValue }
    var applyElements: (any ApplySchema)? { element }

    static let leaf = ApplyTestSchema()
    static let strings = ApplyTestSchema(mapValue: leaf)

    /// Enough of a Deployment: labels, finalizers (a set), replicas, containers by name with
    /// ports keyed by containerPort and protocol, and an atomic args list.
    static let deployment = ApplyTestSchema([
        "metadata": ApplyTestSchema(["labels": strings, "annotations": strings, "finalizers": ApplyTestSchema(elements: leaf, list: .set)]),
        "spec": ApplyTestSchema([
            "replicas": leaf,
            "selector": ApplyTestSchema(["matchLabels": strings], atomic: true),
            "containers": ApplyTestSchema(elements: ApplyTestSchema([
                "name": leaf, "image": leaf, "args": ApplyTestSchema(elements: leaf),
                "ports": ApplyTestSchema(elements: ApplyTestSchema(["containerPort": leaf, "protocol": leaf]),
                                         list: .map(keys: ["containerPort", "protocol"])),
            ]), list: .map(keys: ["name"])),
        ]),
        "status": ApplyTestSchema(["replicas": leaf]),
    ])
}

@Suite struct FieldManagerTests {
    static let manager = FieldManager(schema: ApplyTestSchema.deployment, apiVersion: "apps/v1", endpoint: .mainWithStatusApart)
    static let time = "2026-12-07T12:00:00Z"

    static func config(replicas: Int64 = 2, image: String = "nginx:1", extra: JSONValue? = nil) throws -> JSONValue {
        var c = try jsonFixture("""
            {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","labels":{"app":"web"}},
             "spec":{"replicas":\(replicas),"containers":[{"name":"web","image":"\(image)","ports":[{"containerPort":80}]}]}}
            """)
        if let extra { c["spec"]?["containers"] = extra }
        return c
    }

    func apply(_ live: JSONValue?, _ config: JSONValue, as manager: String, force: Bool = false) throws(APIError) -> JSONValue {
        var (object, entries) = try Self.manager.apply(live: live, config: config, manager: manager, force: force, time: Self.time)
        object[path: "metadata", "managedFields"] = ManagedFieldsEntry.json(entries)
        return object
    }

    func entry(_ object: JSONValue, _ manager: String) -> ManagedFieldsEntry? {
        ManagedFieldsEntry.entries(of: object).first { $0.manager == manager }
    }

    @Test func anApplyOwnsWhatItSetInUpstreamsFieldsV1() throws {
        let object = try apply(nil, Self.config(), as: "kubectl")
        let owned = try #require(entry(object, "kubectl"))
        #expect(owned.operation == .apply)
        #expect(JSONWriter.string(owned.fields.fieldsV1) == #"{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"web\"}":{".":{},"f:image":{},"f:name":{},"f:ports":{"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{}}}}},"f:replicas":{}}}"#)
        // Name, apiVersion and kind are the server's: nobody owns them.
        #expect(!owned.fields.contains([.field("metadata"), .field("name")]))
        // FieldsV1 reads back to the same set.
        #expect(FieldSet(fieldsV1: owned.fields.fieldsV1) == owned.fields)
        #expect(owned.json["operation"] == "Apply")
        #expect(owned.json["fieldsType"] == "FieldsV1")
    }

    @Test func theSameValueIsSharedAndADifferentOneConflicts() throws {
        let first = try apply(nil, Self.config(), as: "kubectl")
        let shared = try apply(first, Self.config(), as: "ci")
        #expect(entry(shared, "kubectl")?.fields.contains([.field("spec"), .field("replicas")]) == true)
        #expect(entry(shared, "ci")?.fields.contains([.field("spec"), .field("replicas")]) == true)

        let conflict = #expect(throws: APIError.self) { try apply(first, Self.config(replicas: 3), as: "ci") }
        #expect(conflict?.code == 409)
        #expect(conflict?.reason == "Conflict")
        #expect(conflict?.message == #"Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas"#)
        #expect(conflict?.details?["causes"] == [["reason": "FieldManagerConflict", "message": #"conflict with "kubectl""#, "field": ".spec.replicas"]])

        let two = #expect(throws: APIError.self) { try apply(first, Self.config(replicas: 3, image: "nginx:2"), as: "ci") }
        #expect(two?.message == """
            Apply failed with 2 conflicts: conflicts with "kubectl":
            - .spec.containers[name="web"].image
            - .spec.replicas
            """)
    }

    /// An object client-side apply made: its fields owned by kubectl-client-side-apply through
    /// an Update, and the last-applied annotation holding what was applied.
    func clientSideApplied(_ config: JSONValue) throws -> JSONValue {
        var object = config
        object[path: "metadata", "annotations", "kubectl.kubernetes.io/last-applied-configuration"] = .string(JSONWriter.string(config))
        let entries = Self.manager.update(old: nil, new: object, manager: "kubectl-client-side-apply", time: Self.time)
        object[path: "metadata", "managedFields"] = ManagedFieldsEntry.json(entries)
        return object
    }

    @Test func kubectlsServerSideApplyTakesOverWhatItsClientSideApplySet() throws {
        let live = try clientSideApplied(Self.config(replicas: 1))
        let upgraded = try apply(live, Self.config(replicas: 3), as: "kubectl")
        #expect(upgraded[path: "spec", "replicas"] == 3)
        #expect(entry(upgraded, "kubectl")?.fields.contains([.field("spec"), .field("replicas")]) == true)
        #expect(entry(upgraded, "kubectl-client-side-apply")?.fields.contains([.field("spec"), .field("replicas")]) == false)
        // The annotation follows the applied configuration, keys sorted as Go writes them.
        let annotation = upgraded[path: "metadata", "annotations", "kubectl.kubernetes.io/last-applied-configuration"]?.stringValue
        #expect(annotation?.hasPrefix(#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"labels":{"app":"web"},"name":"web"},"spec":{"#) == true)
        #expect(annotation?.contains(#""replicas":3"#) == true)
        #expect(annotation?.hasSuffix("}\n") == true)

        // Another manager is not kubectl: it conflicts as anywhere.
        #expect(throws: APIError.self) { try apply(live, Self.config(replicas: 3), as: "ci") }
        // A value changed since the client-side apply is no longer what it applied.
        var drifted = live
        drifted[path: "spec", "replicas"] = 7
        let conflict = #expect(throws: APIError.self) { try apply(drifted, Self.config(replicas: 3), as: "kubectl") }
        #expect(conflict?.message == #"Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1 at 2026-12-07T12:00:00Z: .spec.replicas"#)
    }

    @Test func forceTakesTheFieldsAndTheOldOwnerLetsGo() throws {
        let first = try apply(nil, Self.config(), as: "kubectl")
        let forced = try apply(first, Self.config(replicas: 5), as: "hpa", force: true)
        #expect(forced[path: "spec", "replicas"] == 5)
        #expect(entry(forced, "kubectl")?.fields.contains([.field("spec"), .field("replicas")]) == false)
        #expect(entry(forced, "hpa")?.fields.contains([.field("spec"), .field("replicas")]) == true)
        // kubectl may now drop replicas from its configuration without removing them.
        var withoutReplicas = try Self.config()
        withoutReplicas["spec"]?["replicas"] = nil
        let after = try apply(forced, withoutReplicas, as: "kubectl")
        #expect(after[path: "spec", "replicas"] == 5)
    }

    @Test func whatAManagerStopsApplyingGoesUnlessSomeoneElseOwnsIt() throws {
        var config = try Self.config()
        config[path: "metadata", "labels", "tier"] = "front"
        let first = try apply(nil, config, as: "kubectl")
        let dropped = try apply(first, Self.config(), as: "kubectl")
        #expect(dropped[path: "metadata", "labels"] == ["app": "web"])

        // Co-owned by an update: it stays.
        var updated = first
        updated[path: "metadata", "labels", "tier"] = "back"
        let entries = Self.manager.update(old: first, new: updated, manager: "kubectl-edit", time: Self.time)
        updated[path: "metadata", "managedFields"] = ManagedFieldsEntry.json(entries)
        #expect(entry(updated, "kubectl")?.fields.contains([.field("metadata"), .field("labels"), .field("tier")]) == false)
        let kept = try apply(updated, Self.config(), as: "kubectl")
        #expect(kept[path: "metadata", "labels", "tier"] == "back")

        // A container it stops applying goes as a whole item.
        let twoContainers = try apply(nil, Self.config(extra: [["name": "web", "image": "a"], ["name": "log", "image": "b"]]), as: "kubectl")
        let one = try apply(twoContainers, Self.config(extra: [["name": "web", "image": "a"]]), as: "kubectl")
        #expect(one[path: "spec", "containers"] == [["name": "web", "image": "a"]])
    }

    @Test func listsMergeByTheirTypes() throws {
        var live = try Self.config(extra: [["name": "web", "image": "a", "args": ["x", "y"], "ports": [["containerPort": 80, "protocol": "TCP"]]]])
        live[path: "metadata", "finalizers"] = ["one"]
        let first = try apply(nil, live, as: "a")
        var config = try Self.config(extra: [
            ["name": "side", "image": "s"],
            ["name": "web", "args": ["z"], "ports": [["containerPort": 80], ["containerPort": 80, "protocol": "UDP"]]],
        ])
        config[path: "metadata", "finalizers"] = ["two"]
        config[path: "spec", "replicas"] = nil
        let merged = try apply(first, config, as: "b", force: true)  // args are a's
        // Containers by name: web merged in place, side added; args atomic; a port without a
        // protocol is the TCP one; finalizers are a set.
        #expect(merged[path: "spec", "containers"] == [
            ["name": "web", "image": "a", "args": ["z"], "ports": [["containerPort": 80, "protocol": "TCP"], ["containerPort": 80, "protocol": "UDP"]]],
            ["name": "side", "image": "s"],
        ])
        #expect(merged[path: "metadata", "finalizers"] == ["one", "two"])
    }

    @Test func anUpdateTakesWhatItChangesWithoutConflict() throws {
        let first = try apply(nil, Self.config(), as: "kubectl")
        var scaled = first
        scaled[path: "spec", "replicas"] = 4
        scaled[path: "status", "replicas"] = 4  // status is the status endpoint's: not recorded here
        let entries = Self.manager.update(old: first, new: scaled, manager: "kubectl-scale", time: Self.time)
        let scaler = try #require(entries.first { $0.manager == "kubectl-scale" })
        #expect(scaler.operation == .update)
        #expect(scaler.fields.paths == [[.field("spec"), .field("replicas")]])
        #expect(entries.first { $0.manager == "kubectl" }?.fields.contains([.field("spec"), .field("replicas")]) == false)
        // Now the applier conflicts with the updater, named as upstream names update managers.
        scaled[path: "metadata", "managedFields"] = ManagedFieldsEntry.json(entries)
        let conflict = #expect(throws: APIError.self) { try apply(scaled, Self.config(), as: "kubectl") }
        #expect(conflict?.message == #"Apply failed with 1 conflict: conflict with "kubectl-scale" using apps/v1 at 2026-12-07T12:00:00Z: .spec.replicas"#)
    }

    @Test func theStatusEndpointOwnsStatusOnly() throws {
        let status = FieldManager(schema: ApplyTestSchema.deployment, apiVersion: "apps/v1", endpoint: .status)
        let old = try Self.config()
        var new = old
        new[path: "status", "replicas"] = 2
        new[path: "spec", "replicas"] = 9
        let entries = status.update(old: old, new: new, manager: "kube-controller-manager", time: Self.time)
        #expect(entries.count == 1)
        #expect(entries[0].subresource == "status")
        #expect(entries[0].fields.paths == [[.field("status"), .field("replicas")]])
        #expect(entries[0].json["subresource"] == "status")
    }
}
