import SwiftletMachinery

/// Container validation: validateContainers, validateInitContainers and validateContainerCommon.
enum ContainerValidation {
    static let protocols = ["SCTP", "TCP", "UDP"]
    static let pullPolicies = ["Always", "IfNotPresent", "Never"]
    static let terminationMessagePolicies = ["File", "FallbackToLogsOnError"]
    static let probeKinds = ["livenessProbe", "readinessProbe", "startupProbe"]

    /// Regular containers: at least one, unique names, probes and lifecycle checked.
    static func containers(_ containers: [JSONValue], volumes: Set<String>, gracePeriod: Int64?, _ path: ValidationPath) -> [FieldError] {
        if containers.isEmpty { return [.required(path.description)] }
        var errors: [FieldError] = []
        var names: Set<String> = []
        for (i, container) in containers.enumerated() {
            let itemPath = path.index(i)
            errors += common(container, volumes: volumes, itemPath)
            let name = FieldRead.string(container["name"])
            if !names.insert(name).inserted { errors.append(.duplicate(itemPath.child("name").description, .string(name))) }
            if let lifecycle = container["lifecycle"], lifecycle.objectValue != nil {
                errors += ProbeValidation.lifecycle(lifecycle, gracePeriod: gracePeriod, itemPath.child("lifecycle"))
            }
            errors += ProbeValidation.probes(container, itemPath)
            if FieldRead.isSet(container["restartPolicy"]) {
                errors.append(.forbidden(itemPath.child("restartPolicy").description, "may not be set for non-init containers"))
            }
        }
        return errors + hostPortConflicts(containers, path)
    }

    /// Init containers: names unique among all containers; probes and lifecycle only for
    /// sidecars (`restartPolicy: Always`).
    static func initContainers(_ containers: [JSONValue], regular: [JSONValue], volumes: Set<String>, gracePeriod: Int64?, _ path: ValidationPath) -> [FieldError] {
        var errors: [FieldError] = []
        var names = Set(regular.map { FieldRead.string($0["name"]) })
        for (i, container) in containers.enumerated() {
            let itemPath = path.index(i)
            errors += common(container, volumes: volumes, itemPath)
            var sidecar = false
            if let policy = container["restartPolicy"], !policy.isNull {
                let text = FieldRead.string(policy)
                if text == "Always" { sidecar = true } else {
                    errors.append(.notSupported(itemPath.child("restartPolicy").description, .string(text), ["Always"]))
                }
            }
            let name = FieldRead.string(container["name"])
            if names.contains(name) {
                errors.append(.duplicate(itemPath.child("name").description, .string(name)))
            } else if !name.isEmpty {
                names.insert(name)
            }
            errors += hostPortConflicts([container], path)
            if sidecar {
                if let lifecycle = container["lifecycle"], lifecycle.objectValue != nil {
                    errors += ProbeValidation.lifecycle(lifecycle, gracePeriod: gracePeriod, itemPath.child("lifecycle"))
                }
                errors += ProbeValidation.probes(container, itemPath)
            } else {
                for key in ["lifecycle"] + probeKinds where FieldRead.isSet(container[key]) {
                    errors.append(.forbidden(itemPath.child(key).description, "may not be set for init containers without restartPolicy=Always"))
                }
            }
        }
        return errors
    }

    static func common(_ container: JSONValue, volumes: Set<String>, _ path: ValidationPath) -> [FieldError] {
        var errors: [FieldError] = []
        let name = FieldRead.string(container["name"])
        if name.isEmpty {
            errors.append(.required(path.child("name").description))
        } else {
            errors += CommonRules.dns1123Label(name, path.child("name"))
        }
        if FieldRead.string(container["image"]).isEmpty { errors.append(.required(path.child("image").description)) }
        errors += CommonRules.oneOf(container["terminationMessagePolicy"], terminationMessagePolicies, path.child("terminationMessagePolicy"))
        errors += ports(FieldRead.objects(container["ports"]), path.child("ports"))
        errors += EnvValidation.env(FieldRead.objects(container["env"]), path.child("env"))
        errors += EnvValidation.envFrom(FieldRead.objects(container["envFrom"]), path.child("envFrom"))
        errors += volumeMounts(FieldRead.objects(container["volumeMounts"]), volumes: volumes, path.child("volumeMounts"))
        errors += CommonRules.oneOf(container["imagePullPolicy"], pullPolicies, path.child("imagePullPolicy"))
        errors += ResourceValidation.requirements(container["resources"], path.child("resources"))
        return errors
    }

    static func ports(_ ports: [JSONValue], _ path: ValidationPath) -> [FieldError] {
        var errors: [FieldError] = []
        var names: Set<String> = []
        for (i, port) in ports.enumerated() {
            let itemPath = path.index(i)
            let name = FieldRead.string(port["name"])
            if !name.isEmpty {
                let messages = NameFormat.portName(name)
                if !messages.isEmpty {
                    errors += messages.map { .invalid(itemPath.child("name").description, .string(name), $0) }
                } else if !names.insert(name).inserted {
                    errors.append(.duplicate(itemPath.child("name").description, .string(name)))
                }
            }
            let containerPort = port["containerPort"]?.intValue ?? 0
            if containerPort == 0 {
                errors.append(.required(itemPath.child("containerPort").description))
            } else {
                errors += CommonRules.portNumber(containerPort, itemPath.child("containerPort"))
            }
            if let hostPort = port["hostPort"]?.intValue, hostPort != 0 {
                errors += CommonRules.portNumber(hostPort, itemPath.child("hostPort"))
            }
            errors += CommonRules.oneOf(port["protocol"], protocols, itemPath.child("protocol"))
        }
        return errors
    }

    static func volumeMounts(_ mounts: [JSONValue], volumes: Set<String>, _ path: ValidationPath) -> [FieldError] {
        var errors: [FieldError] = []
        var mountPaths: Set<String> = []
        for (i, mount) in mounts.enumerated() {
            let itemPath = path.index(i)
            let name = FieldRead.string(mount["name"])
            if name.isEmpty { errors.append(.required(itemPath.child("name").description)) }
            if !volumes.contains(name) { errors.append(FieldError(.notFound, field: itemPath.child("name").description, value: .string(name))) }
            let mountPath = FieldRead.string(mount["mountPath"])
            if mountPath.isEmpty { errors.append(.required(itemPath.child("mountPath").description)) }
            if !mountPaths.insert(mountPath).inserted {
                errors.append(.invalid(itemPath.child("mountPath").description, .string(mountPath), "must be unique"))
            }
            // Upstream reports sub-path problems at the list's path, not the item's.
            let subPath = FieldRead.string(mount["subPath"])
            if !subPath.isEmpty { errors += VolumeValidation.localDescendingPath(subPath, path.child("subPath")) }
            let subPathExpr = FieldRead.string(mount["subPathExpr"])
            if !subPathExpr.isEmpty {
                if !subPath.isEmpty {
                    errors.append(.invalid(itemPath.child("subPathExpr").description, .string(subPathExpr), "subPathExpr and subPath are mutually exclusive"))
                }
                errors += VolumeValidation.localDescendingPath(subPathExpr, path.child("subPathExpr"))
            }
            if let propagation = mount["mountPropagation"]?.stringValue, !["Bidirectional", "HostToContainer", "None"].contains(propagation) {
                errors.append(.notSupported(path.child("mountPropagation").description, .string(propagation), ["Bidirectional", "HostToContainer", "None"]))
            }
        }
        return errors
    }

    /// Two containers may not claim the same host port for the same protocol and host IP.
    static func hostPortConflicts(_ containers: [JSONValue], _ path: ValidationPath) -> [FieldError] {
        var seen: Set<String> = []
        var errors: [FieldError] = []
        for (ci, container) in containers.enumerated() {
            for (pi, port) in FieldRead.objects(container["ports"]).enumerated() {
                guard let hostPort = port["hostPort"]?.intValue, hostPort != 0 else { continue }
                let key = "\(FieldRead.string(port["protocol"]))/\(FieldRead.string(port["hostIP"]))/\(hostPort)"
                if !seen.insert(key).inserted {
                    errors.append(.duplicate(path.index(ci).child("ports").index(pi).child("hostPort").description, .string(key)))
                }
            }
        }
        return errors
    }
}
