import Foundation
import NIOHTTP1
import SwiftletAPI
import SwiftletMachinery

extension APIServer {
    /// Upstream's impersonation filter: `Impersonate-User`, `Impersonate-Group`,
    /// `Impersonate-Uid` and `Impersonate-Extra-KEY` headers (`kubectl --as`, `--as-group`)
    /// make the request act as someone else, when the requester may `impersonate` each of
    /// them. Without the headers the requester acts as themselves.
    func impersonated(_ requester: UserInfo, headers: HTTPHeaders) throws(APIError) -> UserInfo {
        let userName = headers.first(name: "Impersonate-User")
        let groups = headers[canonicalForm: "Impersonate-Group"].map(String.init)
        let uid = headers.first(name: "Impersonate-Uid")
        var extra: [String: [String]] = [:]
        for (name, value) in headers where name.lowercased().hasPrefix("impersonate-extra-") {
            let key = String(name.dropFirst("impersonate-extra-".count)).lowercased().removingPercentEncoding ?? ""
            extra[key, default: []].append(value)
        }
        guard let userName else {
            if !groups.isEmpty || uid != nil || !extra.isEmpty {
                throw APIError.internalError("requested \(groups.isEmpty ? "uid or extra" : "groups") without impersonating a user")
            }
            return requester
        }
        var checks: [AuthorizationAttributes] = []
        var target = UserInfo(name: userName, uid: uid ?? "", groups: groups, extra: extra)
        let serviceAccountPrefix = "system:serviceaccount:"
        if userName.hasPrefix(serviceAccountPrefix), case let parts = userName.dropFirst(serviceAccountPrefix.count).split(separator: ":"), parts.count == 2 {
            checks.append(AuthorizationAttributes(verb: "impersonate", resource: "serviceaccounts", namespace: String(parts[0]), name: String(parts[1])))
            for group in ["system:serviceaccounts", "system:serviceaccounts:\(parts[0])"] where !target.groups.contains(group) {
                target.groups.append(group)
            }
        } else {
            checks.append(AuthorizationAttributes(verb: "impersonate", resource: "users", name: userName))
        }
        checks += groups.map { AuthorizationAttributes(verb: "impersonate", resource: "groups", name: $0) }
        if let uid { checks.append(AuthorizationAttributes(verb: "impersonate", apiGroup: "authentication.k8s.io", resource: "uids", name: uid)) }
        for (key, values) in extra {
            checks += values.map { AuthorizationAttributes(verb: "impersonate", apiGroup: "authentication.k8s.io", resource: "userextras", subresource: key, name: $0) }
        }
        for check in checks where !authorizer.authorize(requester, check).allowed {
            throw Authorizer.forbidden(requester, check)
        }
        if userName != "system:anonymous", !target.groups.contains("system:authenticated") { target.groups.append("system:authenticated") }
        return target
    }
}
