import NIOHTTP1
import Synchronization
import SwiftletAPI
import SwiftletMachinery

/// OpenAPI as kube-apiserver serves it: the operations on every served resource, each naming
/// its group-version-kind and the `fieldValidation` parameter (so kubectl leaves validation to
/// the server), and the component schemas of the served kinds with upstream's descriptions
/// (`kubectl explain`, and kubectl's strategic merge patches). Version 3 is one document per
/// group-version (kubectl 1.29 and later); version 2 is one document, in JSON or in gnostic's
/// protobuf, which kubectl 1.27 and 1.28 read before they send anything.
///
/// Built-in kinds publish `OpenAPIDefinitions`; a custom resource publishes its CRD version's
/// structural schema. The documents are built when first asked for after the set of served
/// resources changed (`OpenAPIDocuments`), so a CRD's schema appears with its resource.
enum OpenAPI {
    /// One operation on one path.
    struct Operation {
        var method: String
        var action: String
        var resource: ResourceInfo
        /// The kind it reads or writes: the resource's, or a subresource's (Scale).
        var group: String, version: String, kind: String
        var parameters: [String]

        var tag: String { resource.group.isEmpty ? "core_\(resource.version)" : "\(resource.group.replacingOccurrences(of: ".", with: "_"))_\(resource.version)" }
        var gvk: JSONValue { ["group": .string(group), "version": .string(version), "kind": .string(kind)] }
    }

    static let patchTypes = ["application/json-patch+json", "application/merge-patch+json",
                             "application/strategic-merge-patch+json", "application/apply-patch+yaml"]

    /// Every path of `resources` with its operations, in a stable order.
    static func paths(_ resources: [ResourceInfo]) -> [(path: String, operations: [Operation])] {
        var out: [(String, [Operation])] = []
        for r in resources {
            func op(_ method: String, _ action: String, _ params: [String], kind: (String, String, String)? = nil) -> Operation {
                let (g, v, k) = kind ?? (r.group, r.version, r.kind)
                return Operation(method: method, action: action, resource: r, group: g, version: v, kind: k, parameters: params)
            }
            func item(_ kind: (String, String, String)? = nil) -> [Operation] {
                [
                    op("get", "get", [], kind: kind),
                    op("put", "put", ["dryRun", "fieldManager", "fieldValidation"], kind: kind),
                    op("patch", "patch", ["dryRun", "fieldManager", "fieldValidation", "force"], kind: kind),
                ]
            }
            let base = r.group.isEmpty ? "/api/\(r.version)" : "/apis/\(r.group)/\(r.version)"
            let collection = r.namespaced ? "\(base)/namespaces/{namespace}/\(r.resource)" : "\(base)/\(r.resource)"
            out.append((collection, [
                op("get", "list", ["labelSelector", "fieldSelector", "limit", "continue", "resourceVersion", "watch"]),
                op("post", "post", ["dryRun", "fieldManager", "fieldValidation"]),
                op("delete", "deletecollection", ["labelSelector", "fieldSelector", "dryRun"]),
            ]))
            let itemPath = "\(collection)/{name}"
            out.append((itemPath, item() + [op("delete", "delete", ["dryRun", "gracePeriodSeconds", "propagationPolicy"])]))
            for sub in r.subresources where sub.name == "status" || sub.name == "scale" {
                out.append(("\(itemPath)/\(sub.name)", item((sub.group, sub.version, sub.kind))))
            }
        }
        return out
    }

    static func serve(_ request: HTTPRequest, documents: OpenAPIDocuments.Built) throws(APIError) -> HTTPResponse {
        let path = String(request.path.dropFirst("/openapi/".count))
        if path == "v2" || path == "v2/" {
            let wantsProtobuf = request.accept.contains("com.github.proto-openapi.spec.v2")
            let bytes = wantsProtobuf ? documents.v2Protobuf : documents.v2JSON
            return .json(bytes: bytes, headers: ["ETag": "\"\(hash(bytes))\""],
                         contentType: wantsProtobuf ? v2ProtobufType : "application/json")
        }
        if path == "v3" || path == "v3/" { return .json(bytes: documents.v3Index) }
        guard path.hasPrefix("v3/"), let doc = documents.v3[String(path.dropFirst(3))] else { throw APIError.notFoundPath() }
        var headers: HTTPHeaders = ["ETag": "\"\(hash(doc))\""]
        if request.query["hash"] == hash(doc) {
            headers.add(name: "Cache-Control", value: "public, immutable")
            headers.add(name: "Expires", value: "Thu, 31 Dec 2099 23:59:59 GMT")
        }
        return .json(bytes: doc, headers: headers)
    }

    /// A content hash, so clients can cache each document by URL.
    static func hash(_ bytes: [UInt8]) -> String {
        var h: UInt64 = 0xcbf29ce484222325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100000001b3 }
        let hex = String(h, radix: 16).uppercased()
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    // MARK: Version 3

    static func v3Documents(_ types: [ResourceType]) -> [String: [UInt8]] {
        var docs: [String: [UInt8]] = [:]
        for gv in Set(types.map(\.info.groupVersion)) {
            docs[apiPath(gv)] = JSONWriter.write(v3Document(types.filter { $0.info.groupVersion == gv }))
        }
        return docs
    }

    // MARK: Component schemas

    /// The definitions `types` publish, and all they refer to, by name: for a built-in kind its
    /// upstream definition and its list's, for a subresource its kind's (Scale), for a custom
    /// resource its CRD version's schema.
    static func schemas(_ types: [ResourceType]) -> [(name: String, schema: JSONValue)] {
        var roots: [String] = []
        var custom: [String: JSONValue] = [:]
        for type in types {
            let info = type.info
            if let structural = type.structuralSchema {
                let (name, schema) = OpenAPIDefinitions.customResourceSchema(structural.root, group: info.group, version: info.version, kind: info.kind)
                custom[name] = schema
                roots.append(name)
                continue
            }
            var kinds = [(info.group, info.version, info.kind), (info.group, info.version, info.listKind)]
            kinds += info.subresources.map { ($0.group, $0.version, $0.kind) }
            roots += kinds.compactMap { OpenAPIDefinitions.name(group: $0.0, version: $0.1, kind: $0.2) }
        }
        return OpenAPIDefinitions.closure(roots, schemas: custom).compactMap { name in
            (custom[name] ?? OpenAPIDefinitions.definition(name)).map { (name, $0) }
        }
    }

    static func apiPath(_ groupVersion: String) -> String {
        groupVersion.contains("/") ? "apis/\(groupVersion)" : "api/\(groupVersion)"
    }

    static func v3Index(_ documents: [String: [UInt8]]) -> [UInt8] {
        var paths = JSONObject()
        for (path, bytes) in documents.sorted(by: { $0.key < $1.key }) {
            paths[path] = ["serverRelativeURL": .string("/openapi/v3/\(path)?hash=\(hash(bytes))")]
        }
        return JSONWriter.write(["paths": .object(paths)])
    }

    static func v3Document(_ types: [ResourceType]) -> JSONValue {
        var out = JSONObject()
        for (path, operations) in paths(types.map(\.info)) {
            var item = JSONObject()
            for operation in operations {
                let parameters: [JSONValue] = operation.parameters.map {
                    ["name": .string($0), "in": "query", "schema": ["type": "string"], "uniqueItems": true]
                }
                var o: JSONValue = [
                    "tags": [.string(operation.tag)],
                    "parameters": .array(parameters),
                    "x-kubernetes-action": .string(operation.action),
                    "x-kubernetes-group-version-kind": operation.gvk,
                ]
                if operation.method == "patch" {
                    o["requestBody"] = ["content": .object(JSONObject(patchTypes.map { ($0, .object(JSONObject())) }))]
                }
                item[operation.method] = o
            }
            out[path] = .object(item)
        }
        return [
            "openapi": "3.0.0", "info": ["title": "Kubernetes", "version": "v1.34.0"],
            "paths": .object(out), "components": ["schemas": .object(JSONObject(schemas(types).map { name, schema in
                (name, OpenAPIDefinitions.rendered(schema, prefix: "#/components/schemas/", wrapsReferencesWithSiblings: true))
            }))],
        ]
    }

    // MARK: Version 2

    /// Clients ask with an `@` in the type, which Go's mime parser refuses in an answer: the
    /// answer names it with a dot, as kube-openapi does.
    static let v2ProtobufType = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"

    static func v2Definitions(_ types: [ResourceType]) -> [(name: String, schema: JSONValue)] {
        schemas(types).map { ($0.name, OpenAPIDefinitions.rendered($0.schema, prefix: "#/definitions/", wrapsReferencesWithSiblings: false)) }
    }

    static func v2Document(_ paths: [(path: String, operations: [Operation])], definitions: [(name: String, schema: JSONValue)]) -> JSONValue {
        var out = JSONObject()
        for (path, operations) in paths {
            var item = JSONObject()
            for operation in operations {
                var o: JSONValue = [
                    "tags": [.string(operation.tag)],
                    "parameters": .array(operation.parameters.map { ["name": .string($0), "in": "query", "type": "string", "uniqueItems": true] }),
                    "responses": ["200": ["description": "OK"]],
                    "x-kubernetes-action": .string(operation.action),
                    "x-kubernetes-group-version-kind": operation.gvk,
                ]
                if operation.method == "patch" { o["consumes"] = .array(patchTypes.map { .string($0) }) }
                item[operation.method] = o
            }
            out[path] = .object(item)
        }
        return ["swagger": "2.0", "info": ["title": "Kubernetes", "version": "v1.34.0"], "paths": .object(out),
                "definitions": .object(JSONObject(definitions.map { ($0.name, $0.schema) }))]
    }

    /// The same document as gnostic's `openapi_v2.Document`; extensions are YAML, as gnostic keeps them.
    static func v2Protobuf(_ paths: [(path: String, operations: [Operation])], definitions: [(name: String, schema: JSONValue)]) -> [UInt8] {
        let methodField = ["get": 2, "put": 3, "post": 4, "delete": 5, "patch": 8]
        func named(_ name: String, yaml: String) -> ProtobufField {
            .message(13, [.string(1, name), .message(2, [.string(2, yaml)])])
        }
        let pathItems: [ProtobufField] = paths.map { path, operations in
            let fields: [ProtobufField] = operations.map { operation in
                let parameters: [ProtobufField] = operation.parameters.map { name in
                    // ParametersItem.parameter → Parameter.non_body_parameter → query_parameter_sub_schema
                    .message(8, [.message(1, [.message(2, [.message(3, [
                        .string(2, "query"), .string(4, name), .string(6, "string"), .bool(20, true),
                    ])])])])
                }
                let gvk = "group: \"\(operation.group)\"\nkind: \(operation.kind)\nversion: \(operation.version)\n"
                var message: [ProtobufField] = [.string(1, operation.tag)]
                if operation.method == "patch" { message += patchTypes.map { .string(7, $0) } }
                message += parameters
                message.append(.message(9, [.message(1, [.string(1, "200"), .message(2, [.message(1, [.string(1, "OK")])])])]))
                message.append(named("x-kubernetes-action", yaml: operation.action + "\n"))
                message.append(named("x-kubernetes-group-version-kind", yaml: gvk))
                return .message(methodField[operation.method]!, message)
            }
            return .message(2, [.string(1, path), .message(2, fields)])
        }
        return ProtobufField.encode([
            .string(1, "2.0"),
            .message(2, [.string(1, "Kubernetes"), .string(2, "v1.34.0")]),
            .message(8, pathItems),
            .message(9, definitions.map { .message(1, [.string(1, $0.name), .message(2, protobufSchema($0.schema))]) }),
        ])
    }

    /// A schema as gnostic's `openapi_v2.Schema`. Values that are not schemas (defaults,
    /// enums, extensions) travel as YAML, as gnostic keeps them; JSON is YAML.
    static func protobufSchema(_ schema: JSONValue) -> [ProtobufField] {
        guard let object = schema.objectValue else { return [] }
        func yaml(_ value: JSONValue) -> ProtobufField { .string(2, String(decoding: JSONWriter.write(value), as: UTF8.self) + "\n") }
        var fields: [ProtobufField] = []
        for (key, value) in object {
            switch key {
            case "$ref": value.stringValue.map { fields.append(.string(1, $0)) }
            case "format": value.stringValue.map { fields.append(.string(2, $0)) }
            case "title": value.stringValue.map { fields.append(.string(3, $0)) }
            case "description": value.stringValue.map { fields.append(.string(4, $0)) }
            case "default": fields.append(.message(5, [yaml(value)]))
            case "multipleOf": value.doubleValue.map { fields.append(.double(6, $0)) }
            case "maximum": value.doubleValue.map { fields.append(.double(7, $0)) }
            case "exclusiveMaximum": value.boolValue.map { fields.append(.bool(8, $0)) }
            case "minimum": value.doubleValue.map { fields.append(.double(9, $0)) }
            case "exclusiveMinimum": value.boolValue.map { fields.append(.bool(10, $0)) }
            case "maxLength": value.intValue.map { fields.append(.int(11, $0)) }
            case "minLength": value.intValue.map { fields.append(.int(12, $0)) }
            case "pattern": value.stringValue.map { fields.append(.string(13, $0)) }
            case "maxItems": value.intValue.map { fields.append(.int(14, $0)) }
            case "minItems": value.intValue.map { fields.append(.int(15, $0)) }
            case "uniqueItems": value.boolValue.map { fields.append(.bool(16, $0)) }
            case "maxProperties": value.intValue.map { fields.append(.int(17, $0)) }
            case "minProperties": value.intValue.map { fields.append(.int(18, $0)) }
            case "required": fields += (value.arrayValue ?? []).compactMap { $0.stringValue.map { .string(19, $0) } }
            case "enum": fields += (value.arrayValue ?? []).map { .message(20, [yaml($0)]) }
            case "additionalProperties":
                if let allowed = value.boolValue { fields.append(.message(21, [.bool(2, allowed)])) }
                else { fields.append(.message(21, [.message(1, protobufSchema(value))])) }
            case "type":
                let types = value.stringValue.map { [$0] } ?? (value.arrayValue ?? []).compactMap(\.stringValue)
                fields.append(.message(22, types.map { .string(1, $0) }))
            case "items":
                let items = value.arrayValue ?? [value]
                fields.append(.message(23, items.map { .message(1, protobufSchema($0)) }))
            case "allOf": fields += (value.arrayValue ?? []).map { .message(24, protobufSchema($0)) }
            case "properties":
                let properties = (value.objectValue ?? JSONObject()).map { name, property in
                    ProtobufField.message(1, [.string(1, name), .message(2, protobufSchema(property))])
                }
                fields.append(.message(25, properties))
            case "discriminator": value.stringValue.map { fields.append(.string(26, $0)) }
            case "readOnly": value.boolValue.map { fields.append(.bool(27, $0)) }
            case "example": fields.append(.message(30, [yaml(value)]))
            case let name where name.hasPrefix("x-"):
                fields.append(.message(31, [.string(1, name), .message(2, [yaml(value)])]))
            default:
                // anyOf, oneOf, not, nullable: OpenAPI 3 keywords version 2 has no field for.
                break
            }
        }
        return fields
    }
}

/// The OpenAPI documents of the resources served now, built on first request after the set
/// of resources changed. kubectl asks for them on most commands, and each is up to a few
/// megabytes of JSON, so building them once per change matters.
final class OpenAPIDocuments: Sendable {
    struct Built: Sendable {
        var generation: Int
        var v2JSON: [UInt8]
        var v2Protobuf: [UInt8]
        var v3: [String: [UInt8]]
        var v3Index: [UInt8]
    }

    private let cache = Mutex<Built?>(nil)

    func current(_ registry: ResourceRegistry) -> Built {
        let (types, generation) = registry.typesWithGeneration
        if let built = cache.withLock({ $0 }), built.generation == generation { return built }
        let paths = OpenAPI.paths(types.map(\.info))
        let definitions = OpenAPI.v2Definitions(types)
        let v3 = OpenAPI.v3Documents(types)
        let built = Built(
            generation: generation,
            v2JSON: JSONWriter.write(OpenAPI.v2Document(paths, definitions: definitions)),
            v2Protobuf: OpenAPI.v2Protobuf(paths, definitions: definitions),
            v3: v3, v3Index: OpenAPI.v3Index(v3))
        // Two requests may build at once after a change; both build the same documents.
        cache.withLock { if ($0?.generation ?? -1) < generation { $0 = built } }
        return built
    }
}
