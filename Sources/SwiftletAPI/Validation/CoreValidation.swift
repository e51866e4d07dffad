import SwiftletMachinery

/// Namespaces, ConfigMaps, Secrets, Nodes, Events and ReplicationControllers.
enum CoreValidation {
    static let maxDataSize = 1024 * 1024

    static func namespace(_ object: JSONValue) -> [FieldError] {
        var errors = ObjectMetaValidation.validate(object, rule: .label)
        let path = ValidationPath("spec.finalizers")
        for name in FieldRead.strings(object[path: "spec", "finalizers"]) {
            errors += ObjectMetaValidation.kubeFinalizerName(name, path)
        }
        return errors
    }

    static func configMap(_ object: JSONValue, old: JSONValue?) -> [FieldError] {
        var errors = immutableData(object, old: old, fields: ["data", "binaryData"])
        errors += ObjectMetaValidation.validate(object, rule: .subdomain)
        let binaryData = FieldRead.map(object["binaryData"])
        var size = 0
        for (key, value) in FieldRead.map(object["data"]) {
            let path = ValidationPath("data").key(key)
            errors += NameFormat.configMapKey(key).map { .invalid(path.description, .string(key), $0) }
            if binaryData[key] != nil { errors.append(.invalid(path.description, .string(key), "duplicate of key present in binaryData")) }
            size += FieldRead.string(value).utf8.count
        }
        for (key, value) in binaryData {
            errors += NameFormat.configMapKey(key).map { .invalid(ValidationPath("binaryData").key(key).description, .string(key), $0) }
            size += decodedLength(FieldRead.string(value))
        }
        if size > maxDataSize { errors.append(FieldError(.tooLong, field: "", detail: "may not be more than \(maxDataSize) bytes")) }
        return errors
    }

    static func secret(_ object: JSONValue, old: JSONValue?) -> [FieldError] {
        var errors = ObjectMetaValidation.validate(object, rule: .subdomain)
        if let old {
            let type = FieldRead.string(object["type"])
            if type != FieldRead.string(old["type"]) { errors.append(.invalid("type", .string(type), CommonRules.immutableMessage)) }
            errors += immutableData(object, old: old, fields: ["data"])
        }
        let dataPath = ValidationPath("data")
        let data = FieldRead.map(object["data"])
        var size = 0
        for (key, value) in data {
            errors += NameFormat.configMapKey(key).map { .invalid(dataPath.key(key).description, .string(key), $0) }
            size += decodedLength(FieldRead.string(value))
        }
        if size > maxDataSize { errors.append(FieldError(.tooLong, field: "data", detail: "may not be more than \(maxDataSize) bytes")) }
        func require(_ key: String) { if data[key] == nil { errors.append(.required(dataPath.key(key).description)) } }
        switch FieldRead.string(object["type"]) {
        case "kubernetes.io/service-account-token":
            if FieldRead.string(object[path: "metadata", "annotations", "kubernetes.io/service-account.name"]).isEmpty {
                errors.append(.required(ValidationPath("metadata").child("annotations").key("kubernetes.io/service-account.name").description))
            }
        case "kubernetes.io/dockercfg": require(".dockercfg")
        case "kubernetes.io/dockerconfigjson": require(".dockerconfigjson")
        case "kubernetes.io/basic-auth":
            if data["username"] == nil && data["password"] == nil {
                require("username")
                require("password")
            }
        case "kubernetes.io/ssh-auth":
            if FieldRead.string(data["ssh-privatekey"]).isEmpty { errors.append(.required(dataPath.key("ssh-privatekey").description)) }
        case "kubernetes.io/tls":
            require("tls.crt")
            require("tls.key")
        default:
            break
        }
        return errors
    }

    /// Once `immutable: true` is stored, the flag and the data stay as they are.
    static func immutableData(_ object: JSONValue, old: JSONValue?, fields: [String]) -> [FieldError] {
        guard let old, old["immutable"] == .bool(true) else { return [] }
        let message = "field is immutable when `immutable` is set"
        var errors: [FieldError] = []
        if object["immutable"] != .bool(true) { errors.append(.forbidden("immutable", message)) }
        for field in fields where FieldRead.map(object[field]) != FieldRead.map(old[field]) {
            errors.append(.forbidden(field, message))
        }
        return errors
    }

    /// Data values are base64 in JSON; sizes count the decoded bytes.
    static func decodedLength(_ base64: String) -> Int {
        let count = base64.utf8.count
        let padding = base64.utf8.reversed().prefix(2).prefix { $0 == UInt8(ascii: "=") }.count
        return count / 4 * 3 - padding
    }

    static func node(_ object: JSONValue) -> [FieldError] {
        var errors = ObjectMetaValidation.validate(object, rule: .subdomain)
        for (i, taint) in FieldRead.objects(object[path: "spec", "taints"]).enumerated() {
            let path = ValidationPath("spec.taints").index(i)
            let key = FieldRead.string(taint["key"]), value = FieldRead.string(taint["value"])
            errors += CommonRules.qualifiedName(key, path.child("key"))
            let messages = NameFormat.labelValue(value)
            if !messages.isEmpty { errors.append(.invalid(path.child("value").description, .string(value), messages.joined(separator: ";"))) }
            let effect = FieldRead.string(taint["effect"])
            if effect.isEmpty {
                errors.append(.required(path.child("effect").description))
            } else if !["NoSchedule", "PreferNoSchedule", "NoExecute"].contains(effect) {
                errors.append(.notSupported(path.child("effect").description, .string(effect), ["NoSchedule", "PreferNoSchedule", "NoExecute"]))
            }
        }
        return errors
    }

    /// Legacy (core/v1) events: only the namespace agreement with the involved object.
    static func event(_ object: JSONValue) -> [FieldError] {
        var errors: [FieldError] = []
        let namespace = FieldRead.string(object[path: "metadata", "namespace"])
        let involved = FieldRead.string(object[path: "involvedObject", "namespace"])
        if !FieldRead.isSet(object["eventTime"]) {
            let agrees = involved.isEmpty ? (namespace.isEmpty || namespace == "default") : namespace == involved
            if !agrees { errors.append(.invalid("involvedObject.namespace", .string(involved), "does not match event.namespace")) }
        }
        errors += NameFormat.dns1123Subdomain(namespace).map { .invalid("namespace", .string(namespace), $0) }
        return errors
    }

    static func replicationController(_ object: JSONValue) -> [FieldError] {
        let spec = object["spec"] ?? .object(JSONObject())
        let specPath = ValidationPath("spec")
        var errors = ObjectMetaValidation.validate(object, rule: .subdomain)
        errors += CommonRules.nonNegative(spec["minReadySeconds"], specPath.child("minReadySeconds"))
        let selector = FieldRead.map(spec["selector"])
        if selector.isEmpty { errors.append(.required(specPath.child("selector").description)) }
        errors += CommonRules.nonNegative(spec["replicas"], specPath.child("replicas"))
        let templatePath = specPath.child("template")
        guard let template = spec["template"], template.objectValue != nil else { return errors + [.required(templatePath.description)] }
        let labels = selector.reduce(into: [String: String]()) { $0[$1.key] = FieldRead.string($1.value) }
        if !labels.isEmpty && !LabelSelector(matching: labels).matches(template[path: "metadata", "labels"]?.objectValue) {
            errors.append(AppsValidation.mismatch(spec, templatePath))
        }
        errors += PodSpecValidation.template(template, templatePath)
        return errors + AppsValidation.templateRestartAndDeadline(template, templatePath, owner: "ReplicationController")
    }
}
