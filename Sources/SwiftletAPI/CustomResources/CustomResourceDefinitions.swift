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
            if let schema = version[path: "schema", "openAPIV3Schema"], schema.objectValue != nil {
                errors += unsupportedSchemaKeywords(schema, path.child("schema", "openAPIV3Schema"))
            } else {
                errors.append(.required(path.child("schema", "openAPIV3Schema").description, "schemas are required"))
            }
            if let scale = version[path: "subresources", "scale"] {
                errors += validateScale(scale, path.child("subresources", "scale"))
            }
            errors += validateSelectableFields(FieldRead.objects(version["selectableFields"]),
                                               schema: version[path: "schema", "openAPIV3Schema"], path.child("selectableFields"))
        }
        if let old, FieldRead.string(old[path: "spec", "scope"]) != FieldRead.string(spec["scope"]) {
            errors.append(.invalid("spec.scope", scope, "field is immutable"))
        }
        return errors
    }

    /// Upstream refuses schema keywords structural schemas cannot hold, wherever they appear.
    static func unsupportedSchemaKeywords(_ schema: JSONValue, _ path: ValidationPath) -> [FieldError] {
        guard let object = schema.objectValue else { return [] }
        var errors: [FieldError] = []
        if object["$ref"] != nil { errors.append(.forbidden(path.child("$ref").description, "$ref is not supported")) }
        if object["definitions"] != nil { errors.append(.forbidden(path.child("definitions").description, "definitions is not supported")) }
        if object["dependencies"] != nil { errors.append(.forbidden(path.child("dependencies").description, "dependencies is not supported")) }
        if object["type"] == "null" { errors.append(.forbidden(path.child("type").description, "type cannot be set to null, use nullable as an alternative")) }
        if object["items"]?.arrayValue != nil {
            errors.append(.forbidden(path.child("items").description, "items must be a schema object and not an array"))
        }
        for (name, property) in object["properties"]?.objectValue ?? JSONObject() {
            errors += unsupportedSchemaKeywords(property, path.child("properties").key(name))
        }
        for keyword in ["items", "additionalProperties", "not"] {
            if let child = object[keyword] { errors += unsupportedSchemaKeywords(child, path.child(keyword)) }
        }
        for keyword in ["allOf", "anyOf", "oneOf"] {
            for (i, child) in (object[keyword]?.arrayValue ?? []).enumerated() {
                errors += unsupportedSchemaKeywords(child, path.child(keyword).index(i))
            }
        }
        return errors
    }

    /// The scale subresource's paths, as upstream's `validateCustomResourceDefinitionSubresources`.
    static func validateScale(_ scale: JSONValue, _ path: ValidationPath) -> [FieldError] {
        var errors: [FieldError] = []
        for (field, prefix) in [("specReplicasPath", ".spec."), ("statusReplicasPath", ".status.")] {
            guard let value = scale[field]?.stringValue, !value.isEmpty else {
                errors.append(.required(path.child(field).description))
                continue
            }
            if !value.hasPrefix(".") {
                errors.append(.invalid(path.child(field).description, .string(value), "must be a simple json path starting with ."))
            } else if !value.hasPrefix(prefix) {
                errors.append(.invalid(path.child(field).description, .string(value), "should be a json path under \(prefix.dropLast())"))
            }
        }
        if let selector = scale["labelSelectorPath"]?.stringValue, !selector.isEmpty {
            if !selector.hasPrefix(".") {
                errors.append(.invalid(path.child("labelSelectorPath").description, .string(selector), "must be a simple json path starting with ."))
            } else if !selector.hasPrefix(".spec.") && !selector.hasPrefix(".status.") {
                errors.append(.invalid(path.child("labelSelectorPath").description, .string(selector), "should be a json path under either .spec or .status"))
            }
        }
        return errors
    }

    static let maxSelectableFields = 8

    /// Upstream's `validateSelectableFields`: simple paths outside metadata, to scalar fields
    /// the schema declares, each once, at most eight.
    static func validateSelectableFields(_ fields: [JSONValue], schema: JSONValue?, _ path: ValidationPath) -> [FieldError] {
        var errors: [FieldError] = []
        var unique = Set<String>()
        for (i, field) in fields.enumerated() {
            let fieldPath = path.index(i).child("jsonPath").description
            let jsonPath = FieldRead.string(field["jsonPath"])
            if jsonPath.isEmpty {
                errors.append(.required(fieldPath))
                continue
            }
            let names = ScaleFields.fields(ofPath: jsonPath)
            var node = schema
            for name in names { node = node?[path: "properties", name] }
            guard jsonPath.hasPrefix("."), !jsonPath.contains("["), let node else {
                errors.append(.invalid(fieldPath, .string(jsonPath), "is an invalid path: does not refer to a valid field"))
                continue
            }
            if names.first == "metadata" { errors.append(.invalid(fieldPath, .string(jsonPath), "must not point to fields in metadata")) }
            if !["string", "boolean", "integer"].contains(FieldRead.string(node["type"])) {
                errors.append(.invalid(fieldPath, .string(jsonPath),
                                       "must point to a field of type string, boolean or integer. Enum string fields and strings with formats are allowed."))
            }
            if !unique.insert(names.joined(separator: ".")).inserted { errors.append(.duplicate(fieldPath, .string(jsonPath))) }
        }
        if unique.count > maxSelectableFields {
            errors.append(.init(.tooMany, field: path.description, value: .int(Int64(unique.count)),
                                detail: "must have at most \(maxSelectableFields) items"))
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
            let scale = version[path: "subresources", "scale"]
            if scale != nil {
                subresources.append(.init(name: "scale", group: "autoscaling", version: "v1", kind: "Scale", verbs: Resources.statusVerbs))
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
            type.selectableFields = FieldRead.objects(version["selectableFields"]).map {
                SelectableField(ScaleFields.fields(ofPath: FieldRead.string($0["jsonPath"])).joined(separator: "."))
            }
            if let scale {
                type.scale = ScaleFields(
                    specReplicas: ScaleFields.fields(ofPath: FieldRead.string(scale["specReplicasPath"])),
                    statusReplicas: ScaleFields.fields(ofPath: FieldRead.string(scale["statusReplicasPath"])),
                    selector: .text(scale["labelSelectorPath"]?.stringValue.map(ScaleFields.fields(ofPath:))))
            }
            return type
        }
    }

    /// The resource of a CRD's storage version: where every version's objects are read from.
    public static func storageResource(of crd: JSONValue) -> ResourceInfo? {
        let storage = FieldRead.objects(crd[path: "spec", "versions"]).first { $0["storage"] == .bool(true) }
        let name = storage.map { FieldRead.string($0["name"]) }
        let types = types(of: crd)
        return (types.first { $0.info.version == name } ?? types.first)?.info
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
