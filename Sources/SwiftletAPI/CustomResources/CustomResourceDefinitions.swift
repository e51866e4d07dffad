import Foundation
import SwiftletMachinery

extension Resources {
    public static let customresourcedefinitions = ResourceInfo(
        group: "apiextensions.k8s.io", version: "v1", resource: "customresourcedefinitions",
        singular: "customresourcedefinition", kind: "CustomResourceDefinition", namespaced: false,
        shortNames: ["crd", "crds"], categories: ["api-extensions"], verbs: allVerbs,
        subresources: [.init(name: "status", group: "apiextensions.k8s.io", version: "v1", kind: "CustomResourceDefinition", verbs: statusVerbs)])
}

extension ResourceTypes {
    public static let customResourceDefinitions = ResourceType(
        Resources.customresourcedefinitions, defaults: CustomResourceDefinitions.applyDefaults,
        validate: { o, old in CustomResourceDefinitions.validate(o, old: old) })
}

/// `apiextensions.k8s.io/v1` CustomResourceDefinitions: their defaulting and validation, as
/// upstream's, and the resource types their versions serve.
public enum CustomResourceDefinitions {
    /// The finalizer that keeps a CRD until its custom resources are deleted.
    public static let cleanupFinalizer = "customresourcecleanup.apiextensions.k8s.io"

    /// SetDefaults for the v1 CRD: singular and list kind from the kind, no conversion.
    static func applyDefaults(_ crd: inout JSONValue) {
        guard crd["spec"]?.objectValue != nil else { return }
        let kind = crd[path: "spec", "names", "kind"]?.stringValue ?? ""
        if (crd[path: "spec", "names", "singular"]?.stringValue ?? "").isEmpty, !kind.isEmpty {
            crd[path: "spec", "names", "singular"] = .string(kind.lowercased())
        }
        if (crd[path: "spec", "names", "listKind"]?.stringValue ?? "").isEmpty, !kind.isEmpty {
            crd[path: "spec", "names", "listKind"] = .string(kind + "List")
        }
        if crd[path: "spec", "conversion"] == nil { crd[path: "spec", "conversion"] = ["strategy": "None"] }
    }

    /// The checks of upstream's ValidateCustomResourceDefinition that decide whether the
    /// CRD can be served.
    static func validate(_ crd: JSONValue, old: JSONValue?) -> [FieldError] {
        var errors = ObjectMetaValidation.validate(crd, rule: .subdomain)
        let spec = crd["spec"] ?? .object(JSONObject())
        let group = FieldRead.string(spec["group"])
        let plural = FieldRead.string(spec[path: "names", "plural"])
        if group.isEmpty {
            errors.append(.required("spec.group"))
        } else if !group.contains(".") {
            errors.append(.invalid("spec.group", .string(group), "should be a domain with at least one dot"))
        }
        if plural.isEmpty { errors.append(.required("spec.names.plural")) }
        if FieldRead.string(spec[path: "names", "kind"]).isEmpty { errors.append(.required("spec.names.kind")) }
        let name = FieldRead.string(crd[path: "metadata", "name"])
        if !group.isEmpty, !plural.isEmpty, name != "\(plural).\(group)" {
            errors.append(.invalid("metadata.name", .string(name), "must be spec.names.plural+\".\"+spec.group"))
        }
        let scope = spec["scope"]
        if !FieldRead.isSet(scope) {
            errors.append(.required("spec.scope"))
        } else if scope != "Cluster" && scope != "Namespaced" {
            errors.append(.notSupported("spec.scope", scope, ["Cluster", "Namespaced"]))
        }
        let versions = FieldRead.objects(spec["versions"])
        if versions.isEmpty {
            errors.append(.invalid("spec.versions", .array([]), "must have exactly one version marked as storage version"))
        } else if versions.filter({ $0["storage"] == .bool(true) }).count != 1 {
            errors.append(.invalid("spec.versions", nil, "must have exactly one version marked as storage version"))
        }
        for (i, version) in versions.enumerated() {
            let path = ValidationPath("spec.versions").index(i)
            let versionName = FieldRead.string(version["name"])
            errors += CommonRules.dns1123Label(versionName, path.child("name"))
            if version[path: "schema", "openAPIV3Schema"]?.objectValue == nil {
                errors.append(.required(path.child("schema", "openAPIV3Schema").description, "schemas are required"))
            }
        }
        if let old, FieldRead.string(old[path: "spec", "scope"]) != FieldRead.string(spec["scope"]) {
            errors.append(.invalid("spec.scope", scope, "field is immutable"))
        }
        return errors
    }

    /// The resource types a CRD serves: one per served version, all stored in the storage
    /// version with the `None` conversion (only apiVersion changes between versions).
    public static func types(of crd: JSONValue) -> [ResourceType] {
        let spec = crd["spec"] ?? .object(JSONObject())
        let group = FieldRead.string(spec["group"])
        let names = spec["names"] ?? .object(JSONObject())
        let kind = FieldRead.string(names["kind"])
        let versions = FieldRead.objects(spec["versions"])
        guard let storage = versions.first(where: { $0["storage"] == .bool(true) }).map({ FieldRead.string($0["name"]) }) else { return [] }
        return versions.filter { $0["served"] != .bool(false) }.map { version in
            let versionName = FieldRead.string(version["name"])
            var subresources: [ResourceInfo.Subresource] = []
            if version[path: "subresources", "status"] != nil {
                subresources.append(.init(name: "status", group: group, version: versionName, kind: kind, verbs: Resources.statusVerbs))
            }
            let info = ResourceInfo(
                group: group, version: versionName, resource: FieldRead.string(names["plural"]),
                singular: FieldRead.string(names["singular"]).isEmpty ? kind.lowercased() : FieldRead.string(names["singular"]),
                kind: kind, namespaced: spec["scope"] == "Namespaced", shortNames: FieldRead.strings(names["shortNames"]),
                categories: FieldRead.strings(names["categories"]), verbs: Resources.allVerbs, subresources: subresources)
            let schema = StructuralSchema(version[path: "schema", "openAPIV3Schema"] ?? .object(JSONObject()))
            var type = ResourceType(
                info, defaults: { schema.applyDefaults(&$0) },
                validate: { object, _ in ObjectMetaValidation.validate(object, rule: .subdomain) + schema.validate(object) },
                table: PrinterColumns.printer(FieldRead.objects(version["additionalPrinterColumns"])),
                tracksGeneration: true, allowsUnconditionalUpdate: false)
            type.schema = nil
            type.structuralSchema = schema
            type.storageVersion = storage
            return type
        }
    }

    /// The names a CRD serves, for conflict checks: plural, singular, kind and short names.
    public static func servedNames(_ crd: JSONValue) -> (group: String, plural: String, kind: String) {
        (FieldRead.string(crd[path: "spec", "group"]), FieldRead.string(crd[path: "spec", "names", "plural"]),
         FieldRead.string(crd[path: "spec", "names", "kind"]))
    }
}

/// `additionalPrinterColumns` as upstream's table convertor prints them: Name first, then the
/// columns, or Age when the CRD declares none.
enum PrinterColumns {
    static func printer(_ columns: [JSONValue]) -> TablePrinter {
        let declared = columns.isEmpty
            ? [["name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp",
                "description": .string(TableFormat.creationTimestampDescription)]]
            : columns
        let definitions = [TableFormat.name] + declared.map { c in
            TableColumn(name: FieldRead.string(c["name"]), type: FieldRead.string(c["type"]), format: FieldRead.string(c["format"]),
                        description: FieldRead.string(c["description"]), priority: Int(c["priority"]?.intValue ?? 0))
        }
        let paths = declared.map { FieldRead.string($0["jsonPath"]) }
        let types = declared.map { FieldRead.string($0["type"]) }
        return TablePrinter(columns: definitions, cells: { object, now in
            [TableFormat.objectName(object)] + zip(paths, types).map { path, type in cell(JSONPath.value(path, in: object), type: type, now: now) }
        })
    }

    /// A cell as the convertor writes it: the value of the column's type, a date as its age
    /// (`5m`), or null.
    static func cell(_ value: JSONValue?, type: String, now: Date) -> JSONValue {
        guard let value, !value.isNull else { return .null }
        switch (type, value) {
        case ("date", .string): return .string(TableFormat.age(value, now: now))
        case ("integer", .int), ("number", .int), ("number", .double), ("boolean", .bool): return value
        case ("string", .string): return value
        case ("string", _): return .string(value.stringValue ?? JSONWriter.string(value))
        default: return .null
        }
    }
}

/// The JSONPath subset printer columns use: `.spec.replicas`, `.status.conditions[0].type`,
/// and `[?(@.type=="Ready")]` filters.
enum JSONPath {
    static func value(_ path: String, in object: JSONValue) -> JSONValue? {
        var current: JSONValue? = object
        var rest = Substring(path.hasPrefix("{") && path.hasSuffix("}") ? String(path.dropFirst().dropLast()) : path)
        while !rest.isEmpty, let value = current {
            if rest.hasPrefix(".") {
                rest = rest.dropFirst()
                let end = rest.firstIndex { $0 == "." || $0 == "[" } ?? rest.endIndex
                current = value[String(rest[..<end])]
                rest = rest[end...]
            } else if rest.hasPrefix("[") {
                guard let close = rest.firstIndex(of: "]") else { return nil }
                let inside = rest[rest.index(after: rest.startIndex)..<close]
                rest = rest[rest.index(after: close)...]
                if let index = Int(inside) {
                    current = value[index]
                } else if inside.hasPrefix("?(@."), inside.hasSuffix(")"), let eq = inside.range(of: "==") {
                    let field = String(inside[inside.index(inside.startIndex, offsetBy: 4)..<eq.lowerBound])
                    let wanted = inside[eq.upperBound..<inside.index(before: inside.endIndex)].trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
                    current = value.arrayValue?.first { $0[field]?.stringValue == wanted }
                } else {
                    return nil
                }
            } else {
                return nil
            }
        }
        return current
    }
}
