import Testing
import SwiftletAPI
import SwiftletMachinery

/// Custom resources against their CRD's schema: pruning, defaults and kube-openapi's messages.
@Suite struct StructuralSchemaTests {
    static let schema = StructuralSchema([
        "type": "object",
        "properties": [
            "spec": [
                "type": "object", "required": ["size"],
                "properties": [
                    "size": ["type": "integer", "minimum": 1, "maximum": 10],
                    "color": ["type": "string", "enum": ["red", "blue"], "default": "red"],
                    "name": ["type": "string", "maxLength": 5, "minLength": 2, "pattern": "^[a-z]+$"],
                    "port": ["x-kubernetes-int-or-string": true],
                    "tags": ["type": "array", "maxItems": 2, "items": ["type": "string"]],
                    "labels": ["type": "object", "additionalProperties": ["type": "string"]],
                    "free": ["type": "object", "x-kubernetes-preserve-unknown-fields": true],
                    "template": ["type": "object", "x-kubernetes-embedded-resource": true, "properties": ["spec": ["type": "object"]]],
                    "limits": ["type": "object", "default": [:], "properties": ["cpu": ["type": "string", "default": "1"]]],
                ],
            ],
        ],
    ])

    static func widget(_ spec: JSONValue) -> JSONValue {
        ["apiVersion": "example.com/v1", "kind": "Widget", "metadata": ["name": "w", "labels": ["a": "b"]], "spec": spec]
    }

    @Test func unknownFieldsArePrunedExceptWherePreserved() {
        var object = Self.widget([
            "size": 1, "extra": 1, "free": ["anything": [1, 2]], "labels": ["x": "y"],
            "template": ["apiVersion": "v1", "kind": "Pod", "metadata": ["name": "p"], "spec": [:], "junk": true],
        ])
        object["status"] = ["ready": true]
        let removed = Self.schema.prune(&object)
        #expect(Set(removed) == ["spec.extra", "status", "spec.template.junk"])
        #expect(object[path: "spec", "free", "anything"] == [1, 2])
        #expect(object[path: "spec", "template", "metadata", "name"] == "p")
        #expect(object[path: "metadata", "labels"] == ["a": "b"])
    }

    @Test func defaultsFillWhatIsMissingAtEveryLevel() {
        var object = Self.widget(["size": 2])
        Self.schema.applyDefaults(&object)
        #expect(object[path: "spec", "color"] == "red")
        #expect(object[path: "spec", "limits"] == ["cpu": "1"])
        var set = Self.widget(["size": 2, "color": "blue", "limits": ["cpu": "2"]])
        Self.schema.applyDefaults(&set)
        #expect(set[path: "spec", "color"] == "blue")
        #expect(set[path: "spec", "limits", "cpu"] == "2")
    }

    @Test func validationSpeaksKubeOpenAPI() {
        let errors = Self.schema.validate(Self.widget([
            "size": "3", "color": "purple", "name": "ABCDEFG", "port": true, "tags": ["a", "b", "c"], "labels": ["k": 1],
        ])).map(\.message)
        #expect(errors.contains(#"spec.size: Invalid value: "3": spec.size in body must be of type integer: "string""#))
        #expect(errors.contains(#"spec.color: Unsupported value: "purple": supported values: "red", "blue""#))
        #expect(errors.contains("spec.name: Too long: may not be more than 5 bytes"))
        #expect(errors.contains(#"spec.name: Invalid value: "ABCDEFG": spec.name in body should match '^[a-z]+$'"#))
        #expect(errors.contains(#"spec.port: Invalid value: true: spec.port in body must be of type integer,string: "boolean""#))
        #expect(errors.contains("spec.tags: Too many: 3: must have at most 2 items"))
        #expect(errors.contains(#"spec.labels.k: Invalid value: 1: spec.labels.k in body must be of type string: "integer""#))
        #expect(Self.schema.validate(Self.widget(["size": 20])).map(\.message) == ["spec.size: Invalid value: 20: spec.size in body should be less than or equal to 10"])
        #expect(Self.schema.validate(Self.widget(["color": "red"])).map(\.message) == ["spec.size: Required value"])
        #expect(Self.schema.validate(Self.widget(["size": 3, "port": "http", "name": "ab"])).isEmpty)
        #expect(Self.schema.validate(Self.widget(["size": 3, "template": ["spec": [:]]])).map(\.message)
                    == ["spec.template.apiVersion: Required value: must not be empty", "spec.template.kind: Required value: must not be empty"])
    }

    static func crd(versions: JSONValue? = nil, name: String = "widgets.example.com") -> JSONValue {
        [
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": ["name": .string(name)],
            "spec": [
                "group": "example.com", "scope": "Namespaced",
                "names": ["plural": "widgets", "kind": "Widget", "shortNames": ["wd"]],
                "versions": versions ?? [
                    ["name": "v1", "served": true, "storage": true, "subresources": ["status": [:]],
                     "schema": ["openAPIV3Schema": ["type": "object"]],
                     "additionalPrinterColumns": [["name": "Size", "type": "integer", "jsonPath": ".spec.size"],
                                                  ["name": "Ready", "type": "string", "jsonPath": #".status.conditions[?(@.type=="Ready")].status"#]]],
                    ["name": "v1beta1", "served": true, "storage": false, "schema": ["openAPIV3Schema": ["type": "object"]]],
                    ["name": "v1alpha1", "served": false, "storage": false, "schema": ["openAPIV3Schema": ["type": "object"]]],
                ],
            ],
        ]
    }

    @Test func aDefinitionIsCheckedAsUpstreamChecksIt() {
        let validate = ResourceTypes.customResourceDefinitions.validate
        #expect(validate(Self.crd(), nil).isEmpty)
        #expect(validate(Self.crd(name: "gadgets.example.com"), nil).map(\.message)
                    == [#"metadata.name: Invalid value: "gadgets.example.com": must be spec.names.plural+"."+spec.group"#])
        let twoStorage: JSONValue = [["name": "v1", "storage": true, "schema": ["openAPIV3Schema": [:]]],
                                     ["name": "v2", "storage": true, "schema": ["openAPIV3Schema": [:]]]]
        #expect(validate(Self.crd(versions: twoStorage), nil).map(\.message) == ["spec.versions: Invalid value: must have exactly one version marked as storage version"])
        let noSchema: JSONValue = [["name": "v1", "storage": true, "served": true]]
        #expect(validate(Self.crd(versions: noSchema), nil).map(\.message) == ["spec.versions[0].schema.openAPIV3Schema: Required value: schemas are required"])
    }

    @Test func aDefinitionServesItsServedVersionsStoredInOne() {
        var crd = Self.crd()
        ResourceTypes.customResourceDefinitions.defaults(&crd)
        #expect(crd[path: "spec", "names", "singular"] == "widget")
        #expect(crd[path: "spec", "names", "listKind"] == "WidgetList")
        let types = CustomResourceDefinitions.types(of: crd)
        #expect(types.map(\.info.version) == ["v1", "v1beta1"])
        #expect(types.map(\.storageAPIVersion) == ["example.com/v1", "example.com/v1"])
        #expect(types[0].info.shortNames == ["wd"])
        #expect(types[0].info.subresource("status") != nil && types[1].info.subresource("status") == nil)
        #expect(!types[0].allowsUnconditionalUpdate)
        let object: JSONValue = ["metadata": ["name": "w", "creationTimestamp": "2026-12-07T12:00:00Z"], "spec": ["size": 3],
                                 "status": ["conditions": [["type": "Other", "status": "False"], ["type": "Ready", "status": "True"]]]]
        #expect(TableConverter.columns(types[0].table).map(\.name) == ["Name", "Size", "Ready"])
        #expect(TableConverter.cells(types[0].table, object: object) == ["w", 3, "True"])
        // Without columns: Name and Age.
        #expect(TableConverter.columns(types[1].table).map(\.name) == ["Name", "Age"])
    }
}
