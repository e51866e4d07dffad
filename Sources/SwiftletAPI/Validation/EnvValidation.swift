import SwiftletMachinery

/// ValidateEnv and ValidateEnvFrom.
enum EnvValidation {
    /// Downward API fields an environment variable may name.
    static let envFieldPaths = [
        "metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.serviceAccountName",
        "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs",
    ]
    /// Pod fields the v1 downward API converts at all (ConvertDownwardAPIFieldLabel).
    static let convertibleFieldPaths: Set<String> = [
        "metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace", "metadata.uid",
        "spec.nodeName", "spec.restartPolicy", "spec.serviceAccountName", "spec.schedulerName",
        "status.phase", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs",
    ]
    static let resourceFieldPaths = ["limits.cpu", "limits.ephemeral-storage", "limits.memory", "requests.cpu", "requests.ephemeral-storage", "requests.memory"]

    static func env(_ vars: [JSONValue], _ path: ValidationPath) -> [FieldError] {
        var errors: [FieldError] = []
        for (i, variable) in vars.enumerated() {
            let itemPath = path.index(i)
            let name = FieldRead.string(variable["name"])
            if name.isEmpty {
                errors.append(.required(itemPath.child("name").description))
            } else {
                errors += NameFormat.relaxedEnvVarName(name).map { .invalid(itemPath.child("name").description, .string(name), $0) }
            }
            if let valueFrom = variable["valueFrom"], valueFrom.objectValue != nil {
                errors += self.valueFrom(valueFrom, hasValue: !FieldRead.string(variable["value"]).isEmpty, itemPath.child("valueFrom"))
            }
        }
        return errors
    }

    static func valueFrom(_ source: JSONValue, hasValue: Bool, _ path: ValidationPath) -> [FieldError] {
        var errors: [FieldError] = []
        var count = 0
        if let fieldRef = source["fieldRef"], fieldRef.objectValue != nil {
            count += 1
            errors += self.fieldRef(fieldRef, path.child("fieldRef"))
        }
        if let resourceRef = source["resourceFieldRef"], resourceRef.objectValue != nil {
            count += 1
            let resource = FieldRead.string(resourceRef["resource"])
            if resource.isEmpty {
                errors.append(.required(path.child("resourceFieldRef", "resource").description))
            } else if !resourceFieldPaths.contains(resource), !resource.hasPrefix("requests.hugepages-"), !resource.hasPrefix("limits.hugepages-") {
                errors.append(.notSupported(path.child("resourceFieldRef", "resource").description, .string(resource), resourceFieldPaths))
            }
        }
        for key in ["configMapKeyRef", "secretKeyRef"] {
            guard let reference = source[key], reference.objectValue != nil else { continue }
            count += 1
            errors += keySelector(reference, path.child(key))
        }
        if count == 0 {
            errors.append(.invalid(path.description, "", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"))
        } else if hasValue {
            errors.append(.invalid(path.description, "", "may not be specified when `value` is not empty"))
        } else if count > 1 {
            errors.append(.invalid(path.description, "", "may not have more than one field specified at a time"))
        }
        return errors
    }

    static func fieldRef(_ selector: JSONValue, _ path: ValidationPath) -> [FieldError] {
        let apiVersion = FieldRead.string(selector["apiVersion"])
        if apiVersion.isEmpty { return [.required(path.child("apiVersion").description)] }
        let fieldPath = FieldRead.string(selector["fieldPath"])
        if fieldPath.isEmpty { return [.required(path.child("fieldPath").description)] }
        let (base, mapKey) = splitSubscript(fieldPath)
        var conversionError: String?
        if apiVersion != "v1" {
            conversionError = "unsupported pod version: \(apiVersion)"
        } else if mapKey != nil ? !(base == "metadata.annotations" || base == "metadata.labels") : !convertibleFieldPaths.contains(base) {
            conversionError = "field label not supported: \(fieldPath)"
        }
        if let conversionError {
            return [.invalid(path.child("fieldPath").description, .string(fieldPath), "error converting fieldPath: \(conversionError)")]
        }
        if let mapKey {
            return CommonRules.qualifiedName(base == "metadata.annotations" ? mapKey.lowercased() : mapKey, path)
        }
        return envFieldPaths.contains(base) ? [] : [.notSupported(path.child("fieldPath").description, .string(base), envFieldPaths)]
    }

    /// `metadata.labels['app']` splits into the path and the key.
    static func splitSubscript(_ fieldPath: String) -> (String, String?) {
        guard fieldPath.hasSuffix("']"), let open = fieldPath.range(of: "['") else { return (fieldPath, nil) }
        return (String(fieldPath[..<open.lowerBound]), String(fieldPath[open.upperBound..<fieldPath.index(fieldPath.endIndex, offsetBy: -2)]))
    }

    /// configMapKeyRef and secretKeyRef: the name is checked even when empty, as upstream does.
    static func keySelector(_ selector: JSONValue, _ path: ValidationPath) -> [FieldError] {
        let name = FieldRead.string(selector["name"])
        var errors = NameRule.subdomain.check(name).map { FieldError.invalid(path.child("name").description, .string(name), $0) }
        let key = FieldRead.string(selector["key"])
        if key.isEmpty {
            errors.append(.required(path.child("key").description))
        } else {
            errors += NameFormat.configMapKey(key).map { .invalid(path.child("key").description, .string(key), $0) }
        }
        return errors
    }

    static func envFrom(_ sources: [JSONValue], _ path: ValidationPath) -> [FieldError] {
        var errors: [FieldError] = []
        for (i, source) in sources.enumerated() {
            let itemPath = path.index(i)
            let prefix = FieldRead.string(source["prefix"])
            if !prefix.isEmpty {
                errors += NameFormat.relaxedEnvVarName(prefix).map { .invalid(itemPath.child("prefix").description, .string(prefix), $0) }
            }
            var count = 0
            for key in ["configMapRef", "secretRef"] {
                guard let reference = source[key], reference.objectValue != nil else { continue }
                count += 1
                let name = FieldRead.string(reference["name"])
                if name.isEmpty {
                    errors.append(.required(itemPath.child(key, "name").description))
                } else {
                    errors += NameRule.subdomain.check(name, prefix: true).map { .invalid(itemPath.child(key, "name").description, .string(name), $0) }
                }
            }
            if count == 0 {
                errors.append(.invalid(path.description, "", "must specify one of: `configMapRef` or `secretRef`"))
            } else if count > 1 {
                errors.append(.invalid(path.description, "", "may not have more than one field specified at a time"))
            }
        }
        return errors
    }
}
