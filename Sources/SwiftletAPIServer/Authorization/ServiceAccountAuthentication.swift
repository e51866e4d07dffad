import Foundation
import SwiftletAPI
import SwiftletMachinery
import SwiftletPKI

extension APIServer {
    /// The audiences the API server accepts tokens for (`--api-audiences`, which defaults to
    /// the issuer).
    static let apiAudiences = [ServiceAccountTokens.issuer]

    /// What a TokenRequest body is decoded and checked as.
    static let tokenRequestType = ResourceType(ResourceInfo(
        group: "authentication.k8s.io", version: "v1", resource: "tokenrequests", singular: "tokenrequest", kind: "TokenRequest",
        namespaced: true, verbs: ["create"]))

    /// The user a ServiceAccount token names, as upstream's service-account authenticator:
    /// signed by this cluster's key, unexpired, for the API's audience, and naming a
    /// ServiceAccount (and pod, when bound to one) that still exists with the same uid.
    func serviceAccountUser(token: String, audiences: [String] = APIServer.apiAudiences) -> UserInfo? {
        guard let signer = config.serviceAccountTokens, token.split(separator: ".").count == 3,
              let claims = signer.verify(token, audiences: audiences, now: config.clock()) else { return nil }
        let subject = claims.subject
        guard let account = storage(for: Resources.serviceaccounts)?.cache.get(
                  Resources.serviceaccounts.storageKey(namespace: subject.namespace, name: subject.name))?.object(),
              account[path: "metadata", "uid"]?.stringValue == subject.uid else { return nil }
        var extra: [String: [String]] = [:]
        if let pod = subject.pod {
            guard let live = storage(for: Resources.pods)?.cache.get(Resources.pods.storageKey(namespace: subject.namespace, name: pod.name))?.object(),
                  live[path: "metadata", "uid"]?.stringValue == pod.uid else { return nil }
            extra["authentication.kubernetes.io/pod-name"] = [pod.name]
            extra["authentication.kubernetes.io/pod-uid"] = [pod.uid]
        }
        return UserInfo(name: "system:serviceaccount:\(subject.namespace):\(subject.name)", uid: subject.uid,
                        groups: ["system:serviceaccounts", "system:serviceaccounts:\(subject.namespace)", "system:authenticated"],
                        extra: extra)
    }

    /// POST serviceaccounts/{name}/token (`kubectl create token`): a token for the
    /// ServiceAccount, for the audiences asked (the API's by default), for an hour unless
    /// `expirationSeconds` says otherwise (at least ten minutes), bound to a pod if asked.
    func createToken(_ accounts: ResourceStorage, namespace: String, name: String, request: HTTPRequest) throws(APIError) -> HTTPResponse {
        guard let signer = config.serviceAccountTokens else { throw APIError.notFoundPath() }
        var (tokenRequest, _) = try decodeBody(request, type: Self.tokenRequestType)
        let account = try accounts.get(namespace: namespace, name: name).object()
        let spec = tokenRequest["spec"] ?? .object(JSONObject())
        let expiration = spec["expirationSeconds"]?.intValue ?? 3600
        if expiration < 600 {
            throw APIError.invalid(group: "authentication.k8s.io", kind: "TokenRequest", name: name, errors: [
                .invalid("spec.expirationSeconds", .int(expiration), "may not specify a duration less than 10 minutes"),
            ])
        }
        if expiration > 1 << 32 {
            throw APIError.invalid(group: "authentication.k8s.io", kind: "TokenRequest", name: name, errors: [
                .invalid("spec.expirationSeconds", .int(expiration), "may not specify a duration larger than 2^32 seconds"),
            ])
        }
        var pod: (name: String, uid: String)?
        if let bound = spec["boundObjectRef"], !bound.isNull {
            let kind = FieldRead.string(bound["kind"]), podName = FieldRead.string(bound["name"])
            guard kind == "Pod" else {
                throw APIError.invalid(group: "authentication.k8s.io", kind: "TokenRequest", name: name, errors: [
                    .notSupported("spec.boundObjectRef.kind", .string(kind), ["Pod"]),
                ])
            }
            let live = try storage(for: Resources.pods)!.get(namespace: namespace, name: podName).object()
            let uid = FieldRead.string(live[path: "metadata", "uid"])
            if let asked = bound["uid"]?.stringValue, !asked.isEmpty, asked != uid {
                throw APIError.conflict(group: "", resource: "pods", name: podName,
                                        detail: "the UID in the bound object reference (\(asked)) does not match the UID in record. The object might have been deleted and then recreated")
            }
            pod = (podName, uid)
        }
        let audiences = FieldRead.strings(spec["audiences"]).isEmpty ? Self.apiAudiences : FieldRead.strings(spec["audiences"])
        let subject = ServiceAccountTokens.Subject(namespace: namespace, name: name,
                                                   uid: FieldRead.string(account[path: "metadata", "uid"]), pod: pod)
        let issued: (token: String, expires: Date)
        do { issued = try signer.issue(subject, audiences: audiences, now: config.clock(), expiration: TimeInterval(expiration)) } catch {
            throw APIError.internalError("signing the token: \(error)")
        }
        tokenRequest["apiVersion"] = "authentication.k8s.io/v1"
        tokenRequest["kind"] = "TokenRequest"
        tokenRequest["metadata"] = ["name": .string(name), "namespace": .string(namespace), "creationTimestamp": .null]
        tokenRequest[path: "spec", "audiences"] = .array(audiences.map { .string($0) })
        tokenRequest[path: "spec", "expirationSeconds"] = .int(expiration)
        tokenRequest["status"] = ["token": .string(issued.token), "expirationTimestamp": .string(RFC3339.string(from: issued.expires))]
        return .json(tokenRequest, status: .created)
    }

    /// TokenReview: whether a token authenticates, and as whom.
    func tokenReviewStatus(_ spec: JSONValue) -> JSONValue {
        let token = FieldRead.string(spec["token"])
        let asked = FieldRead.strings(spec["audiences"])
        let audiences = asked.isEmpty ? Self.apiAudiences : asked
        let user = serviceAccountUser(token: token, audiences: audiences)
            ?? (asked.isEmpty ? config.tokens.first(where: { Tokens.matches(token, $0.key) })?.value : nil)
        guard let user else { return ["authenticated": false] }
        var info: JSONValue = ["username": .string(user.name), "groups": .array(user.groups.map { .string($0) })]
        if !user.uid.isEmpty { info["uid"] = .string(user.uid) }
        if !user.extra.isEmpty {
            info["extra"] = .object(JSONObject(user.extra.sorted { $0.key < $1.key }.map { ($0.key, .array($0.value.map { .string($0) })) }))
        }
        return ["authenticated": true, "user": info, "audiences": .array(audiences.map { .string($0) })]
    }
}
