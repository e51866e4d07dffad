import Foundation
import SwiftletMachinery

/// A CustomResourceDefinition version's `openAPIV3Schema`, applied to custom resources as
/// apiextensions-apiserver applies it: unknown fields pruned (unless
/// `x-kubernetes-preserve-unknown-fields`), defaults filled, then the object validated with
/// kube-openapi's messages. `x-kubernetes-validations` (CEL) rules are kept in the CRD but not
/// evaluated.
public struct StructuralSchema: Sendable {
    public let root: JSONValue

    public init(_ root: JSONValue) {
        self.root = root
    }

    // MARK: Pruning

    /// Removes fields the schema does not declare, and nulls where a field cannot be null;
    /// returns the removed fields' paths (`spec.foo`). The object's apiVersion, kind and
    /// metadata are the server's to check.
    public func prune(_ object: inout JSONValue) -> [String] {
        var removed: [String] = []
        guard case .object(var members) = object else { return removed }
        for (name, value) in members where !["apiVersion", "kind", "metadata"].contains(name) {
            var child = value
            if let schema = root["properties"]?[name] {
                if Self.dropsNull(child, schema) {
                    members[name] = nil
                    continue
                }
                Self.prune(&child, schema, name, &removed)
                members[name] = child
            } else if !Self.preservesUnknown(root) {
                members[name] = nil
                removed.append(name)
            }
        }
        object = .object(members)
        return removed
    }

    static func preservesUnknown(_ schema: JSONValue) -> Bool { schema["x-kubernetes-preserve-unknown-fields"] == .bool(true) }

    static func dropsNull(_ value: JSONValue, _ schema: JSONValue) -> Bool {
        value.isNull && schema["nullable"] != .bool(true) && schema["default"] == nil
    }

    private static func prune(_ value: inout JSONValue, _ schema: JSONValue, _ path: String, _ removed: inout [String]) {
        switch value {
        case .object(var members):
            let embedded = schema["x-kubernetes-embedded-resource"] == .bool(true)
            let properties = schema["properties"]?.objectValue
            let additional = schema["additionalProperties"]
            for (name, member) in members {
                if embedded && ["apiVersion", "kind", "metadata"].contains(name) { continue }
                let childPath = path + "." + name
                var child = member
                if let childSchema = properties?[name] ?? additional.flatMap({ $0.objectValue != nil ? $0 : nil }) {
                    if dropsNull(child, childSchema) {
                        members[name] = nil
                        continue
                    }
                    prune(&child, childSchema, childPath, &removed)
                    members[name] = child
                } else if additional != .bool(true) && !preservesUnknown(schema) {
                    members[name] = nil
                    removed.append(childPath)
                }
            }
            value = .object(members)
        case .array(var items):
            guard let itemSchema = schema["items"] else { return }
            for i in items.indices { prune(&items[i], itemSchema, "\(path)[\(i)]", &removed) }
            value = .array(items)
        default:
            return
        }
    }

    // MARK: Defaulting

    /// Fills declared `default`s where the field is missing, at every level the object has.
    public func applyDefaults(_ object: inout JSONValue) {
        Self.defaults(&object, root, topLevel: true)
    }

    private static func defaults(_ value: inout JSONValue, _ schema: JSONValue, topLevel: Bool = false) {
        switch value {
        case .object(var members):
            for (name, childSchema) in schema["properties"]?.objectValue ?? JSONObject() {
                if topLevel && ["apiVersion", "kind", "metadata"].contains(name) { continue }
                if members[name] == nil, let fallback = childSchema["default"] { members[name] = fallback }
                if var child = members[name] {
                    defaults(&child, childSchema)
                    members[name] = child
                }
            }
            if let additional = schema["additionalProperties"], additional.objectValue != nil {
                for (name, member) in members where schema["properties"]?[name] == nil {
                    var child = member
                    defaults(&child, additional)
                    members[name] = child
                }
            }
            value = .object(members)
        case .array(var items):
            guard let itemSchema = schema["items"] else { return }
            for i in items.indices { defaults(&items[i], itemSchema) }
            value = .array(items)
        default:
            return
        }
    }

    // MARK: Validation

    /// kube-openapi's validation of the object against the schema, worded as upstream.
    public func validate(_ object: JSONValue) -> [FieldError] {
        var errors: [FieldError] = []
        guard let members = object.objectValue else { return errors }
        for name in root["required"]?.arrayValue?.compactMap(\.stringValue) ?? [] where members[name] == nil {
            errors.append(.required(name))
        }
        for (name, value) in members where !["apiVersion", "kind", "metadata"].contains(name) {
            if let schema = root["properties"]?[name] { Self.validate(value, schema, name, &errors) }
        }
        return errors
    }

    private static func validate(_ value: JSONValue, _ schema: JSONValue, _ path: String, _ errors: inout [FieldError]) {
        if value.isNull {
            if schema["nullable"] != .bool(true) && schema["type"] != nil {
                errors.append(.invalid(path, .null, "\(path) in body must be of type \(schema["type"]?.stringValue ?? ""): \"null\""))
            }
            return
        }
        if schema["x-kubernetes-int-or-string"] == .bool(true) {
            switch value {
            case .int, .string: break
            default:
                errors.append(.invalid(path, value, "\(path) in body must be of type integer,string: \"\(typeName(value))\""))
                return
            }
        } else if let type = schema["type"]?.stringValue, !matches(value, type) {
            errors.append(.invalid(path, value, "\(path) in body must be of type \(type): \"\(typeName(value))\""))
            return
        }
        if let allowed = schema["enum"]?.arrayValue, !allowed.contains(value) {
            errors.append(.notSupported(path, value, allowed.map { $0.stringValue ?? JSONWriter.string($0) }))
        }
        switch value {
        case .object(let members):
            for name in schema["required"]?.arrayValue?.compactMap(\.stringValue) ?? [] where members[name] == nil {
                errors.append(.required(path + "." + name))
            }
            let properties = schema["properties"]?.objectValue
            let additional = schema["additionalProperties"].flatMap { $0.objectValue != nil ? $0 : nil }
            for (name, member) in members {
                if let childSchema = properties?[name] ?? additional { validate(member, childSchema, path + "." + name, &errors) }
            }
            if let max = schema["maxProperties"]?.intValue, members.count > Int(max) {
                errors.append(.init(.tooMany, field: path, value: .int(Int64(members.count)), detail: "must have at most \(max) items"))
            }
        case .array(let items):
            if let itemSchema = schema["items"] {
                for (i, item) in items.enumerated() { validate(item, itemSchema, "\(path)[\(i)]", &errors) }
            }
            if let max = schema["maxItems"]?.intValue, items.count > Int(max) {
                errors.append(.init(.tooMany, field: path, value: .int(Int64(items.count)), detail: "must have at most \(max) items"))
            }
            if let min = schema["minItems"]?.intValue, items.count < Int(min) {
                errors.append(.invalid(path, value, "\(path) in body should have at least \(min) items"))
            }
        case .string(let text):
            let length = text.count
            if let max = schema["maxLength"]?.intValue, length > Int(max) {
                errors.append(.init(.tooLong, field: path, value: value, detail: "may not be more than \(max) bytes"))
            }
            if let min = schema["minLength"]?.intValue, length < Int(min) {
                errors.append(.invalid(path, value, "\(path) in body should be at least \(min) chars long"))
            }
            if let pattern = schema["pattern"]?.stringValue, let regex = try? NSRegularExpression(pattern: pattern),
               regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) == nil {
                errors.append(.invalid(path, value, "\(path) in body should match '\(pattern)'"))
            }
        case .int, .double:
            let number = value.doubleValue ?? 0
            if let max = schema["maximum"]?.doubleValue {
                let exclusive = schema["exclusiveMaximum"] == .bool(true)
                if exclusive ? number >= max : number > max {
                    errors.append(.invalid(path, value, "\(path) in body should be less than \(exclusive ? "" : "or equal to ")\(numberText(schema["maximum"]!))"))
                }
            }
            if let min = schema["minimum"]?.doubleValue {
                let exclusive = schema["exclusiveMinimum"] == .bool(true)
                if exclusive ? number <= min : number < min {
                    errors.append(.invalid(path, value, "\(path) in body should be greater than \(exclusive ? "" : "or equal to ")\(numberText(schema["minimum"]!))"))
                }
            }
        default:
            break
        }
        if schema["x-kubernetes-embedded-resource"] == .bool(true), let members = value.objectValue {
            for name in ["apiVersion", "kind"] where (members[name]?.stringValue ?? "").isEmpty {
                errors.append(.required(path + "." + name, "must not be empty"))
            }
        }
    }

    static func matches(_ value: JSONValue, _ type: String) -> Bool {
        switch (type, value) {
        case ("object", .object), ("array", .array), ("string", .string), ("boolean", .bool), ("integer", .int): return true
        case ("number", .int), ("number", .double): return true
        case ("integer", .double(let d)): return d == d.rounded()
        default: return false
        }
    }

    static func typeName(_ value: JSONValue) -> String {
        switch value {
        case .object: return "object"
        case .array: return "array"
        case .string: return "string"
        case .bool: return "boolean"
        case .int: return "integer"
        case .double: return "number"
        case .null: return "null"
        }
    }

    static func numberText(_ value: JSONValue) -> String {
        switch value {
        case .int(let i): return String(i)
        case .double(let d): return d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
        default: return JSONWriter.string(value)
        }
    }
}

/// Server-side apply's view of a CRD schema: list and map types from the schema's own
/// `x-kubernetes-list-type`, `x-kubernetes-list-map-keys` and `x-kubernetes-map-type`.
struct StructuralApplySchema: ApplySchema {
    let node: JSONValue

    func applyMember(_ name: String) -> (any ApplySchema)? {
        (node["properties"]?[name] ?? node["additionalProperties"].flatMap { $0.objectValue != nil ? $0 : nil })
            .map(StructuralApplySchema.init(node:))
    }

    var applyElements: (any ApplySchema)? { node["items"].map(StructuralApplySchema.init(node:)) }

    var listType: ListType {
        switch node["x-kubernetes-list-type"]?.stringValue {
        case "map": return .map(keys: node["x-kubernetes-list-map-keys"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        case "set": return .set
        default: return .atomic
        }
    }

    var isAtomicMap: Bool { node["x-kubernetes-map-type"]?.stringValue == "atomic" }
}
