import Foundation
import SwiftletMachinery

/// A container's environment and command line as the kubelet builds them: the Services'
/// variables, then envFrom, then env (later entries win), with `$(VAR)` references expanded.
struct ContainerEnvironment {
    /// Why a container's configuration could not be made: the waiting reason (the kubelet's
    /// CreateContainerConfigError for what it checks itself, CreateContainerError for what the
    /// runtime refuses) and message.
    struct ConfigError: Error, CustomStringConvertible {
        let description: String
        var reason = "CreateContainerConfigError"
    }

    let pod: JSONValue
    let hostIP: String
    let podIP: String?
    let allocatable: JSONValue
    let lookup: VolumeManager.Lookup
    /// `ServiceEnvironment`'s variables for the pod.
    var serviceVariables: [(name: String, value: String)] = []

    func variables(for container: JSONValue) throws(ConfigError) -> [(name: String, value: String)] {
        let namespace = pod[path: "metadata", "namespace"]?.stringValue ?? "default"
        var result = serviceVariables
        func set(_ name: String, _ value: String) {
            if let i = result.firstIndex(where: { $0.name == name }) { result[i].value = value } else { result.append((name, value)) }
        }
        for source in container["envFrom"]?.arrayValue ?? [] {
            let prefix = source["prefix"]?.stringValue ?? ""
            let (kind, reference) = source["configMapRef"].map { ("configmap", $0) } ?? ("secret", source["secretRef"] ?? [:])
            let name = reference["name"]?.stringValue ?? ""
            guard let object = lookup(kind, namespace, name) else {
                if reference["optional"]?.boolValue == true { continue }
                throw ConfigError(description: "\(kind) \"\(name)\" not found")
            }
            for (key, value) in object["data"]?.objectValue ?? JSONObject() {
                guard let text = value.stringValue else { continue }
                set(prefix + key, kind == "secret" ? Self.decode(text) : text)
            }
        }
        for variable in container["env"]?.arrayValue ?? [] {
            guard let name = variable["name"]?.stringValue else { continue }
            if let value = variable["value"]?.stringValue {
                set(name, Self.expand(value, with: result))
            } else if let from = variable["valueFrom"] {
                if let value = try valueFrom(from, container: container, namespace: namespace) { set(name, value) }
            } else {
                set(name, "")
            }
        }
        return result
    }

    private func valueFrom(_ from: JSONValue, container: JSONValue, namespace: String) throws(ConfigError) -> String? {
        if let fieldPath = from[path: "fieldRef", "fieldPath"]?.stringValue {
            return FieldPaths.value(of: fieldPath, in: pod, hostIP: hostIP, podIP: podIP)
        }
        if let reference = from["resourceFieldRef"], let resource = reference["resource"]?.stringValue {
            return FieldPaths.resource(resource, divisor: reference["divisor"], container: container, allocatable: allocatable)
        }
        for (field, kind, title) in [("configMapKeyRef", "configmap", "ConfigMap"), ("secretKeyRef", "secret", "Secret")] {
            guard let reference = from[field] else { continue }
            let name = reference["name"]?.stringValue ?? ""
            let key = reference["key"]?.stringValue ?? ""
            let optional = reference["optional"]?.boolValue ?? false
            guard let object = lookup(kind, namespace, name) else {
                if optional { return nil }
                throw ConfigError(description: "\(kind) \"\(name)\" not found")
            }
            if let text = object["data"]?[key]?.stringValue { return kind == "secret" ? Self.decode(text) : text }
            if optional { return nil }
            throw ConfigError(description: "couldn't find key \(key) in \(title) \(namespace)/\(name)")
        }
        return nil
    }

    private static func decode(_ base64: String) -> String {
        Data(base64Encoded: base64).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    /// Expands `$(NAME)` from `variables`; `$$` escapes a `$`; unknown references stay as written.
    static func expand(_ text: String, with variables: [(name: String, value: String)]) -> String {
        guard text.contains("$") else { return text }
        var out = ""
        var rest = Substring(text)
        while let dollar = rest.firstIndex(of: "$") {
            out += rest[..<dollar]
            let after = rest.index(after: dollar)
            if after < rest.endIndex, rest[after] == "$" {
                out += "$"
                rest = rest[rest.index(after: after)...]
            } else if after < rest.endIndex, rest[after] == "(", let close = rest[after...].firstIndex(of: ")") {
                let name = String(rest[rest.index(after: after)..<close])
                if let value = variables.last(where: { $0.name == name })?.value {
                    out += value
                } else {
                    out += rest[dollar...close]
                }
                rest = rest[rest.index(after: close)...]
            } else {
                out += "$"
                rest = rest[after...]
            }
        }
        return out + rest
    }
}
