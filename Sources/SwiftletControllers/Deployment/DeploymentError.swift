/// A rollout step that would break a Deployment's guarantees: the sync fails (and is retried
/// with back-off) instead of writing it, as upstream's controller refuses it.
enum DeploymentError: Error, CustomStringConvertible {
    case invalidScaleDown(ReplicaSetView, to: Int, while: String)

    var description: String {
        switch self {
        case .invalidScaleDown(let rs, let target, let step):
            let namespace = rs.object[path: "metadata", "namespace"]?.stringValue ?? ""
            return "when \(step), got invalid request to scale down \(namespace)/\(rs.name) \(rs.specReplicas) -> \(target)"
        }
    }
}
