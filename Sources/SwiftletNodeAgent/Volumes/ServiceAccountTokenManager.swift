import Foundation
import Synchronization
import SwiftletAPI
import SwiftletClient
import SwiftletMachinery

/// What a projected `serviceAccountToken` source asks for; sources of one pod that ask for the
/// same share a token, as the kubelet's do.
struct ServiceAccountTokenSource: Hashable, Sendable {
    var audience: String
    var expirationSeconds: Int64

    init(audience: String, expirationSeconds: Int64) {
        self.audience = audience
        self.expirationSeconds = expirationSeconds
    }

    /// Defaults as the API stores them: no audience is the API server's own, an hour.
    init(_ source: JSONValue) {
        self.init(audience: FieldRead.string(source["audience"]), expirationSeconds: source["expirationSeconds"]?.intValue ?? 3600)
    }
}

/// The kubelet's token manager (`pkg/kubelet/token`): each pod's projected ServiceAccount tokens
/// are requested through TokenRequest, bound to the pod, and kept until they are within a fifth
/// of their lifetime of expiring or a day old; the pod's sync is then due again, and rewrites
/// the volume with a fresh token.
final class ServiceAccountTokenManager: Sendable {
    /// Asks the API for a token: namespace, ServiceAccount, the pod bound (name, uid), the source.
    typealias Request = @Sendable (_ namespace: String, _ serviceAccount: String, _ pod: (name: String, uid: String),
                                   _ source: ServiceAccountTokenSource) async throws(APIError) -> (token: String, expires: Date)

    struct Issued: Sendable {
        var token: String
        var issued: Date
        var expires: Date

        /// When the kubelet asks again: 80 % into the token's life, and never after 24 hours.
        var refreshAt: Date {
            let life = expires.timeIntervalSince(issued)
            return min(expires.addingTimeInterval(-life / 5), issued.addingTimeInterval(ServiceAccountTokenManager.maxAge))
        }
    }

    struct Key: Hashable, Sendable {
        var podUID: String
        var serviceAccount: String
        var source: ServiceAccountTokenSource
    }

    /// The tokens of one pod, and when its sync should run again to refresh them.
    struct PodTokens: Sendable {
        var tokens: [ServiceAccountTokenSource: String] = [:]
        var refreshAt: Date?
    }

    struct FetchError: Error, CustomStringConvertible {
        let volume: String
        let error: APIError
        /// As the kubelet's FailedMount event says it.
        var description: String { "MountVolume.SetUp failed for volume \"\(volume)\" : failed to fetch token: \(error.message)" }
    }

    static let maxAge: TimeInterval = 24 * 3600
    /// How soon a refresh that failed is tried again, while the old token still serves.
    static let retryAfterFailure: TimeInterval = 10

    private let request: Request
    private let clock: any Clock
    private let cache = Mutex<[Key: Issued]>([:])

    init(clock: any Clock, request: @escaping Request) {
        self.clock = clock
        self.request = request
    }

    /// Tokens through the API client: `POST serviceaccounts/NAME/token`, bound to the pod.
    convenience init(client: APIClient, clock: any Clock) {
        self.init(clock: clock) { namespace, account, pod, source throws(APIError) in
            var spec: JSONValue = [
                "expirationSeconds": .int(source.expirationSeconds),
                "boundObjectRef": ["apiVersion": "v1", "kind": "Pod", "name": .string(pod.name), "uid": .string(pod.uid)],
            ]
            if !source.audience.isEmpty { spec["audiences"] = [.string(source.audience)] }
            let answer = try await client.create(Resources.serviceaccounts, namespace: namespace, name: account, subresource: "token",
                                                 ["apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec])
            guard let token = answer[path: "status", "token"]?.stringValue,
                  let expires = answer[path: "status", "expirationTimestamp"]?.stringValue.flatMap(RFC3339.date(from:)) else {
                throw APIError.internalError("the TokenRequest's answer has no token")
            }
            return (token, expires)
        }
    }

    /// The tokens the pod's projected volumes need, fetched when missing or due for a refresh.
    func tokens(for pod: JSONValue) async throws(FetchError) -> PodTokens {
        let namespace = FieldRead.string(pod[path: "metadata", "namespace"])
        let podName = FieldRead.string(pod[path: "metadata", "name"])
        let uid = FieldRead.string(pod[path: "metadata", "uid"])
        let account = FieldRead.string(pod[path: "spec", "serviceAccountName"]).isEmpty
            ? "default" : FieldRead.string(pod[path: "spec", "serviceAccountName"])
        var result = PodTokens()
        for volume in pod[path: "spec", "volumes"]?.arrayValue ?? [] {
            for projection in volume[path: "projected", "sources"]?.arrayValue ?? [] {
                guard let tokenSource = projection["serviceAccountToken"] else { continue }
                let source = ServiceAccountTokenSource(tokenSource)
                guard result.tokens[source] == nil else { continue }
                let key = Key(podUID: uid, serviceAccount: account, source: source)
                let now = clock.now
                var issued = cache.withLock { $0[key] }
                var due = issued?.refreshAt ?? now
                if due <= now {
                    do {
                        let answer = try await request(namespace, account, (podName, uid), source)
                        let fresh = Issued(token: answer.token, issued: now, expires: answer.expires)
                        cache.withLock { $0[key] = fresh }
                        issued = fresh
                        due = fresh.refreshAt
                    } catch {
                        // A token still valid serves until it expires, as the kubelet keeps its old one.
                        guard let old = issued, old.expires > now else {
                            throw FetchError(volume: FieldRead.string(volume["name"]), error: error)
                        }
                        due = min(old.expires, now.addingTimeInterval(Self.retryAfterFailure))
                    }
                }
                guard let issued else { continue }
                result.tokens[source] = issued.token
                result.refreshAt = min(result.refreshAt ?? due, due)
            }
        }
        return result
    }

    /// The pod is gone from this node: its tokens are no longer kept.
    func forget(podUID: String) {
        cache.withLock { cache in cache = cache.filter { $0.key.podUID != podUID } }
    }
}
