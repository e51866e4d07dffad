import NIOHTTP1
import SwiftletAPI
import SwiftletMachinery

/// API discovery in both forms kubectl understands: the legacy documents (`/api`, `/apis`,
/// one per group-version) and the aggregated v2 documents that save a round trip per group.
enum Discovery {
    /// Which aggregated format the client asked for, if any. kubectl 1.27–1.29 ask for
    /// v2beta1 only, newer ones for v2 first.
    static func aggregatedVersion(_ accept: String) -> String? {
        guard accept.contains("as=APIGroupDiscoveryList") else { return nil }
        for part in accept.split(separator: ",") where part.contains("as=APIGroupDiscoveryList") && part.contains("g=apidiscovery.k8s.io") {
            let params = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            if params.contains("v=v2") { return "v2" }
            if params.contains("v=v2beta1") { return "v2beta1" }
        }
        return nil
    }

    static func aggregatedResponse(_ items: [JSONValue], version: String) -> HTTPResponse {
        let document: JSONValue = [
            "kind": "APIGroupDiscoveryList", "apiVersion": .string("apidiscovery.k8s.io/\(version)"),
            "metadata": .object(JSONObject()), "items": .array(items),
        ]
        return .json(bytes: JSONWriter.write(document),
                     contentType: "application/json;g=apidiscovery.k8s.io;v=\(version);as=APIGroupDiscoveryList")
    }

    static func coreVersions(request: HTTPRequest, config: APIServerConfig, resources: [ResourceInfo]) -> HTTPResponse {
        if let version = aggregatedVersion(request.accept) {
            return aggregatedResponse([aggregatedGroup(name: "", versions: ["v1"], resources: resources)], version: version)
        }
        return .json([
            "kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [["clientCIDR": "0.0.0.0/0", "serverAddress": .string("\(config.advertiseAddress):\(config.securePort)")]],
        ])
    }

    static func groups(request: HTTPRequest, registry: ResourceRegistry) -> HTTPResponse {
        let resources = registry.resources
        let groups = registry.groups
        if let version = aggregatedVersion(request.accept) {
            return aggregatedResponse(groups.map { aggregatedGroup(name: $0.name, versions: $0.versions, resources: resources) }, version: version)
        }
        return .json(["kind": "APIGroupList", "apiVersion": "v1", "groups": .array(groups.map { groupDocument($0.name, $0.versions) })])
    }

    static func groupDocument(_ name: String, _ versions: [String]) -> JSONValue {
        let entries: [JSONValue] = versions.map { ["groupVersion": .string("\(name)/\($0)"), "version": .string($0)] }
        return ["name": .string(name), "versions": .array(entries), "preferredVersion": entries[0]]
    }

    static func group(_ name: String, registry: ResourceRegistry) throws(APIError) -> HTTPResponse {
        guard let group = registry.groups.first(where: { $0.name == name }) else { throw APIError.notFoundPath() }
        var document = groupDocument(group.name, group.versions)
        document["kind"] = "APIGroup"
        document["apiVersion"] = "v1"
        return .json(document)
    }

    static func resourceList(group: String, version: String, resources: [ResourceInfo]) throws(APIError) -> HTTPResponse {
        let resources = resources.filter { $0.group == group && $0.version == version }
        guard !resources.isEmpty else { throw APIError.notFoundPath() }
        var entries: [JSONValue] = []
        for r in resources {
            var entry: JSONValue = [
                "name": .string(r.resource), "singularName": .string(r.singular), "namespaced": .bool(r.namespaced),
                "kind": .string(r.kind), "verbs": .array(r.verbs.map { .string($0) }),
            ]
            if !r.shortNames.isEmpty { entry["shortNames"] = .array(r.shortNames.map { .string($0) }) }
            if !r.categories.isEmpty { entry["categories"] = .array(r.categories.map { .string($0) }) }
            entries.append(entry)
            for sub in r.subresources {
                var subEntry: JSONValue = [
                    "name": .string("\(r.resource)/\(sub.name)"), "singularName": "", "namespaced": .bool(r.namespaced),
                    "kind": .string(sub.kind), "verbs": .array(sub.verbs.map { .string($0) }),
                ]
                if sub.group != r.group || sub.version != r.version {
                    subEntry["group"] = .string(sub.group)
                    subEntry["version"] = .string(sub.version)
                }
                entries.append(subEntry)
            }
        }
        return .json([
            "kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": .string(group.isEmpty ? version : "\(group)/\(version)"), "resources": .array(entries),
        ])
    }

    static func aggregatedGroup(name: String, versions: [String], resources: [ResourceInfo]) -> JSONValue {
        var versionEntries: [JSONValue] = []
        for version in versions {
            let entries: [JSONValue] = resources.filter { $0.group == name && $0.version == version }.map { r in
                var entry: JSONValue = [
                    "resource": .string(r.resource),
                    "responseKind": ["group": .string(r.group), "version": .string(r.version), "kind": .string(r.kind)],
                    "scope": .string(r.namespaced ? "Namespaced" : "Cluster"),
                    "singularResource": .string(r.singular),
                    "verbs": .array(r.verbs.map { .string($0) }),
                ]
                if !r.shortNames.isEmpty { entry["shortNames"] = .array(r.shortNames.map { .string($0) }) }
                if !r.categories.isEmpty { entry["categories"] = .array(r.categories.map { .string($0) }) }
                if !r.subresources.isEmpty {
                    entry["subresources"] = .array(r.subresources.map { s in
                        [
                            "subresource": .string(s.name),
                            "responseKind": ["group": .string(s.group), "version": .string(s.version), "kind": .string(s.kind)],
                            "verbs": .array(s.verbs.map { .string($0) }),
                        ]
                    })
                }
                return entry
            }
            versionEntries.append(["version": .string(version), "resources": .array(entries), "freshness": "Current"])
        }
        return ["metadata": ["name": .string(name), "creationTimestamp": .null], "versions": .array(versionEntries)]
    }
}
