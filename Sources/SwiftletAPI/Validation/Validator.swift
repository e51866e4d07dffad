import SwiftletMachinery

/// Kubernetes 1.34's API validation for the kinds Swiftlet serves, returning findings with
/// upstream's field paths and wording so 422 responses read like a real cluster's.
///
/// Objects arrive defaulted (see ``Defaulter``). `old` is the stored object on updates, where the
/// update-only rules apply too (immutable selectors, cluster IPs, immutable data). Rules that
/// depend on server state (allocated ports, namespaces that exist, uid and creation time) are
/// the server's.
public enum Validator {
    public static func validate(group: String, kind: String, object: JSONValue, old: JSONValue? = nil) -> [FieldError] {
        switch (group, kind) {
        case ("", "Pod"):
            let errors = PodSpecValidation.pod(object, creating: old == nil)
            return errors + (old.map { PodUpdateValidation.validate(object, old: $0) } ?? [])
        case ("", "Service"):
            return (old.map { ServiceAddressValidation.update(object, old: $0) } ?? []) + ServiceValidation.validate(object)
        case ("", "Namespace"): return CoreValidation.namespace(object)
        case ("", "ConfigMap"): return CoreValidation.configMap(object, old: old)
        case ("", "Secret"): return CoreValidation.secret(object, old: old)
        case ("", "Node"): return CoreValidation.node(object)
        case ("", "Event"): return CoreValidation.event(object)
        case ("", "ReplicationController"): return CoreValidation.replicationController(object)
        case ("apps", "Deployment"): return AppsValidation.deployment(object) + immutableSelector(object, old)
        case ("apps", "ReplicaSet"): return AppsValidation.replicaSet(object) + immutableSelector(object, old)
        case ("apps", "DaemonSet"): return AppsValidation.daemonSet(object) + immutableSelector(object, old)
        case ("apps", "StatefulSet"):
            return AppsValidation.statefulSet(object) + (old.map { AppsValidation.statefulSetUpdate(object, old: $0) } ?? [])
        case ("batch", "Job"): return BatchValidation.job(object)
        case ("batch", "CronJob"): return BatchValidation.cronJob(object)
        default: return CoreValidation.metadataOnly(object, kind: kind)
        }
    }

    /// The node port allocator's refusal of a port outside its range, in upstream's words, for
    /// the server's allocator to report (the range is its configuration, not a validation rule).
    public static func nodePortOutOfRange(_ port: Int64, portIndex: Int, range: ClosedRange<Int>) -> FieldError {
        .invalid("spec.ports[\(portIndex)].nodePort", .int(port),
                 "provided port is not in the valid range. The range of valid ports is \(range.lowerBound)-\(range.upperBound)")
    }

    private static func immutableSelector(_ object: JSONValue, _ old: JSONValue?) -> [FieldError] {
        old.map { AppsValidation.immutableSelector(object, old: $0) } ?? []
    }
}
