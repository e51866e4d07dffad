/// The create-only review resources of `authorization.k8s.io` and `authentication.k8s.io`:
/// a client posts a question and reads the answer in the returned object's status; nothing
/// is stored. `kubectl auth can-i` and `kubectl auth whoami` use them.
extension Resources {
    public static let selfsubjectaccessreviews = review("authorization.k8s.io", "selfsubjectaccessreviews", "SelfSubjectAccessReview", namespaced: false)
    public static let selfsubjectrulesreviews = review("authorization.k8s.io", "selfsubjectrulesreviews", "SelfSubjectRulesReview", namespaced: false)
    public static let subjectaccessreviews = review("authorization.k8s.io", "subjectaccessreviews", "SubjectAccessReview", namespaced: false)
    public static let localsubjectaccessreviews = review("authorization.k8s.io", "localsubjectaccessreviews", "LocalSubjectAccessReview", namespaced: true)
    public static let selfsubjectreviews = review("authentication.k8s.io", "selfsubjectreviews", "SelfSubjectReview", namespaced: false)
    public static let tokenreviews = review("authentication.k8s.io", "tokenreviews", "TokenReview", namespaced: false)

    /// Every review resource, served beside the stored ones.
    public static let reviews = [selfsubjectaccessreviews, selfsubjectrulesreviews, subjectaccessreviews, localsubjectaccessreviews,
                                 selfsubjectreviews, tokenreviews]

    private static func review(_ group: String, _ resource: String, _ kind: String, namespaced: Bool) -> ResourceInfo {
        ResourceInfo(group: group, version: "v1", resource: resource, singular: kind.lowercased(), kind: kind,
                     namespaced: namespaced, verbs: ["create"])
    }
}
