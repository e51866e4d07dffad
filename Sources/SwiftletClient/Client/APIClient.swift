import NIOHTTP1
import SwiftletAPI
import SwiftletAPIServer
import SwiftletMachinery

/// Typed calls on any resource in the registry, over a `Transport`.
///
/// Objects stay untyped `JSONValue`s (see ADR 0001): a controller reads and sets the fields
/// it owns and sends the rest back unchanged. Every failure is the server's `APIError`, with
/// the code, reason and message of its Status, so callers branch on `code` (404, 409, ...)
/// exactly as client-go callers use `apierrors.IsNotFound`.
public final class APIClient: Sendable {
    public let transport: any Transport
    /// Sent as User-Agent; its part before "/" names the client's writes in managedFields.
    public let userAgent: String

    public init(transport: any Transport, userAgent: String = "swiftlet/v1.34.0") {
        self.transport = transport
        self.userAgent = userAgent
    }

    /// The same connection, writing as another component (`kube-scheduler`, `kubelet`).
    public func writing(as component: String) -> APIClient {
        APIClient(transport: transport, userAgent: "\(component)/v1.34.0+swiftlet (linux)")
    }

    public func get(_ resource: ResourceInfo, namespace: String? = nil, name: String) async throws(APIError) -> JSONValue {
        try await object(.GET, ResourcePath(resource: resource, namespace: namespace, name: name))
    }

    public func list(_ resource: ResourceInfo, namespace: String? = nil, labelSelector: String? = nil,
                     fieldSelector: String? = nil) async throws(APIError) -> ObjectList {
        var path = ResourcePath(resource: resource, namespace: namespace)
        path.query = Self.selectorQuery(labelSelector: labelSelector, fieldSelector: fieldSelector)
        let list = try await object(.GET, path)
        return ObjectList(items: list["items"]?.arrayValue ?? [],
                          resourceVersion: list[path: "metadata", "resourceVersion"]?.stringValue ?? "")
    }

    /// Creates the object in `namespace` (for namespaced resources; nil takes the object's own).
    public func create(_ resource: ResourceInfo, namespace: String? = nil, _ object: JSONValue) async throws(APIError) -> JSONValue {
        let ns = namespace ?? object[path: "metadata", "namespace"]?.stringValue
        return try await self.object(.POST, ResourcePath(resource: resource, namespace: ns), body: object)
    }

    /// Creates through a subresource of an object (POST serviceaccounts/NAME/token,
    /// pods/NAME/eviction); the answer is what the subresource returns.
    public func create(_ resource: ResourceInfo, namespace: String?, name: String, subresource: String,
                       _ object: JSONValue) async throws(APIError) -> JSONValue {
        try await self.object(.POST, ResourcePath(resource: resource, namespace: namespace, name: name, subresource: subresource),
                              body: object)
    }

    /// Replaces the object (PUT), named by its own metadata. Its `resourceVersion`, if set,
    /// makes the write conditional: a 409 Conflict means someone else wrote first.
    /// With `subresource: "status"` only the status is written, as controllers must.
    public func update(_ resource: ResourceInfo, _ object: JSONValue, subresource: String? = nil) async throws(APIError) -> JSONValue {
        let path = ResourcePath(resource: resource, namespace: object[path: "metadata", "namespace"]?.stringValue,
                                name: object[path: "metadata", "name"]?.stringValue ?? "", subresource: subresource)
        return try await self.object(.PUT, path, body: object)
    }

    public func patch(_ resource: ResourceInfo, namespace: String? = nil, name: String, _ patch: ObjectPatch,
                      subresource: String? = nil) async throws(APIError) -> JSONValue {
        try await object(.PATCH, ResourcePath(resource: resource, namespace: namespace, name: name, subresource: subresource),
                         body: patch.body, contentType: patch.contentType)
    }

    /// Deletes, or starts deleting: the answer is the object while finalizers or a grace
    /// period keep it, or a Status once it is gone.
    @discardableResult
    public func delete(_ resource: ResourceInfo, namespace: String? = nil, name: String,
                       options: DeleteOptions = DeleteOptions()) async throws(APIError) -> JSONValue {
        try await object(.DELETE, ResourcePath(resource: resource, namespace: namespace, name: name), body: options.body)
    }

    /// Assigns a pending pod to a node (POST pods/{name}/binding), what the scheduler does.
    /// Fails with 409 if the pod is already bound or being deleted.
    public func bind(pod: String, namespace: String, node: String) async throws(APIError) {
        let binding: JSONValue = [
            "apiVersion": "v1", "kind": "Binding",
            "metadata": ["name": .string(pod), "namespace": .string(namespace)],
            "target": ["apiVersion": "v1", "kind": "Node", "name": .string(node)],
        ]
        _ = try await object(.POST, ResourcePath(resource: Resources.pods, namespace: namespace, name: pod, subresource: "binding"),
                             body: binding)
    }

    static func selectorQuery(labelSelector: String?, fieldSelector: String?) -> [(String, String)] {
        var query: [(String, String)] = []
        if let labelSelector, !labelSelector.isEmpty { query.append(("labelSelector", labelSelector)) }
        if let fieldSelector, !fieldSelector.isEmpty { query.append(("fieldSelector", fieldSelector)) }
        return query
    }

    func send(_ method: HTTPMethod, _ path: ResourcePath, body: JSONValue? = nil,
              contentType: String = "application/json") async -> HTTPResponse {
        await send(method, uri: path.uri, body: body, contentType: contentType)
    }

    private func send(_ method: HTTPMethod, uri: String, body: JSONValue? = nil, contentType: String = "application/json") async -> HTTPResponse {
        var headers: HTTPHeaders = ["Accept": "application/json", "User-Agent": userAgent]
        if body != nil { headers.add(name: "Content-Type", value: contentType) }
        return await transport.send(HTTPRequest(method: method, uri: uri, headers: headers,
                                                body: body.map { JSONWriter.write($0) } ?? []))
    }

    /// The resources the server serves now, in their preferred versions, from its discovery
    /// documents as client-go's discovery client reads them: the built-in ones and those
    /// CustomResourceDefinitions add.
    public func serverResources() async throws(APIError) -> [ResourceInfo] {
        var groupVersions = ["v1"]
        for group in try await object(.GET, uri: "/apis")["groups"]?.arrayValue ?? [] {
            if let preferred = group[path: "preferredVersion", "groupVersion"]?.stringValue { groupVersions.append(preferred) }
        }
        var resources: [ResourceInfo] = []
        for groupVersion in groupVersions {
            let parts = groupVersion.split(separator: "/").map(String.init)
            let (group, version) = parts.count == 2 ? (parts[0], parts[1]) : ("", parts[0])
            let list = try await object(.GET, uri: group.isEmpty ? "/api/v1" : "/apis/\(groupVersion)")
            for entry in list["resources"]?.arrayValue ?? [] {
                guard let name = entry["name"]?.stringValue, !name.contains("/"), let kind = entry["kind"]?.stringValue else { continue }
                resources.append(ResourceInfo(
                    group: group, version: version, resource: name, singular: entry["singularName"]?.stringValue ?? "",
                    kind: kind, namespaced: entry["namespaced"]?.boolValue ?? false,
                    verbs: entry["verbs"]?.arrayValue?.compactMap(\.stringValue) ?? []))
            }
        }
        return resources
    }

    /// Sends a request whose answer is one JSON object, turning failures into `APIError`s.
    private func object(_ method: HTTPMethod, _ path: ResourcePath, body: JSONValue? = nil,
                        contentType: String = "application/json") async throws(APIError) -> JSONValue {
        try await object(method, uri: path.uri, body: body, contentType: contentType)
    }

    private func object(_ method: HTTPMethod, uri: String, body: JSONValue? = nil,
                        contentType: String = "application/json") async throws(APIError) -> JSONValue {
        let response = await send(method, uri: uri, body: body, contentType: contentType)
        let bytes = await Self.collect(response.body)
        let code = Int(response.status.code)
        let value = try? JSONParser.parse(bytes).value
        guard (200..<300).contains(code) else {
            throw APIError(status: value ?? .null, httpCode: code)
        }
        guard let value else {
            throw APIError.internalError("the server's response is not JSON: \(String(decoding: bytes.prefix(200), as: UTF8.self))")
        }
        return value
    }

    private static func collect(_ body: HTTPResponse.Body) async -> [UInt8] {
        switch body {
        case .bytes(let bytes): return bytes
        case .stream(let chunks):
            var bytes: [UInt8] = []
            for await chunk in chunks { bytes += chunk }
            return bytes
        }
    }
}
