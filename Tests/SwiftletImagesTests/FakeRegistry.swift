import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
@testable import SwiftletImages

struct FakeRequest: Sendable {
    var method: HTTPMethod
    var uri: String
    var headers: HTTPHeaders
    var body: [UInt8] = []

    var path: String { String(uri.prefix { $0 != "?" }) }
    var authorization: String? { headers.first(name: "Authorization") }

    /// Every value of a query parameter.
    func query(_ name: String) -> [String] {
        (URLComponents(string: uri)?.queryItems ?? []).filter { $0.name == name }.compactMap(\.value)
    }
}

struct FakeResponse: Sendable {
    var status: HTTPResponseStatus
    var headers: [(String, String)] = []
    var body: [UInt8] = []

    static func json(_ status: HTTPResponseStatus, _ text: String, headers: [(String, String)] = []) -> FakeResponse {
        FakeResponse(status: status, headers: [("Content-Type", "application/json")] + headers, body: Array(text.utf8))
    }
}

/// A plain HTTP/1.1 server on 127.0.0.1 and a port of its own, answering each request with a
/// handler and keeping a log of the requests.
final class FakeHTTPServer: Sendable {
    typealias Handler = @Sendable (FakeRequest) async -> FakeResponse
    typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

    let port: Int
    private let log = Mutex<[FakeRequest]>([])
    private let serving = Mutex<Task<Void, Never>?>(nil)

    private init(port: Int) { self.port = port }

    var host: String { "127.0.0.1:\(port)" }
    var requests: [FakeRequest] { log.withLock { $0 } }

    static func start(_ handler: @escaping Handler) async throws -> FakeHTTPServer {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try Connection(wrappingChannelSynchronously: channel)
                }
            }
        let server = FakeHTTPServer(port: channel.channel.localAddress!.port!)
        let task = Task {
            _ = try? await withThrowingDiscardingTaskGroup { group in
                try await channel.executeThenClose { connections in
                    for try await connection in connections {
                        group.addTask { await server.serve(connection, handler) }
                    }
                }
            }
        }
        server.serving.withLock { $0 = task }
        return server
    }

    private func serve(_ connection: Connection, _ handler: Handler) async {
        try? await connection.executeThenClose { inbound, outbound in
            var head: HTTPRequestHead?
            var body: [UInt8] = []
            for try await part in inbound {
                switch part {
                case .head(let received):
                    head = received
                    body = []
                case .body(let buffer):
                    body += buffer.readableBytesView
                case .end:
                    guard let request = head else { continue }
                    head = nil
                    let logged = FakeRequest(method: request.method, uri: request.uri, headers: request.headers, body: body)
                    log.withLock { $0.append(logged) }
                    let response = await handler(logged)
                    var headers = HTTPHeaders(response.headers)
                    headers.replaceOrAdd(name: "Content-Length", value: String(response.body.count))
                    try await outbound.write(.head(HTTPResponseHead(version: request.version, status: response.status, headers: headers)))
                    if request.method != .HEAD, !response.body.isEmpty {
                        try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: response.body))))
                    }
                    try await outbound.write(.end(nil))
                }
            }
        }
    }

    func stop() async {
        let task = serving.withLock { $0 }
        task?.cancel()
        await task?.value
    }
}

/// A registry speaking the distribution API's pull half: manifests by tag or digest (HEAD and
/// GET), blobs, the authentication schemes registries use, and faults to order: 503s,
/// blobs served from another host through a redirect, a blob held back until another is asked for.
final class FakeRegistry: Sendable {
    enum Auth: Sendable {
        case none
        /// Docker Hub's way: a 401 names a token server that gives anyone a token.
        case anonymousBearer
        /// The token server wants these credentials, as Basic authentication.
        case bearer(RegistryCredential)
        /// The registry itself wants these credentials.
        case basic(RegistryCredential)
        /// The token server wants this refresh token, posted as an OAuth2 form.
        case identityToken(String)
    }

    struct State {
        var auth: Auth
        /// By `repository:reference`, reference a tag or a digest.
        var manifests: [String: (mediaType: String, bytes: [UInt8])] = [:]
        var blobs: [Digest: [UInt8]] = [:]
        /// Request paths answered with 503 this many more times.
        var failures: [String: Int] = [:]
        /// When set, blob requests are redirected to `http://blobHost/data/<digest>`.
        var blobHost: String?
        /// A blob whose answer waits until `releasedBy` is asked for (a minute at most).
        var held: Digest?
        var releasedBy: Digest?
        var released = false
        var tokens: [String] = []
        /// Manifests are answered without `Docker-Content-Digest`, as some registries do.
        var omitsDigestHeader = false
        /// Repositories no token opens, as Docker Hub answers for one that does not exist.
        var denied: Set<String> = []
    }

    let state: Mutex<State>
    private let listening = Mutex<FakeHTTPServer?>(nil)

    private init(auth: Auth) { state = Mutex(State(auth: auth)) }

    static func start(auth: Auth = .none) async throws -> FakeRegistry {
        let registry = FakeRegistry(auth: auth)
        let server = try await FakeHTTPServer.start { request in await registry.respond(to: request) }
        registry.listening.withLock { $0 = server }
        return registry
    }

    var server: FakeHTTPServer { listening.withLock { $0! } }
    var host: String { server.host }
    var requests: [FakeRequest] { server.requests }

    func stop() async { await server.stop() }

    /// Adds an image's manifest (by digest, and by `tag` if given), config and layers.
    func add(_ image: TestImage, repository: String, tag: String? = nil) {
        state.withLock { state in
            let manifest = (image.manifestDescriptor.mediaType, image.manifest)
            state.manifests["\(repository):\(image.manifestDescriptor.digest)"] = manifest
            if let tag { state.manifests["\(repository):\(tag)"] = manifest }
            state.blobs[image.configDescriptor.digest] = image.config
            for layer in image.layers { state.blobs[layer.descriptor.digest] = layer.blob }
        }
    }

    /// Adds an index of images by platform, under `tag`; returns its descriptor.
    @discardableResult
    func addIndex(_ images: [(TestImage, Platform)], repository: String, tag: String) -> Descriptor {
        var manifests: [Descriptor] = []
        for (image, platform) in images {
            add(image, repository: repository)
            var descriptor = image.manifestDescriptor
            descriptor.platform = platform
            manifests.append(descriptor)
        }
        let bytes = CanonicalJSON.encode(ImageIndex(manifests: manifests))
        let descriptor = Descriptor(mediaType: MediaType.ociIndex, digest: Digest(hashing: bytes), size: Int64(bytes.count))
        state.withLock { state in
            state.manifests["\(repository):\(descriptor.digest)"] = (MediaType.ociIndex, bytes)
            state.manifests["\(repository):\(tag)"] = (MediaType.ociIndex, bytes)
        }
        return descriptor
    }

    func blob(_ digest: Digest) -> [UInt8]? { state.withLock { $0.blobs[digest] } }

    /// The requests for one path (`/v2/test/app/blobs/sha256:…`), any method.
    func requests(for path: String) -> [FakeRequest] { requests.filter { $0.path == path } }

    private func respond(to request: FakeRequest) async -> FakeResponse {
        let path = request.path
        if path == "/token" { return token(request) }
        let failed = state.withLock { state -> Bool in
            guard let left = state.failures[path], left > 0 else { return false }
            state.failures[path] = left - 1
            return true
        }
        if failed { return .json(.serviceUnavailable, #"{"errors":[{"code":"UNAVAILABLE","message":"try later"}]}"#) }

        guard path.hasPrefix("/v2/") else { return FakeResponse(status: .notFound) }
        let route = Self.route(path)
        if let refusal = authorize(request, repository: route?.repository ?? "") { return refusal }
        guard let (repository, kind, reference) = route else { return .json(.ok, "{}") }

        if kind == "manifests" {
            guard let (mediaType, bytes) = state.withLock({ $0.manifests["\(repository):\(reference)"] }) else {
                return .json(.notFound, #"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#)
            }
            let digest = state.withLock { $0.omitsDigestHeader } ? [] : [("Docker-Content-Digest", Digest(hashing: bytes).description)]
            return FakeResponse(status: .ok, headers: [("Content-Type", mediaType)] + digest, body: bytes)
        }
        guard let digest = Digest(reference) else { return .json(.badRequest, #"{"errors":[{"code":"DIGEST_INVALID"}]}"#) }
        await holdIfAsked(digest)
        if let blobHost = state.withLock({ $0.blobHost }) {
            return FakeResponse(status: .temporaryRedirect, headers: [("Location", "http://\(blobHost)/data/\(digest)")])
        }
        guard let bytes = blob(digest) else {
            return .json(.notFound, #"{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry"}]}"#)
        }
        return FakeResponse(status: .ok, headers: [("Content-Type", "application/octet-stream")], body: bytes)
    }

    /// `/v2/<repository>/<manifests|blobs>/<reference>`.
    static func route(_ path: String) -> (repository: String, kind: String, reference: String)? {
        let parts = path.dropFirst("/v2/".count).split(separator: "/").map(String.init)
        guard parts.count >= 3, ["manifests", "blobs"].contains(parts[parts.count - 2]) else { return nil }
        return (parts.dropLast(2).joined(separator: "/"), parts[parts.count - 2], parts[parts.count - 1])
    }

    private func holdIfAsked(_ digest: Digest) async {
        let isHeld = state.withLock { state in
            if digest == state.releasedBy { state.released = true }
            return digest == state.held
        }
        guard isHeld else { return }
        var waits = 0
        while !state.withLock({ $0.released }), waits < 6000 {
            try? await Task.sleep(for: .milliseconds(10))
            waits += 1
        }
    }

    private func authorize(_ request: FakeRequest, repository: String) -> FakeResponse? {
        let (auth, tokens, denied) = state.withLock { ($0.auth, $0.tokens, $0.denied.contains(repository)) }
        switch auth {
        case .none:
            return nil
        case .anonymousBearer, .bearer, .identityToken:
            let given = request.authorization.flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
            if let given, tokens.contains(given), !denied { return nil }
            var challenge = #"Bearer realm="http://\#(host)/token",service="fake",scope="repository:\#(repository):pull""#
            if given != nil { challenge += #",error="insufficient_scope""# }
            return .json(.unauthorized, #"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#,
                         headers: [("WWW-Authenticate", challenge)])
        case .basic(let credential):
            if request.authorization == credential.basicAuthorization { return nil }
            return .json(.unauthorized, #"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#,
                         headers: [("WWW-Authenticate", #"Basic realm="fake""#)])
        }
    }

    private func token(_ request: FakeRequest) -> FakeResponse {
        state.withLock { state in
            if case .bearer(let credential) = state.auth, request.authorization != credential.basicAuthorization {
                return .json(.unauthorized, #"{"details":"incorrect username or password"}"#)
            }
            if case .identityToken(let refreshToken) = state.auth {
                let form = URLComponents(string: "?" + String(decoding: request.body, as: UTF8.self))?.queryItems ?? []
                guard request.method == .POST, form.contains(URLQueryItem(name: "grant_type", value: "refresh_token")),
                      form.contains(URLQueryItem(name: "refresh_token", value: refreshToken)) else {
                    return .json(.unauthorized, #"{"details":"invalid refresh token"}"#)
                }
            }
            let token = "token-\(state.tokens.count + 1)"
            state.tokens.append(token)
            // Docker Hub's token server sends both names.
            return .json(.ok, #"{"token":"\#(token)","access_token":"\#(token)","expires_in":300}"#)
        }
    }
}

/// The second host a registry redirects blob downloads to (as registries send them to a CDN):
/// serves `/data/<digest>` from the registry's blobs, and wants no credentials.
func startBlobHost(for registry: FakeRegistry) async throws -> FakeHTTPServer {
    try await FakeHTTPServer.start { request in
        guard request.path.hasPrefix("/data/"), let digest = Digest(String(request.path.dropFirst("/data/".count))),
              let bytes = registry.blob(digest) else { return FakeResponse(status: .notFound) }
        return FakeResponse(status: .ok, headers: [("Content-Type", "application/octet-stream")], body: bytes)
    }
}
