import NIOHTTP1
import SwiftletAPI
import SwiftletMachinery

/// OpenAPI v3, as much as kubectl needs: one document per group-version whose operations
/// say that the server validates fields itself (the `fieldValidation` parameter), so kubectl
/// leaves validation to the server instead of downloading schemas.
///
/// No component schemas are published: kubectl then uses its compiled-in types for
/// strategic merge patch metadata, which are identical to upstream's.
///
/// The documents are made per request from the resources served then, so that resources
/// registered at run time appear at once; kubectl fetches them rarely and caches them by hash.
enum OpenAPI {
    static func documents(_ resources: [ResourceInfo]) -> [String: [UInt8]] {
        var docs: [String: [UInt8]] = [:]
        let groupVersions = Set(resources.map { $0.groupVersion })
        for gv in groupVersions {
            docs[apiPath(gv)] = JSONWriter.write(document(resources.filter { $0.groupVersion == gv }))
        }
        return docs
    }

    static func apiPath(_ groupVersion: String) -> String {
        groupVersion.contains("/") ? "apis/\(groupVersion)" : "api/\(groupVersion)"
    }

    /// A content hash, so clients can cache each document by URL.
    static func hash(_ bytes: [UInt8]) -> String {
        var h: UInt64 = 0xcbf29ce484222325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100000001b3 }
        let hex = String(h, radix: 16).uppercased()
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    static func index(_ documents: [String: [UInt8]]) -> [UInt8] {
        var paths = JSONObject()
        for (path, bytes) in documents.sorted(by: { $0.key < $1.key }) {
            paths[path] = ["serverRelativeURL": .string("/openapi/v3/\(path)?hash=\(hash(bytes))")]
        }
        return JSONWriter.write(["paths": .object(paths)])
    }

    static func serve(_ request: HTTPRequest, resources: [ResourceInfo]) throws(APIError) -> HTTPResponse {
        let path = String(request.path.dropFirst("/openapi/".count))
        let documents = documents(resources)
        if path == "v3" || path == "v3/" { return .json(bytes: index(documents)) }
        guard path.hasPrefix("v3/"), let doc = documents[String(path.dropFirst(3))] else { throw APIError.notFoundPath() }
        var headers: HTTPHeaders = ["ETag": "\"\(hash(doc))\""]
        if request.query["hash"] == hash(doc) {
            headers.add(name: "Cache-Control", value: "public, immutable")
            headers.add(name: "Expires", value: "Thu, 31 Dec 2099 23:59:59 GMT")
        }
        return .json(bytes: doc, headers: headers)
    }

    static func parameter(_ name: String, _ location: String = "query") -> JSONValue {
        ["name": .string(name), "in": .string(location), "schema": ["type": "string"], "uniqueItems": true]
    }

    static func document(_ resources: [ResourceInfo]) -> JSONValue {
        var paths = JSONObject()
        for r in resources {
            let gvk: JSONValue = ["group": .string(r.group), "version": .string(r.version), "kind": .string(r.kind)]
            let base = r.group.isEmpty ? "/api/\(r.version)" : "/apis/\(r.group)/\(r.version)"
            let collection = r.namespaced ? "\(base)/namespaces/{namespace}/\(r.resource)" : "\(base)/\(r.resource)"
            paths[collection] = [
                "get": operation("list", gvk, r, params: ["labelSelector", "fieldSelector", "limit", "continue", "resourceVersion", "watch"]),
                "post": operation("post", gvk, r, params: ["dryRun", "fieldManager", "fieldValidation"]),
                "delete": operation("deletecollection", gvk, r, params: ["labelSelector", "fieldSelector", "dryRun"]),
            ]
            let item = "\(collection)/{name}"
            paths[item] = itemOperations(gvk, r)
            for sub in r.subresources where sub.name == "status" || sub.name == "scale" {
                let subGVK: JSONValue = ["group": .string(sub.group), "version": .string(sub.version), "kind": .string(sub.kind)]
                paths["\(item)/\(sub.name)"] = itemOperations(subGVK, r)
            }
        }
        return [
            "openapi": "3.0.0", "info": ["title": "Kubernetes", "version": "v1.34.0"],
            "paths": .object(paths), "components": ["schemas": .object(JSONObject())],
        ]
    }

    static func itemOperations(_ gvk: JSONValue, _ r: ResourceInfo) -> JSONValue {
        var patch = operation("patch", gvk, r, params: ["dryRun", "fieldManager", "fieldValidation", "force"])
        patch["requestBody"] = ["content": [
            "application/json-patch+json": .object(JSONObject()), "application/merge-patch+json": .object(JSONObject()),
            "application/strategic-merge-patch+json": .object(JSONObject()), "application/apply-patch+yaml": .object(JSONObject()),
        ]]
        return [
            "get": operation("get", gvk, r, params: []),
            "put": operation("put", gvk, r, params: ["dryRun", "fieldManager", "fieldValidation"]),
            "patch": patch,
            "delete": operation("delete", gvk, r, params: ["dryRun", "gracePeriodSeconds", "propagationPolicy"]),
        ]
    }

    static func operation(_ action: String, _ gvk: JSONValue, _ r: ResourceInfo, params: [String]) -> JSONValue {
        [
            "tags": [.string(r.group.isEmpty ? "core_\(r.version)" : "\(r.group)_\(r.version)")],
            "parameters": .array(params.map { parameter($0) }),
            "x-kubernetes-action": .string(action),
            "x-kubernetes-group-version-kind": gvk,
        ]
    }
}
