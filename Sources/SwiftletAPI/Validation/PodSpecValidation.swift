import SwiftletMachinery

/// ValidatePodSpec, ValidatePodTemplateSpec and the Pod-only checks.
enum PodSpecValidation {
    static let restartPolicies = ["Always", "OnFailure", "Never"]
    static let dnsPolicies = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"]

    static func pod(_ pod: JSONValue, creating: Bool) -> [FieldError] {
        let specPath = ValidationPath("spec")
        let spec = pod["spec"] ?? .object(JSONObject())
        var errors = ObjectMetaValidation.validate(pod, rule: .subdomain)
        errors += self.spec(spec, specPath, isPod: true)
        for key in ["containers", "initContainers"] {
            for (i, container) in FieldRead.objects(spec[key]).enumerated() {
                let image = FieldRead.string(container["image"])
                if image.first?.isWhitespace == true || image.last?.isWhitespace == true {
                    errors.append(.invalid(specPath.child(key).index(i).child("image").description, .string(image), "must not have leading or trailing whitespace"))
                }
            }
        }
        if creating && !FieldRead.objects(spec["ephemeralContainers"]).isEmpty {
            errors.append(.forbidden(specPath.child("ephemeralContainers").description, "cannot be set on create"))
        }
        return errors
    }

    /// ValidatePodTemplateSpec. Upstream reports template labels at `template.labels`.
    static func template(_ template: JSONValue?, _ path: ValidationPath) -> [FieldError] {
        let metadata = template?["metadata"]
        var errors = LabelSelector.validateLabels(metadata?["labels"]?.objectValue, path: path.child("labels").description)
        errors += ObjectMetaValidation.annotations(metadata?["annotations"], path.child("annotations"))
        errors += spec(template?["spec"] ?? .object(JSONObject()), path.child("spec"), isPod: false)
        if !FieldRead.objects(template?[path: "spec", "ephemeralContainers"]).isEmpty {
            errors.append(.forbidden(path.child("spec", "ephemeralContainers").description, "ephemeral containers not allowed in pod template"))
        }
        return errors
    }

    static func spec(_ spec: JSONValue, _ path: ValidationPath, isPod: Bool) -> [FieldError] {
        var errors: [FieldError] = []
        let gracePeriod = spec["terminationGracePeriodSeconds"]?.intValue
        if !FieldRead.isSet(spec["terminationGracePeriodSeconds"]) { errors.append(.required(path.child("terminationGracePeriodSeconds").description)) }
        let (volumes, volumeErrors) = VolumeValidation.validate(FieldRead.objects(spec["volumes"]), path.child("volumes"))
        errors += volumeErrors
        let containers = FieldRead.objects(spec["containers"])
        errors += ContainerValidation.containers(containers, volumes: volumes, gracePeriod: gracePeriod, path.child("containers"))
        errors += ContainerValidation.initContainers(FieldRead.objects(spec["initContainers"]), regular: containers, volumes: volumes,
                                                     gracePeriod: gracePeriod, path.child("initContainers"))
        errors += hostNetworkPorts(spec, containers, path, isPod: isPod)
        errors += CommonRules.oneOf(spec["restartPolicy"], restartPolicies, path.child("restartPolicy"))
        errors += CommonRules.oneOf(spec["dnsPolicy"], dnsPolicies, path.child("dnsPolicy"))
        errors += LabelSelector.validateLabels(spec["nodeSelector"]?.objectValue, path: path.child("nodeSelector").description)
        if spec["dnsPolicy"] == "None" && !FieldRead.isSet(spec["dnsConfig"]) {
            errors.append(.required(path.child("dnsConfig").description, "must provide `dnsConfig` when `dnsPolicy` is None"))
        }
        for field in ["serviceAccountName", "nodeName", "priorityClassName"] {
            let value = FieldRead.string(spec[field])
            if !value.isEmpty { errors += CommonRules.dns1123Subdomain(value, path.child(field)) }
        }
        if let deadline = spec["activeDeadlineSeconds"]?.intValue, deadline < 1 || deadline > Int64(Int32.max) {
            errors.append(.invalid(path.child("activeDeadlineSeconds").description, .int(deadline), NameFormat.inclusiveRangeError(1, Int64(Int32.max))))
        }
        for field in ["hostname", "subdomain"] {
            let value = FieldRead.string(spec[field])
            if !value.isEmpty { errors += CommonRules.dns1123Label(value, path.child(field)) }
        }
        errors += tolerations(FieldRead.objects(spec["tolerations"]), path.child("tolerations"))
        if isPod && !FieldRead.string(spec["nodeName"]).isEmpty && !FieldRead.objects(spec["schedulingGates"]).isEmpty {
            errors.append(.forbidden(path.child("nodeName").description, "cannot be set until all schedulingGates have been cleared"))
        }
        return errors
    }

    /// With host networking a pod's host ports are its container ports; a template may leave
    /// them 0, to be defaulted when its pods are created.
    static func hostNetworkPorts(_ spec: JSONValue, _ containers: [JSONValue], _ path: ValidationPath, isPod: Bool) -> [FieldError] {
        guard spec["hostNetwork"] == .bool(true) else { return [] }
        var errors: [FieldError] = []
        for (i, container) in containers.enumerated() {
            for (j, port) in FieldRead.objects(container["ports"]).enumerated() {
                let hostPort = port["hostPort"]?.intValue ?? 0, containerPort = port["containerPort"]?.intValue ?? 0
                if (isPod || hostPort != 0) && hostPort != containerPort {
                    errors.append(.invalid(path.child("containers").index(i).child("ports").index(j).child("hostPort").description,
                                           .int(hostPort), "must match `containerPort` when `hostNetwork` is true"))
                }
            }
        }
        return errors
    }

    static func tolerations(_ tolerations: [JSONValue], _ path: ValidationPath) -> [FieldError] {
        var errors: [FieldError] = []
        for (i, toleration) in tolerations.enumerated() {
            let itemPath = path.index(i)
            let key = FieldRead.string(toleration["key"]), op = FieldRead.string(toleration["operator"])
            let value = FieldRead.string(toleration["value"]), effect = FieldRead.string(toleration["effect"])
            if !key.isEmpty { errors += CommonRules.qualifiedName(key, itemPath.child("key")) }
            if key.isEmpty && op != "Exists" {
                errors.append(.invalid(itemPath.child("operator").description, .string(op), "operator must be Exists when `key` is empty, which means \"match all values and all keys\""))
            }
            if FieldRead.isSet(toleration["tolerationSeconds"]) && effect != "NoExecute" {
                errors.append(.invalid(itemPath.child("effect").description, .string(effect), "effect must be 'NoExecute' when `tolerationSeconds` is set"))
            }
            switch op {
            case "Equal", "":
                let messages = NameFormat.labelValue(value)
                if !messages.isEmpty { errors.append(.invalid(itemPath.child("operator").description, .string(value), messages.joined(separator: ";"))) }
            case "Exists":
                if !value.isEmpty { errors.append(.invalid(itemPath.child("operator").description, .string(value), "value must be empty when `operator` is 'Exists'")) }
            default:
                errors.append(.notSupported(itemPath.child("operator").description, .string(op), ["Equal", "Exists"]))
            }
            if !effect.isEmpty && !["NoSchedule", "PreferNoSchedule", "NoExecute"].contains(effect) {
                errors.append(.notSupported(itemPath.child("effect").description, .string(effect), ["NoSchedule", "PreferNoSchedule", "NoExecute"]))
            }
        }
        return errors
    }
}
