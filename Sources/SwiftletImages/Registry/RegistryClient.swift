import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// The OCI distribution protocol (Docker Registry v2) against one endpoint at a time:
/// manifests by tag or digest, blobs streamed, with the authentication registries ask for
/// (anonymous or credentialed bearer tokens from the `WWW-Authenticate` realm, or Basic),
/// redirects followed by hand so that credentials never go to another host, retries with
/// back-off for what may pass (429, 5xx, broken connections), and plain HTTP for loopback
/// registries that do not speak TLS.
public final class RegistryClient: Sendable {
    private let tokens = TokenCache()
    /// Loopback hosts tried with plain HTTP first that turned out to speak HTTPS only.
    private let httpsOnlyHosts = Mutex<Set<String>>([])
    private let maxAttempts: Int
    private let retryDelay: Duration
    static let userAgent = "swiftlet/0.1"

    public init(maxAttempts: Int = 5, retryDelay: Duration = .milliseconds(200)) {
        self.maxAttempts = maxAttempts
        self.retryDelay = retryDelay
    }

    /// One HTTP client for every registry request of the process, on the shared event loops.
    /// It is never shut down: shutting one down from a deinit that runs on an event loop traps.
    private static let http: HTTPClient = {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(15), read: .seconds(60)))
        configuration.decompression = .disabled
        // A failed connection fails the request at once: `send` retries what may pass, with back-off.
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.httpVersion = .automatic
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    private var http: HTTPClient { Self.http }

    /// One repository on one endpoint, with the credential to use (if any).
    public struct Target: Sendable {
        public var endpoint: RegistryEndpoint
        /// The repository as the image names it (the token scope uses this name, even when a
        /// mirror rewrites the path).
        public var repository: String
        public var credential: RegistryCredential?

        public init(endpoint: RegistryEndpoint, repository: String, credential: RegistryCredential?) {
            self.endpoint = endpoint
            self.repository = repository
            self.credential = credential
        }
    }

    // MARK: - Manifests and blobs

    /// What a tag or digest resolves to: the descriptor, and the manifest's bytes when they
    /// were fetched (a HEAD that gives the digest fetches none).
    public func resolve(_ target: Target, reference: String, fetchBody: Bool) async throws(ImageError) -> (Descriptor, [UInt8]?) {
        if !fetchBody, Digest(reference) == nil {
            let response = try await send(target, method: .HEAD, kind: "manifests", reference: reference,
                                          accept: MediaType.manifestAccept, timeout: .seconds(60))
            if let digest = response.headers.first(name: "Docker-Content-Digest").flatMap(Digest.init),
               let length = response.headers.first(name: "Content-Length").flatMap(Int64.init),
               let type = Self.mediaType(response.headers) {
                guard length <= Int64(ImageStore.maxManifestBytes) else {
                    throw ImageError(.tooLarge, "manifest \(digest) is \(length) bytes, more than \(ImageStore.maxManifestBytes)")
                }
                return (Descriptor(mediaType: type, digest: digest, size: length), nil)
            }
        }
        let response = try await send(target, method: .GET, kind: "manifests", reference: reference,
                                      accept: MediaType.manifestAccept, timeout: .seconds(60))
        let bytes = try await Self.collect(response, limit: ImageStore.maxManifestBytes, what: "manifest \(reference)")
        let digest = Digest(hashing: bytes)
        if let expected = Digest(reference), expected != digest {
            throw ImageError(.invalidContent, "manifest digest mismatch: asked for \(expected), got \(digest)")
        }
        let type = Self.mediaType(response.headers) ?? Self.mediaType(ofManifest: bytes)
        return (Descriptor(mediaType: type, digest: digest, size: Int64(bytes.count)), bytes)
    }

    /// A manifest or index by digest, checked against it.
    public func manifest(_ target: Target, _ descriptor: Descriptor) async throws(ImageError) -> [UInt8] {
        guard descriptor.size <= Int64(ImageStore.maxManifestBytes) else {
            throw ImageError(.tooLarge, "manifest \(descriptor.digest) is \(descriptor.size) bytes, more than \(ImageStore.maxManifestBytes)")
        }
        let (_, bytes) = try await resolve(target, reference: descriptor.digest.description, fetchBody: true)
        return bytes ?? []
    }

    /// A small blob (a config) in memory, checked against its digest.
    public func smallBlob(_ target: Target, _ descriptor: Descriptor, limit: Int) async throws(ImageError) -> [UInt8] {
        guard descriptor.size <= Int64(limit) else {
            throw ImageError(.tooLarge, "blob \(descriptor.digest) is \(descriptor.size) bytes, more than \(limit)")
        }
        let response = try await send(target, method: .GET, kind: "blobs", reference: descriptor.digest.description,
                                      accept: [descriptor.mediaType, "*/*"], timeout: .seconds(120))
        let bytes = try await Self.collect(response, limit: limit, what: "blob \(descriptor.digest)")
        guard Digest(hashing: bytes) == descriptor.digest else {
            throw ImageError(.invalidContent, "blob digest mismatch: expected \(descriptor.digest), got \(Digest(hashing: bytes))")
        }
        return bytes
    }

    /// Streams a blob's bytes to `consume`, chunk by chunk as they arrive; the caller checks
    /// the digest (it hashes what it stores).
    public func blob(_ target: Target, _ descriptor: Descriptor,
                     consume: (ByteBuffer) async throws(ImageError) -> Void) async throws(ImageError) {
        let response = try await send(target, method: .GET, kind: "blobs", reference: descriptor.digest.description,
                                      accept: [descriptor.mediaType, "*/*"], timeout: .seconds(24 * 3600))
        var received: Int64 = 0
        do {
            for try await chunk in response.body {
                received += Int64(chunk.readableBytes)
                guard received <= descriptor.size else {
                    throw ImageError(.invalidContent, "blob \(descriptor.digest) is larger than its descriptor's \(descriptor.size) bytes")
                }
                try await consume(chunk)
            }
        } catch let error as ImageError {
            throw error
        } catch {
            throw ImageError(.unavailable, "failed to read blob \(descriptor.digest): \(Self.describe(error))")
        }
    }

    // MARK: - Requests

    /// Sends a request, handling authentication challenges, redirects and retries; returns a
    /// 2xx response whose body the caller reads.
    func send(_ target: Target, method: HTTPMethod, kind: String, reference: String, accept: [String],
              timeout: Duration) async throws(ImageError) -> HTTPClientResponse {
        let endpoint = target.endpoint
        let scope = "repository:\(target.repository):pull"
        let tokenKey = TokenCache.key(host: endpoint.host, scope: scope, credential: target.credential)
        let plain = endpoint.plainHTTPFirst && !httpsOnlyHosts.withLock { $0.contains(endpoint.host) }
        var url = endpoint.url(scheme: plain ? "http" : nil, repository: target.repository, kind: kind, reference: reference)
        let tls = try Self.tls(for: endpoint)
        var authorization: String?
        if let token = await tokens.token(tokenKey) {
            authorization = "Bearer " + token
        } else if let credential = target.credential, await tokens.usesBasic(endpoint.host) {
            authorization = credential.basicAuthorization
        }
        var answeredChallenge = false
        var attempt = 0
        var redirects = 0
        while true {
            attempt += 1
            var request = HTTPClientRequest(url: url)
            request.method = method
            request.headers.add(name: "User-Agent", value: Self.userAgent)
            request.headers.add(name: "Accept", value: accept.joined(separator: ", "))
            // Credentials go to the endpoint's own host only, never where a redirect leads.
            if let authorization, Self.host(of: url) == endpoint.host { request.headers.add(name: "Authorization", value: authorization) }
            if url.hasPrefix("https://") { request.tlsConfiguration = tls }
            let response: HTTPClientResponse
            do {
                response = try await http.execute(request, timeout: TimeAmount.nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000))
            } catch {
                if attempt < maxAttempts, !Self.isPermanent(error), !(error is CancellationError), !Task.isCancelled {
                    try await pause(attempt: attempt, retryAfter: nil)
                    continue
                }
                throw ImageError(.unavailable, "failed to do request: \(Self.goMethod(method)) \"\(url)\": \(Self.describe(error))")
            }
            let status = Int(response.status.code)
            if status == 400, endpoint.plainHTTPFirst, url.hasPrefix("http://"), Self.host(of: url) == endpoint.host {
                // TLS servers answer plain HTTP with a 400 that says so (Go: "Client sent an HTTP request to
                // an HTTPS server", nginx: "The plain HTTP request was sent to HTTPS port"): the registry speaks HTTPS.
                let body = try? await response.body.collect(upTo: 4096)
                if let body, String(buffer: body).contains("HTTPS") {
                    httpsOnlyHosts.withLock { _ = $0.insert(endpoint.host) }
                    url = "https://" + url.dropFirst("http://".count)
                    attempt -= 1
                    continue
                }
                throw Self.statusError(method: method, url: url, response: response, body: body)
            }
            switch status {
            case 200..<300:
                return response
            case 301, 302, 303, 307, 308:
                _ = try? await response.body.collect(upTo: 64 * 1024)
                guard redirects < 10, let location = response.headers.first(name: "Location"),
                      let next = URL(string: location, relativeTo: URL(string: url))?.absoluteURL.absoluteString,
                      next.hasPrefix("http://") || next.hasPrefix("https://") else {
                    throw ImageError(.unavailable, "unexpected status from \(Self.goMethod(method)) request to \(url): \(Self.statusText(response.status)) (bad redirect)")
                }
                redirects += 1
                url = next
                attempt -= 1
            case 401:
                let body = try? await response.body.collect(upTo: 64 * 1024)
                let challenges = AuthChallenge.parse(response.headers["WWW-Authenticate"])
                if answeredChallenge || challenges.isEmpty {
                    await tokens.forget(tokenKey)
                    if let error = challenges.first?.parameters["error"] {
                        throw ImageError(.unauthorized, "pull access denied, repository does not exist or may require authorization: server message: \(error): authorization failed")
                    }
                    throw Self.statusError(method: method, url: url, response: response, body: body)
                }
                answeredChallenge = true
                if let bearer = challenges.first(where: { $0.scheme == "bearer" }) {
                    let token = try await fetchToken(bearer, target: target, scope: scope)
                    await tokens.store(tokenKey, token: token.token, expiresIn: token.expiresIn)
                    authorization = "Bearer " + token.token
                } else if challenges.contains(where: { $0.scheme == "basic" }), let credential = target.credential {
                    await tokens.markBasic(endpoint.host)
                    authorization = credential.basicAuthorization
                } else {
                    throw Self.statusError(method: method, url: url, response: response, body: body)
                }
                attempt -= 1
            case 408, 429, 500, 502, 503, 504:
                let body = try? await response.body.collect(upTo: 64 * 1024)
                guard attempt < maxAttempts else { throw Self.statusError(method: method, url: url, response: response, body: body) }
                let retryAfter = response.headers.first(name: "Retry-After").flatMap(Int.init).map { Duration.seconds(min($0, 10)) }
                try await pause(attempt: attempt, retryAfter: retryAfter)
            default:
                let body = try? await response.body.collect(upTo: 64 * 1024)
                if status == 404, kind == "manifests" {
                    throw ImageError(.notFound, "not found")
                }
                throw Self.statusError(method: method, url: url, response: response, body: body)
            }
        }
    }

    private struct Token: Decodable {
        var token: String?
        var access_token: String?
        var expires_in: Int?
    }

    /// Asks the challenge's realm for a token: GET, with Basic credentials when there are
    /// some, or a POST with the refresh-token grant for an identity token.
    private func fetchToken(_ challenge: AuthChallenge, target: Target, scope: String) async throws(ImageError) -> (token: String, expiresIn: Int?) {
        guard let realm = challenge.realm, var components = URLComponents(string: realm),
              components.scheme == "https" || components.scheme == "http" else {
            throw ImageError(.unauthorized, "failed to authorize: invalid token realm \"\(challenge.realm ?? "")\"")
        }
        var scopes = [scope]
        if let asked = challenge.parameters["scope"] {
            for extra in asked.split(separator: " ").map(String.init) where !scopes.contains(extra) { scopes.append(extra) }
        }
        scopes.sort()
        var request: HTTPClientRequest
        let credential = target.credential
        let kind = credential == nil ? "anonymous token" : "token"
        if let credential, credential.username.isEmpty {
            var form = URLComponents()
            form.queryItems = [URLQueryItem(name: "grant_type", value: "refresh_token"),
                               URLQueryItem(name: "refresh_token", value: credential.password),
                               URLQueryItem(name: "client_id", value: "swiftlet"),
                               URLQueryItem(name: "scope", value: scopes.joined(separator: " "))]
            if let service = challenge.parameters["service"] { form.queryItems!.append(URLQueryItem(name: "service", value: service)) }
            request = HTTPClientRequest(url: realm)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded; charset=utf-8")
            request.body = .bytes(ByteBuffer(string: form.percentEncodedQuery ?? ""))
        } else {
            var items = components.queryItems ?? []
            if let service = challenge.parameters["service"] { items.append(URLQueryItem(name: "service", value: service)) }
            items += scopes.map { URLQueryItem(name: "scope", value: $0) }
            components.queryItems = items
            request = HTTPClientRequest(url: components.url?.absoluteString ?? realm)
            request.method = .GET
            if let credential { request.headers.add(name: "Authorization", value: credential.basicAuthorization) }
        }
        request.headers.add(name: "User-Agent", value: Self.userAgent)
        if request.url.hasPrefix("https://") { request.tlsConfiguration = try Self.tls(for: target.endpoint) }
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: .seconds(30))
        } catch {
            throw ImageError(.unavailable, "failed to authorize: failed to fetch \(kind): \(Self.describe(error))")
        }
        let body = try? await response.body.collect(upTo: 1 << 20)
        guard (200..<300).contains(Int(response.status.code)), let body else {
            let method = request.method == .POST ? "POST" : "GET"
            throw ImageError(.unauthorized, "failed to authorize: failed to fetch \(kind): unexpected status from \(method) request to \(realm): \(Self.statusText(response.status))")
        }
        guard let parsed = try? JSONDecoder().decode(Token.self, from: Data(body.readableBytesView)),
              let token = parsed.access_token ?? parsed.token, !token.isEmpty else {
            throw ImageError(.unauthorized, "failed to authorize: the token server at \(realm) answered without a token")
        }
        return (token, parsed.expires_in)
    }

    private func pause(attempt: Int, retryAfter: Duration?) async throws(ImageError) {
        let delay = retryAfter ?? retryDelay * (1 << min(attempt - 1, 5))
        do {
            try await Task.sleep(for: delay)
        } catch {
            throw ImageError(.unavailable, "pull cancelled")
        }
    }

    // MARK: - Helpers

    static func tls(for endpoint: RegistryEndpoint) throws(ImageError) -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        guard let settings = endpoint.config?.tls else { return tls }
        do {
            if let ca = settings.ca_file { tls.additionalTrustRoots = [.certificates(try NIOSSLCertificate.fromPEMFile(ca))] }
            if let cert = settings.cert_file, let key = settings.key_file {
                tls.certificateChain = try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
            }
        } catch {
            throw ImageError(.invalidContent, "cannot load the TLS files for \(endpoint.host): \(error)")
        }
        if settings.insecure_skip_verify == true { tls.certificateVerification = .none }
        return tls
    }

    static func host(of url: String) -> String? {
        guard let components = URLComponents(string: url), let host = components.host else { return nil }
        let bracketed = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        return components.port.map { "\(bracketed):\($0)" } ?? bracketed
    }

    static func mediaType(_ headers: HTTPHeaders) -> String? {
        guard let type = headers.first(name: "Content-Type")?.split(separator: ";").first else { return nil }
        let trimmed = type.trimmingCharacters(in: .whitespaces)
        return MediaType.isIndex(trimmed) || MediaType.isManifest(trimmed) ? trimmed : nil
    }

    /// A manifest served with a generic content type: its own `mediaType`, or an index if it
    /// lists manifests.
    static func mediaType(ofManifest bytes: [UInt8]) -> String {
        struct Probe: Decodable {
            var mediaType: String?
            var manifests: [Descriptor]?
        }
        let probe = try? JSONDecoder().decode(Probe.self, from: Data(bytes))
        return probe?.mediaType ?? (probe?.manifests != nil ? MediaType.ociIndex : MediaType.ociManifest)
    }

    static func collect(_ response: HTTPClientResponse, limit: Int, what: String) async throws(ImageError) -> [UInt8] {
        do {
            let buffer = try await response.body.collect(upTo: limit)
            return Array(buffer.readableBytesView)
        } catch is NIOTooManyBytesError {
            throw ImageError(.tooLarge, "\(what) is larger than \(limit) bytes")
        } catch {
            throw ImageError(.unavailable, "failed to read \(what): \(describe(error))")
        }
    }

    /// `unexpected status from GET request to URL: 404 Not Found`, then the registry's own
    /// errors (`code: message`), as containerd reports a refused request.
    static func statusError(method: HTTPMethod, url: String, response: HTTPClientResponse, body: ByteBuffer?) -> ImageError {
        var message = "unexpected status from \(goMethod(method)) request to \(url): \(statusText(response.status))"
        if let body, let text = registryErrors(Array(body.readableBytesView)) { message += "\n" + text }
        let kind: ImageError.Kind = switch response.status.code {
        case 401, 403: .unauthorized
        case 404: .notFound
        case 408, 429, 500...599: .unavailable
        default: .invalidContent
        }
        return ImageError(kind, message)
    }

    /// `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}` → `unauthorized: authentication required`.
    static func registryErrors(_ body: [UInt8]) -> String? {
        struct Errors: Decodable {
            struct Entry: Decodable {
                var code: String?
                var message: String?
            }
            var errors: [Entry]
        }
        guard let parsed = try? JSONDecoder().decode(Errors.self, from: Data(body)), !parsed.errors.isEmpty else { return nil }
        return parsed.errors.map { entry in
            let code = (entry.code ?? "unknown").lowercased()
            return entry.message.map { "\(code): \($0)" } ?? code
        }.joined(separator: "; ")
    }

    static func statusText(_ status: HTTPResponseStatus) -> String { "\(status.code) \(status.reasonPhrase)" }

    /// Go's spelling of the method in its error messages (`Head "https://…"`).
    static func goMethod(_ method: HTTPMethod) -> String {
        switch method {
        case .HEAD: return "Head"
        case .GET: return "Get"
        case .POST: return "Post"
        default: return method.rawValue
        }
    }

    /// A name that does not resolve will not resolve on the next try either.
    static func isPermanent(_ error: any Error) -> Bool {
        if error is SocketAddressError { return true }
        if let error = error as? NIOConnectionError {
            return error.connectionErrors.isEmpty && (error.dnsAError != nil || error.dnsAAAAError != nil)
        }
        return false
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? NIOConnectionError {
            if let first = error.connectionErrors.first { return "dial tcp \(first.target): \(describe(first.error))" }
            return "dial tcp: lookup \(error.host): no such host"
        }
        if let error = error as? SocketAddressError, case .unknown(let host, _) = error {
            return "dial tcp: lookup \(host): no such host"
        }
        if let error = error as? IOError { return "connect: " + String(cString: strerror(error.errnoCode)).lowercased() }
        if let error = error as? HTTPClientError { return "\(error)" }
        return "\(error)"
    }
}
