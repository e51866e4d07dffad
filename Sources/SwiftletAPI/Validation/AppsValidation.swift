import SwiftletMachinery

/// pkg/apis/apps/validation for Deployments, ReplicaSets, DaemonSets and StatefulSets, plus the
/// apps/v1 update rule that a selector never changes.
enum AppsValidation {
    static let spec = ValidationPath("spec")

    static func deployment(_ object: JSONValue) -> [FieldError] {
        let spec = object["spec"] ?? .object(JSONObject())
        var errors = ObjectMetaValidation.validate(object, rule: .subdomain)
        errors += CommonRules.nonNegative(spec["replicas"], Self.spec.child("replicas"))
        errors += requiredSelector(spec, kindWord: "deployment")
        errors += strategy(spec["strategy"])
        errors += CommonRules.nonNegative(spec["minReadySeconds"], Self.spec.child("minReadySeconds"))
        errors += CommonRules.nonNegative(spec["revisionHistoryLimit"], Self.spec.child("revisionHistoryLimit"))
        if let deadline = spec["progressDeadlineSeconds"]?.intValue {
            errors += CommonRules.nonNegative(.int(deadline), Self.spec.child("progressDeadlineSeconds"))
            if deadline <= spec["minReadySeconds"]?.intValue ?? 0 {
                errors.append(.invalid(Self.spec.child("progressDeadlineSeconds").description, .int(deadline), "must be greater than minReadySeconds"))
            }
        }
        return errors
    }

    static func replicaSet(_ object: JSONValue) -> [FieldError] {
        let spec = object["spec"] ?? .object(JSONObject())
        var errors = ObjectMetaValidation.validate(object, rule: .subdomain)
        errors += CommonRules.nonNegative(spec["replicas"], Self.spec.child("replicas"))
        errors += CommonRules.nonNegative(spec["minReadySeconds"], Self.spec.child("minReadySeconds"))
        // ReplicaSets share the Deployment check, and its wording.
        return errors + requiredSelector(spec, kindWord: "deployment")
    }

    static func daemonSet(_ object: JSONValue) -> [FieldError] {
        let spec = object["spec"] ?? .object(JSONObject())
        let selector = spec["selector"]
        var errors = ObjectMetaValidation.validate(object, rule: .subdomain)
        errors += LabelSelector.validate(selector, path: Self.spec.child("selector").description)
        if let parsed = try? LabelSelector.fromJSON(selector), !parsed.matches(spec[path: "template", "metadata", "labels"]?.objectValue) {
            errors.append(mismatch(spec, Self.spec.child("template")))
        }
        if FieldRead.isSet(selector) && FieldRead.map(selector?["matchLabels"]).isEmpty && FieldRead.objects(selector?["matchExpressions"]).isEmpty {
            errors.append(.invalid(Self.spec.child("selector").description, GoValue.labelSelector(selector), "empty selector is invalid for daemonset"))
        }
        errors += PodSpecValidation.template(spec["template"], Self.spec.child("template"))
        errors += templateRestartAndDeadline(spec["template"], Self.spec.child("template"), owner: "DaemonSet")
        errors += CommonRules.nonNegative(spec["minReadySeconds"], Self.spec.child("minReadySeconds"))
        errors += daemonSetStrategy(spec["updateStrategy"])
        errors += CommonRules.nonNegative(spec["revisionHistoryLimit"], Self.spec.child("revisionHistoryLimit"))
        return errors
    }

    static func statefulSet(_ object: JSONValue) -> [FieldError] {
        let spec = object["spec"] ?? .object(JSONObject())
        var errors = ObjectMetaValidation.validate(object, rule: .label)
        switch FieldRead.string(spec["podManagementPolicy"]) {
        case "": errors.append(.required(Self.spec.child("podManagementPolicy").description))
        case "OrderedReady", "Parallel": break
        case let other: errors.append(.invalid(Self.spec.child("podManagementPolicy").description, .string(other), "must be 'OrderedReady' or 'Parallel'"))
        }
        let strategyPath = Self.spec.child("updateStrategy")
        let strategy = spec["updateStrategy"]
        switch FieldRead.string(strategy?["type"]) {
        case "": errors.append(.required(strategyPath.description))
        case "OnDelete":
            if FieldRead.isSet(strategy?["rollingUpdate"]) {
                errors.append(.invalid(strategyPath.child("rollingUpdate").description, statefulSetRollingUpdate(strategy?["rollingUpdate"]),
                                       "only allowed for updateStrategy 'RollingUpdate'"))
            }
        case "RollingUpdate":
            if let rollingUpdate = strategy?["rollingUpdate"], rollingUpdate.objectValue != nil {
                let path = strategyPath.child("rollingUpdate")
                errors += CommonRules.nonNegative(rollingUpdate["partition"], path.child("partition"))
                if let maxUnavailable = rollingUpdate["maxUnavailable"], !maxUnavailable.isNull {
                    errors += IntOrPercent.positive(maxUnavailable, path.child("maxUnavailable"))
                    if IntOrPercent.value(maxUnavailable) == 0 { errors.append(.invalid(path.child("maxUnavailable").description, maxUnavailable, "cannot be 0")) }
                    errors += IntOrPercent.notMoreThan100Percent(maxUnavailable, path.child("maxUnavailable"))
                }
            }
        default:
            let value = GoValue.goStruct([("Type", strategy?["type"] ?? ""), ("RollingUpdate", statefulSetRollingUpdate(strategy?["rollingUpdate"]))])
            errors.append(.invalid(strategyPath.description, value, "must be 'RollingUpdate' or 'OnDelete'"))
        }
        for field in ["whenDeleted", "whenScaled"] {
            guard let policy = spec["persistentVolumeClaimRetentionPolicy"], policy.objectValue != nil else { break }
            let value = FieldRead.string(policy[field])
            if value != "Retain" && value != "Delete" {
                errors.append(.notSupported(Self.spec.child("persistentVolumeClaimRetentionPolicy", field).description, .string(value), ["Retain", "Delete"]))
            }
        }
        errors += CommonRules.nonNegative(spec["replicas"], Self.spec.child("replicas"))
        errors += CommonRules.nonNegative(spec["minReadySeconds"], Self.spec.child("minReadySeconds"))
        let selector = spec["selector"]
        if !FieldRead.isSet(selector) {
            errors.append(.required(Self.spec.child("selector").description))
        } else {
            errors += LabelSelector.validate(selector, path: Self.spec.child("selector").description)
            if FieldRead.map(selector?["matchLabels"]).isEmpty && FieldRead.objects(selector?["matchExpressions"]).isEmpty {
                errors.append(.invalid(Self.spec.child("selector").description, GoValue.labelSelector(selector), "empty selector is invalid for statefulset"))
            }
        }
        let templatePath = Self.spec.child("template")
        if let parsed = try? LabelSelector.fromJSON(selector) {
            if !parsed.isEverything && !parsed.matches(spec[path: "template", "metadata", "labels"]?.objectValue) {
                errors.append(mismatch(spec, templatePath))
            }
            // StatefulSets check only the template's metadata, as upstream does.
            let metadata = spec[path: "template", "metadata"]
            errors += LabelSelector.validateLabels(metadata?["labels"]?.objectValue, path: templatePath.child("labels").description)
            errors += ObjectMetaValidation.annotations(metadata?["annotations"], templatePath.child("annotations"))
        } else {
            errors.append(.invalid(Self.spec.child("selector").description, GoValue.labelSelector(selector), ""))
        }
        return errors + templateRestartAndDeadline(spec["template"], templatePath, owner: "StatefulSet")
    }

    // MARK: - Shared parts

    /// Deployments and ReplicaSets: a non-empty selector that matches the template's labels.
    static func requiredSelector(_ spec: JSONValue, kindWord: String) -> [FieldError] {
        var errors: [FieldError] = []
        let selector = spec["selector"]
        let selectorPath = Self.spec.child("selector")
        if !FieldRead.isSet(selector) {
            errors.append(.required(selectorPath.description))
        } else {
            errors += LabelSelector.validate(selector, path: selectorPath.description)
            if FieldRead.map(selector?["matchLabels"]).isEmpty && FieldRead.objects(selector?["matchExpressions"]).isEmpty {
                errors.append(.invalid(selectorPath.description, GoValue.labelSelector(selector), "empty selector is invalid for \(kindWord)"))
            }
        }
        let templatePath = Self.spec.child("template")
        guard let parsed = try? LabelSelector.fromJSON(selector) else {
            return errors + [.invalid(selectorPath.description, GoValue.labelSelector(selector), "invalid label selector")]
        }
        if !parsed.isEverything && !parsed.matches(spec[path: "template", "metadata", "labels"]?.objectValue) {
            errors.append(mismatch(spec, templatePath))
        }
        errors += PodSpecValidation.template(spec["template"], templatePath)
        return errors + templateRestartAndDeadline(spec["template"], templatePath, owner: "ReplicaSet")
    }

    /// "`selector` does not match template `labels`", with the labels as Go prints the map.
    static func mismatch(_ spec: JSONValue, _ templatePath: ValidationPath) -> FieldError {
        .invalid(templatePath.child("metadata", "labels").description, GoValue.stringMap(spec[path: "template", "metadata", "labels"]),
                 "`selector` does not match template `labels`")
    }

    /// Controllers keep pods running, so their pods restart Always and have no deadline.
    static func templateRestartAndDeadline(_ template: JSONValue?, _ path: ValidationPath, owner: String) -> [FieldError] {
        var errors: [FieldError] = []
        let restartPolicy = FieldRead.string(template?[path: "spec", "restartPolicy"])
        if restartPolicy != "Always" {
            errors.append(.notSupported(path.child("spec", "restartPolicy").description, .string(restartPolicy), ["Always"]))
        }
        if FieldRead.isSet(template?[path: "spec", "activeDeadlineSeconds"]) {
            errors.append(.forbidden(path.child("spec", "activeDeadlineSeconds").description, "activeDeadlineSeconds in \(owner) is not Supported"))
        }
        return errors
    }
}
