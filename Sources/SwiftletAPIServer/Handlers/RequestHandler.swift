import Foundation
import NIOHTTP1
import Synchronization
import SwiftletAPI
import SwiftletMachinery
import SwiftletPKI

extension APIServer {
    /// Serves one HTTP request: health and version, discovery and OpenAPI, then resources.
    public func handle(_ request: HTTPRequest) async -> HTTPResponse {
        if let health = health(request) { return health }
        switch request.path {
        case "/version", "/version/":
            return .json(Self.versionInfo)
        case "/cacerts":
            if let ca = config.caCertificatePEM { return .text(ca) }
        default:
            break
        }
        guard let authenticated = authenticate(request) else { return .error(.unauthorized()) }
        let user: UserInfo
        do { user = try impersonated(authenticated, headers: request.headers) } catch { return .error(error) }
        let limit = Self.isLongRunning(request) ? nil : Self.isMutating(request.method) ? mutatingInFlight : readOnlyInFlight
        let place = limit?.take()
        // As upstream: system:masters is served even when every place is taken ("a super-admin
        // or a loopback connection"), which also keeps the in-process controllers going.
        if limit != nil, place == nil, !user.groups.contains("system:masters") { return Self.tooManyRequests }
        // Authorized inside the limits, as upstream's handler chain orders the two.
        let attributes = AuthorizationAttributes(request)
        let decision = authorizer.authorize(user, attributes)
        guard decision.allowed else { return .error(Authorizer.forbidden(user, attributes, reason: decision.reason)) }
        var response = await RequestContext.$user.withValue(user) { () async -> HTTPResponse in
            do throws(APIError) { return try await route(request, user: user, attributes: attributes) } catch { return .error(error) }
        }
        // The place goes with the response until it has been written, as upstream holds it: a
        // client that does not read its answer keeps a place, not an ever larger share of memory.
        response.inFlightPlace = place
        return response
    }

    /// Upstream's health endpoints, open to anyone: `/livez` says the process serves;
    /// `/readyz` and `/healthz` also say whether the datastore takes writes, so a load
    /// balancer or an operator learns of a full disk. `/readyz/datastore` asks one check;
    /// `?verbose` lists them all. A failed check's reason is withheld, as upstream withholds it
    /// from these unauthenticated paths.
    func health(_ request: HTTPRequest) -> HTTPResponse? {
        guard Self.isHealthPath(request.path) else { return nil }
        var segments = request.path.split(separator: "/").map(String.init)
        let endpoint = segments.removeFirst()
        var checks: [(name: String, passes: () -> Bool)] = [("ping", { true })]
        if endpoint != "livez" { checks.append(("datastore", { [store] in store.writeFailure() == nil })) }
        if let only = segments.first {
            guard let check = checks.first(where: { $0.name == only }) else {
                return .text("404 page not found\n", status: .notFound)
            }
            return check.passes() ? .text("ok") : .text("internal server error: \(only) check failed\n", status: .internalServerError)
        }
        let results = checks.map { (name: $0.name, passed: $0.passes()) }
        let passed = results.allSatisfy(\.passed)
        if passed && request.query["verbose"] == nil { return .text("ok") }
        var body = ""
        for result in results {
            body += result.passed ? "[+]\(result.name) ok\n" : "[-]\(result.name) failed: reason withheld\n"
        }
        body += passed ? "\(endpoint) check passed\n" : "\(endpoint) check failed\n"
        return .text(body, status: passed ? .ok : .internalServerError)
    }

    /// What may be answered from a request's head alone, before its body is read: the public
    /// paths, and requests with a token the server knows. Anyone else gets 401 and a closed
    /// connection, without the server holding their body.
    public func checkHead(_ request: HTTPRequest) -> HTTPResponse? {
        if request.path == "/version" || request.path == "/version/" || request.path == "/cacerts" || Self.isHealthPath(request.path) { return nil }
        return authenticate(request) == nil ? .error(.unauthorized()) : nil
    }

    /// `/livez`, `/readyz`, `/healthz`, and one check of theirs (`/readyz/datastore`).
    static func isHealthPath(_ path: String) -> Bool {
        let segments = path.split(separator: "/")
        return segments.count <= 2 && segments.first.map { ["livez", "readyz", "healthz"].contains($0) } == true
    }

    /// kube-apiserver's answer when the in-flight limit is reached.
    static let tooManyRequests: HTTPResponse = {
        var response = HTTPResponse.error(APIError(code: 429, reason: "TooManyRequests", message: "Too many requests, please try again later.",
                                                   details: ["retryAfterSeconds": 1]))
        response.headers.replaceOrAdd(name: "Retry-After", value: "1")
        return response
    }()

    static func isMutating(_ method: HTTPMethod) -> Bool {
        method == .POST || method == .PUT || method == .PATCH || method == .DELETE
    }

    /// Upstream's long-running requests, which the in-flight limits leave out: watches, and the
    /// streaming subresources.
    static func isLongRunning(_ request: HTTPRequest) -> Bool {
        if let watch = request.query["watch"], watch != "false", watch != "0" { return true }
        let last = request.path.split(separator: "/").last.map(String.init) ?? ""
        return ["exec", "attach", "portforward", "proxy", "log"].contains(last)
    }

    /// A client certificate signed by the cluster CA (its CN the user, its Os the groups), else
    /// a bearer token: one from the configuration, or a ServiceAccount token this cluster signed;
    /// anything else is anonymous and refused. Every
    /// authenticated user is in `system:authenticated`, as upstream adds it.
    func authenticate(_ request: HTTPRequest) -> UserInfo? {
        var user: UserInfo
        if let certificateUser = request.certificateUser {
            user = certificateUser
        } else if let header = request.headers.first(name: "authorization"),
                  let token = Tokens.bearerToken(fromAuthorization: header),
                  let tokenUser = config.tokens.first(where: { Tokens.matches(token, $0.key) })?.value ?? serviceAccountUser(token: token) {
            user = tokenUser
        } else {
            return nil
        }
        if !user.groups.contains("system:authenticated") { user.groups.append("system:authenticated") }
        return user
    }

    /// `attributes` are the request's, as authorization read them.
    private func route(_ request: HTTPRequest, user: UserInfo, attributes: AuthorizationAttributes) async throws(APIError) -> HTTPResponse {
        let path = request.path
        if path == "/api" || path == "/api/" { return Discovery.coreVersions(request: request, config: config, resources: registry.resources) }
        if path == "/apis" || path == "/apis/" { return Discovery.groups(request: request, registry: registry) }
        if path == Self.nodeServingCertificatePath { return try nodeServingCertificate(request, user: user) }
        if path == Self.nodeClientCertificatePath { return try nodeClientCertificate(request, user: user) }
        if path.hasPrefix("/openapi/") { return try OpenAPI.serve(request, documents: openAPIDocuments.current(registry)) }

        let trimmed = path.hasSuffix("/") ? String(path.dropLast()) : path
        let segments = trimmed.split(separator: "/").map(String.init)
        if segments.count == 2, segments[0] == "api" {
            return try Discovery.resourceList(group: "", version: segments[1], resources: registry.resources)
        }
        if segments.count == 2, segments[0] == "apis" { return try Discovery.group(segments[1], registry: registry) }
        if segments.count == 3, segments[0] == "apis" {
            return try Discovery.resourceList(group: segments[1], version: segments[2], resources: registry.resources)
        }

        guard let target = APIRequestInfo(path: trimmed) else { throw APIError.notFoundPath() }
        if target.version == "v1", target.name == nil, let review = Self.reviewTypes["\(target.group)/\(target.resource)"],
           review.info.namespaced == (target.namespace != nil) {
            return try self.review(review, namespace: target.namespace, request: request, user: user)
        }
        guard let storage = registry.storage(group: target.group, version: target.version, resource: target.resource)
        else { throw APIError.notFoundPath() }
        let info = storage.info
        if !info.namespaced, target.namespace != nil { throw APIError.notFoundPath() }
        if info == Resources.pods, let namespace = target.namespace, let name = target.name, let sub = target.subresource,
           let response = try await podNodeSubresource(sub, namespace: namespace, name: name, request: request) {
            return response
        }
        if let sub = target.subresource, info.subresource(sub) == nil { throw APIError.notFoundPath() }
        if let node = user.nodeName, Self.isMutating(request.method) {
            try admitNodeWrite(node: node, attributes, storage: storage, request: request)
        }

        let namespace = info.namespaced ? target.namespace : nil
        switch (request.method, target.name, target.subresource) {
        case (.GET, nil, _):
            if request.query.bool("watch") && request.query["watch"] != "false" && request.query["watch"] != "0" {
                return try watch(storage, namespace: namespace, request: request)
            }
            return try list(storage, namespace: namespace, request: request)
        case (.GET, let name?, nil), (.GET, let name?, "status"):
            return try get(storage, namespace: namespace, name: name, request: request)
        case (.GET, let name?, "scale"):
            return try getScale(storage, namespace: namespace, name: name, request: request)
        case (.POST, nil, nil):
            if info.namespaced, namespace == nil { throw APIError.notFoundPath() }
            if info == Resources.pods, let namespace, config.serviceAccountAdmission {
                await awaitDefaultServiceAccount(namespace: namespace)
            }
            return try create(storage, namespace: namespace, request: request)
        case (.POST, let name?, "binding"):
            return try bind(storage, namespace: namespace, name: name, request: request)
        case (.POST, let name?, "token") where info == Resources.serviceaccounts:
            return try createToken(storage, namespace: namespace ?? "", name: name, request: request)
        case (.POST, let name?, "eviction"):
            return try evict(storage, namespace: namespace, name: name, request: request)
        case (.PUT, let name?, let sub) where sub == nil || sub == "status":
            return try update(storage, namespace: namespace, name: name, subresource: sub, request: request)
        case (.PUT, let name?, "scale"):
            return try updateScale(storage, namespace: namespace, name: name, request: request, patchType: nil)
        case (.PUT, let name?, "finalize"):  // only namespaces have it
            return try update(storage, namespace: nil, name: name, subresource: nil, request: request)
        case (.PATCH, let name?, let sub) where sub == nil || sub == "status":
            return try patch(storage, namespace: namespace, name: name, subresource: sub, request: request)
        case (.PATCH, let name?, "scale"):
            return try updateScale(storage, namespace: namespace, name: name, request: request, patchType: request.contentType)
        case (.DELETE, let name?, nil):
            return try delete(storage, namespace: namespace, name: name, request: request)
        case (.DELETE, nil, nil):
            return try deleteCollection(storage, namespace: namespace, request: request)
        default:
            throw APIError.methodNotAllowed("the server does not allow this method on the requested resource")
        }
    }

    static let versionInfo: JSONValue = [
        "major": "1", "minor": "34", "gitVersion": "v1.34.0+swiftlet", "gitCommit": "swiftlet",
        "gitTreeState": "clean", "buildDate": "2026-11-24T00:00:00Z", "goVersion": "swift6.3",
        "compiler": "swiftc", "platform": "linux/amd64",
    ]
}

/// A count of requests being served, and how many may be at once.
final class InFlightLimit: Sendable {
    let limit: Int
    private let count = Atomic<Int>(0)

    init(_ limit: Int) {
        self.limit = limit
    }

    /// Takes a place, given back when the returned object goes away; nil when every place is taken.
    func take() -> InFlightPlace? {
        guard count.add(1, ordering: .relaxed).newValue <= limit else {
            count.subtract(1, ordering: .relaxed)
            return nil
        }
        return InFlightPlace(self)
    }

    fileprivate func release() {
        count.subtract(1, ordering: .relaxed)
    }
}

/// One place of an `InFlightLimit`. It travels with the response and is given back when the
/// last copy of that response is gone: once the server has written it, or once an in-process
/// client has taken it. Giving it back on release, rather than by hand, leaves no path that
/// could keep it forever.
final class InFlightPlace: Sendable {
    private let limit: InFlightLimit

    fileprivate init(_ limit: InFlightLimit) { self.limit = limit }

    deinit { limit.release() }
}
