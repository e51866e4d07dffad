import SwiftletMachinery

/// Rollout strategies of workloads, and the apps/v1 update rules.
extension AppsValidation {
    /// The internal RollingUpdateStatefulSetStrategy as Go prints it.
    static func statefulSetRollingUpdate(_ value: JSONValue?) -> JSONValue {
        guard let value, value.objectValue != nil else { return .null }
        return GoValue.goStruct([("Partition", value["partition"] ?? 0), ("MaxUnavailable", value["maxUnavailable"] ?? .null)])
    }

    static func strategy(_ strategy: JSONValue?) -> [FieldError] {
        let path = Self.spec.child("strategy")
        let rollingUpdate = strategy?["rollingUpdate"]
        switch FieldRead.string(strategy?["type"]) {
        case "Recreate":
            return FieldRead.isSet(rollingUpdate) ? [.forbidden(path.child("rollingUpdate").description, "may not be specified when strategy `type` is 'Recreate'")] : []
        case "RollingUpdate":
            guard let rollingUpdate, rollingUpdate.objectValue != nil else {
                return [.required(path.child("rollingUpdate").description, "this should be defaulted and never be nil")]
            }
            let maxUnavailable = rollingUpdate["maxUnavailable"] ?? 0, maxSurge = rollingUpdate["maxSurge"] ?? 0
            let rollingPath = path.child("rollingUpdate")
            var errors = IntOrPercent.positive(maxUnavailable, rollingPath.child("maxUnavailable"))
            errors += IntOrPercent.positive(maxSurge, rollingPath.child("maxSurge"))
            if IntOrPercent.value(maxUnavailable) == 0 && IntOrPercent.value(maxSurge) == 0 {
                errors.append(.invalid(rollingPath.child("maxUnavailable").description, maxUnavailable, "may not be 0 when `maxSurge` is 0"))
            }
            return errors + IntOrPercent.notMoreThan100Percent(maxUnavailable, rollingPath.child("maxUnavailable"))
        default:
            let value = GoValue.goStruct([("Type", strategy?["type"] ?? ""), ("RollingUpdate", IntOrPercent.goRollingUpdate(rollingUpdate))])
            return [.notSupported(path.description, value, ["Recreate", "RollingUpdate"])]
        }
    }

    static func daemonSetStrategy(_ strategy: JSONValue?) -> [FieldError] {
        let path = Self.spec.child("updateStrategy")
        let rollingUpdate = strategy?["rollingUpdate"]
        switch FieldRead.string(strategy?["type"]) {
        case "OnDelete":
            return []
        case "RollingUpdate":
            guard let rollingUpdate, rollingUpdate.objectValue != nil else { return [.required(path.child("rollingUpdate").description)] }
            let maxUnavailable = rollingUpdate["maxUnavailable"] ?? 0, maxSurge = rollingUpdate["maxSurge"] ?? 0
            let rollingPath = path.child("rollingUpdate")
            var errors = IntOrPercent.positive(maxUnavailable, rollingPath.child("maxUnavailable"))
            errors += IntOrPercent.positive(maxSurge, rollingPath.child("maxSurge"))
            errors += IntOrPercent.notMoreThan100Percent(maxUnavailable, rollingPath.child("maxUnavailable"))
            errors += IntOrPercent.notMoreThan100Percent(maxSurge, rollingPath.child("maxSurge"))
            let hasUnavailable = IntOrPercent.value(maxUnavailable) != 0, hasSurge = IntOrPercent.value(maxSurge) != 0
            if hasUnavailable && hasSurge {
                errors.append(.invalid(rollingPath.child("maxSurge").description, maxSurge, "may not be set when maxUnavailable is non-zero"))
            } else if !hasUnavailable && !hasSurge {
                errors.append(.required(rollingPath.child("maxUnavailable").description, "cannot be 0 when maxSurge is 0"))
            }
            return errors
        default:
            let value = GoValue.goStruct([("Type", strategy?["type"] ?? ""), ("RollingUpdate", IntOrPercent.goRollingUpdate(rollingUpdate))])
            return [.notSupported(path.description, value, ["RollingUpdate", "OnDelete"])]
        }
    }

    // MARK: - Updates

    /// apps/v1 forbids changing a selector once set (upstream's registry strategies check it).
    static func immutableSelector(_ object: JSONValue, old: JSONValue) -> [FieldError] {
        let new = object[path: "spec", "selector"], previous = old[path: "spec", "selector"]
        if GoValue.sameSelector(new, previous) { return [] }
        return [.invalid(Self.spec.child("selector").description, GoValue.labelSelector(new), CommonRules.immutableMessage)]
    }

    static let statefulSetMutableFields = ["replicas", "ordinals", "template", "updateStrategy", "persistentVolumeClaimRetentionPolicy", "minReadySeconds"]

    static func statefulSetUpdate(_ object: JSONValue, old: JSONValue) -> [FieldError] {
        var new = FieldRead.map(object["spec"]), previous = FieldRead.map(old["spec"])
        for field in statefulSetMutableFields {
            new[field] = nil
            previous[field] = nil
        }
        if new == previous { return [] }
        return [.forbidden("spec", "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden")]
    }
}
