import NIOHTTP1
import SwiftletAPI
import SwiftletMachinery

/// OpenAPI, as much as kubectl needs: the operations on every served resource, each naming its
/// group-version-kind and saying that the server validates fields itself (the
/// `fieldValidation` parameter), so kubectl leaves validation to the server instead of
/// downloading schemas. Version 3 is one document per group-version (kubectl 1.29 and later);
/// version 2 is one document, in JSON or in gnostic's protobuf, which kubectl 1.27 and 1.28
/// read before they send anything.
///
/// No component schemas are published: kubectl then uses its compiled-in types for
/// strategic merge patch metadata, which are identical to upstream's.
///
/// The documents are made per request from the resources served then, so that resources
/// registered at run time appear at once; kubectl fetches them rarely and caches them by hash.
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

    static func serve(_ request: HTTPRequest, resources: [ResourceInfo]) throws(APIError) -> HTTPResponse {
        let path = String(request.path.dropFirst("/openapi/".count))
        if path == "v2" || path == "v2/" { return v2(request, resources: resources) }
        let documents = v3Documents(resources)
        if path == "v3" || path == "v3/" { return .json(bytes: v3Index(documents)) }
        guard path.hasPrefix("v3/"), let doc = documents[String(path.dropFirst(3))] else { throw APIError.notFoundPath() }
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

    static func v3Documents(_ resources: [ResourceInfo]) -> [String: [UInt8]] {
        var docs: [String: [UInt8]] = [:]
        for gv in Set(resources.map(\.groupVersion)) {
            docs[apiPath(gv)] = JSONWriter.write(v3Document(resources.filter { $0.groupVersion == gv }))
        }
        return docs
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

    static func v3Document(_ resources: [ResourceInfo]) -> JSONValue {
        var out = JSONObject()
        for (path, operations) in paths(resources) {
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
            "paths": .object(out), "components": ["schemas": .object(JSONObject())],
        ]
    }

    // MARK: Version 2

    /// Clients ask with an `@` in the type, which Go's mime parser refuses in an answer: the
    /// answer names it with a dot, as kube-openapi does.
    static let v2ProtobufType = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"

    static func v2(_ request: HTTPRequest, resources: [ResourceInfo]) -> HTTPResponse {
        let paths = paths(resources)
        let wantsProtobuf = request.accept.contains("com.github.proto-openapi.spec.v2")
        let bytes = wantsProtobuf ? v2Protobuf(paths) : JSONWriter.write(v2Document(paths))
        return .json(bytes: bytes, headers: ["ETag": "\"\(hash(bytes))\""],
                     contentType: wantsProtobuf ? v2ProtobufType : "application/json")
    }

    static func v2Document(_ paths: [(path: String, operations: [Operation])]) -> JSONValue {
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
        return ["swagger": "2.0", "info": ["title": "Kubernetes", "version": "v1.34.0"], "paths": .object(out), "definitions": .object(JSONObject())]
    }

    /// The same document as gnostic's `openapi_v2.Document`; extensions are YAML, as gnostic keeps them.
    static func v2Protobuf(_ paths: [(path: String, operations: [Operation])]) -> [UInt8] {
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
        ])
    }
}
