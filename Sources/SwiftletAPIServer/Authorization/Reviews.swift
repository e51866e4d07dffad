import SwiftletAPI
import SwiftletMachinery

extension APIServer {
    /// The review types, each answered in the returned object's status.
    static let reviewTypes: [String: ResourceType] = Dictionary(uniqueKeysWithValues: Resources.reviews.map {
        ("\($0.group)/\($0.resource)", ResourceType($0))
    })

    /// POST of a review: `kubectl auth can-i` (SelfSubjectAccessReview, and with `--list`
    /// SelfSubjectRulesReview), `kubectl auth whoami` (SelfSubjectReview), and the
    /// SubjectAccessReviews that ask about someone else. Nothing is stored.
    func review(_ type: ResourceType, namespace: String?, request: HTTPRequest, user: UserInfo) throws(APIError) -> HTTPResponse {
        guard request.method == .POST else {
            throw APIError.methodNotAllowed("the server does not allow this method on the requested resource")
        }
        var (review, _) = try decodeBody(request, type: type)
        review["apiVersion"] = .string(type.info.apiVersion)
        review["kind"] = .string(type.info.kind)
        if review["metadata"] == nil { review["metadata"] = .object(JSONObject()) }
        let spec = review["spec"] ?? .object(JSONObject())
        switch type.info.resource {
        case "selfsubjectreviews":
            var info: JSONValue = ["username": .string(user.name), "groups": .array(user.groups.map { .string($0) })]
            if !user.uid.isEmpty { info["uid"] = .string(user.uid) }
            if !user.extra.isEmpty {
                info["extra"] = .object(JSONObject(user.extra.sorted { $0.key < $1.key }.map { ($0.key, .array($0.value.map { .string($0) })) }))
            }
            review["status"] = ["userInfo": info]
        case "tokenreviews":
            review["status"] = tokenReviewStatus(spec)
        case "selfsubjectrulesreviews":
            let ruleNamespace = FieldRead.string(spec["namespace"])
            let rules = authorizer.policyRules(for: user, namespace: ruleNamespace)
            review["status"] = [
                "resourceRules": .array(rules.filter { $0.nonResourceURLs.isEmpty }.map(\.json)),
                "nonResourceRules": .array(rules.filter { !$0.nonResourceURLs.isEmpty }.map(\.json)),
                "incomplete": false,
            ]
        default:
            let subject: UserInfo
            if type.info.resource.hasPrefix("self") {
                subject = user
            } else {
                subject = UserInfo(name: FieldRead.string(spec["user"]), uid: FieldRead.string(spec["uid"]),
                                   groups: FieldRead.strings(spec["groups"]),
                                   extra: (spec["extra"]?.objectValue ?? JSONObject()).reduce(into: [:]) { $0[$1.key] = FieldRead.strings($1.value) })
                if subject.name.isEmpty && subject.groups.isEmpty {
                    throw APIError.invalid(group: type.info.group, kind: type.info.kind, name: "", errors: [
                        .invalid("spec.user", .string(""), "at least one of user or group must be specified"),
                    ])
                }
            }
            var attributes: AuthorizationAttributes
            if let resource = spec["resourceAttributes"], resource.objectValue != nil {
                let resourceNamespace = FieldRead.string(resource["namespace"])
                if let namespace, resourceNamespace != namespace {
                    throw APIError.invalid(group: type.info.group, kind: type.info.kind, name: "", errors: [
                        .invalid("spec.resourceAttributes.namespace", .string(resourceNamespace), "must match metadata.namespace"),
                    ])
                }
                attributes = AuthorizationAttributes(
                    verb: FieldRead.string(resource["verb"]), apiGroup: FieldRead.string(resource["group"]),
                    resource: FieldRead.string(resource["resource"]), subresource: FieldRead.string(resource["subresource"]),
                    namespace: resourceNamespace, name: FieldRead.string(resource["name"]))
            } else if let nonResource = spec["nonResourceAttributes"], nonResource.objectValue != nil {
                attributes = AuthorizationAttributes(verb: FieldRead.string(nonResource["verb"]), path: FieldRead.string(nonResource["path"]))
            } else {
                throw APIError.invalid(group: type.info.group, kind: type.info.kind, name: "", errors: [
                    .required("spec.resourceAttributes", "exactly one of nonResourceAttributes or resourceAttributes must be specified"),
                ])
            }
            let decision = authorizer.authorize(subject, attributes)
            var status: JSONValue = ["allowed": .bool(decision.allowed)]
            if !decision.reason.isEmpty { status["reason"] = .string(decision.reason) }
            review["status"] = status
        }
        return .json(review, status: .created)
    }
}

extension Authorizer {
    /// What SelfSubjectRulesReview lists: everything RBAC grants the user there.
    func policyRules(for user: UserInfo, namespace: String) -> [PolicyRule] {
        policy().rules(for: user, namespace: namespace)
    }
}
