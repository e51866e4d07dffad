import SwiftletMachinery

/// Pod Security admission's standards (k8s.io/pod-security-admission), for the `latest`
/// version: what the `baseline` and `restricted` levels forbid in a pod, worded as upstream.
///
/// Checks run in upstream's order, baseline checks by ID then restricted ones by ID; at the
/// restricted level a restricted check replaces the baseline check it tightens
/// (capabilities, volumes, seccomp).
public enum PodSecurity {
    public enum Level: String, Sendable, CaseIterable {
        case privileged, baseline, restricted
    }

    public static let labelPrefix = "pod-security.kubernetes.io/"
    public static let modes = ["enforce", "audit", "warn"]

    /// The level a namespace's label sets for `mode` (`enforce`, `warn`, `audit`); privileged
    /// when the label is absent (or unreadable: validation keeps bad values out).
    public static func level(_ mode: String, namespaceLabels: JSONObject?) -> Level {
        namespaceLabels?[labelPrefix + mode]?.stringValue.flatMap(Level.init(rawValue:)) ?? .privileged
    }

    /// How upstream names a level and version in messages: `restricted:latest`.
    public static func policyName(_ level: Level, mode: String, namespaceLabels: JSONObject?) -> String {
        let version = namespaceLabels?[labelPrefix + mode + "-version"]?.stringValue ?? "latest"
        return "\(level.rawValue):\(version.isEmpty ? "latest" : version)"
    }

    /// The `warn` level and its name: the label's, or, when only `enforce` is set to a stricter
    /// level, the enforce level (upstream's PolicyToEvaluate default).
    public static func warnPolicy(namespaceLabels: JSONObject?) -> (level: Level, name: String) {
        if namespaceLabels?[labelPrefix + "warn"] != nil || namespaceLabels?[labelPrefix + "enforce"] == nil {
            let level = level("warn", namespaceLabels: namespaceLabels)
            return (level, policyName(level, mode: "warn", namespaceLabels: namespaceLabels))
        }
        let enforce = level("enforce", namespaceLabels: namespaceLabels)
        let versionMode = namespaceLabels?[labelPrefix + "warn-version"] != nil ? "warn" : "enforce"
        return (enforce, policyName(enforce, mode: versionMode, namespaceLabels: namespaceLabels))
    }

    /// The pod, or the pod template of a workload (what upstream's warn and audit modes check
    /// on Deployments, Jobs and the rest); nil for other kinds.
    public static func podTemplate(of object: JSONValue, group: String, resource: String) -> JSONValue? {
        switch (group, resource) {
        case ("", "pods"): return object
        case ("", "replicationcontrollers"), ("apps", "deployments"), ("apps", "replicasets"), ("apps", "daemonsets"),
             ("apps", "statefulsets"), ("batch", "jobs"):
            return object[path: "spec", "template"]
        case ("batch", "cronjobs"): return object[path: "spec", "jobTemplate", "spec", "template"]
        default: return nil
        }
    }

    /// Upstream's validation of the namespace labels.
    public static func validateLabels(_ labels: JSONObject?) -> [FieldError] {
        var errors: [FieldError] = []
        for mode in modes {
            let key = labelPrefix + mode
            if let value = labels?[key]?.stringValue, Level(rawValue: value) == nil {
                errors.append(.invalid("metadata.labels[\(key)]", .string(value),
                                       #"must be one of privileged, baseline, restricted"#))
            }
            let versionKey = key + "-version"
            if let version = labels?[versionKey]?.stringValue, !isVersion(version) {
                errors.append(.invalid("metadata.labels[\(versionKey)]", .string(version),
                                       #"must be "latest" or of the form "v1.x""#))
            }
        }
        return errors
    }

    private static func isVersion(_ text: String) -> Bool {
        if text == "latest" { return true }
        guard text.hasPrefix("v1."), let minor = Int(text.dropFirst(3)) else { return false }
        return minor >= 0
    }

    /// The violations of `level`, as upstream's aggregate: `reason (detail)` each.
    public static func violations(_ pod: JSONValue, level: Level) -> [String] {
        checkResults(pod, level: level).map { $0.detail.isEmpty ? $0.reason : "\($0.reason) (\($0.detail))" }
    }

    /// The reasons alone (upstream's `ForbiddenReason`), as a namespace's new level lists them.
    public static func violatedReasons(_ pod: JSONValue, level: Level) -> [String] {
        checkResults(pod, level: level).map(\.reason)
    }

    private static func checkResults(_ pod: JSONValue, level: Level) -> [(reason: String, detail: String)] {
        guard level != .privileged else { return [] }
        let spec = pod["spec"] ?? .object(JSONObject())
        // Upstream's order: the baseline checks by ID, then, for restricted, its own by ID in
        // place of the baseline ones they replace.
        let appArmor: (JSONValue) -> (reason: String, detail: String)? = { appArmorProfile($0, annotations: pod[path: "metadata", "annotations"]) }
        var checks: [(JSONValue) -> (reason: String, detail: String)?] = [
            appArmor, capabilitiesBaseline, hostNamespaces, hostPathVolumes, hostPorts, hostProbesAndHostLifecycle, privileged, procMount,
            seLinuxOptions, seccompBaseline, sysctls,
        ]
        if level == .restricted {
            checks = [appArmor, hostNamespaces, hostPorts, hostProbesAndHostLifecycle, privileged, procMount, seLinuxOptions, sysctls,
                      allowPrivilegeEscalation, capabilitiesRestricted, restrictedVolumes, runAsNonRoot, runAsUser, seccompRestricted]
        }
        return checks.compactMap { $0(spec) }
    }

    // MARK: Helpers, as upstream's

    static func joinQuote(_ items: [String]) -> String {
        items.isEmpty ? "" : "\"" + items.joined(separator: "\", \"") + "\""
    }

    static func pluralize(_ singular: String, _ plural: String, _ count: Int) -> String { count == 1 ? singular : plural }

    /// Init containers, then containers, then ephemeral containers.
    static func containers(_ spec: JSONValue) -> [JSONValue] {
        ["initContainers", "containers", "ephemeralContainers"].flatMap { FieldRead.objects(spec[$0]) }
    }

    static func name(_ container: JSONValue) -> String { FieldRead.string(container["name"]) }

    static func containersPhrase(_ names: [String]) -> String { "\(pluralize("container", "containers", names.count)) \(joinQuote(names))" }

    // MARK: Baseline

    static let defaultCapabilities: Set<String> = [
        "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP", "SETGID",
        "SETPCAP", "SETUID", "SYS_CHROOT",
    ]

    static func capabilitiesBaseline(_ spec: JSONValue) -> (reason: String, detail: String)? {
        var bad: [String] = []
        var capabilities = Set<String>()
        for container in containers(spec) {
            let added = FieldRead.strings(container[path: "securityContext", "capabilities", "add"]).filter { !defaultCapabilities.contains($0) }
            if !added.isEmpty {
                bad.append(name(container))
                capabilities.formUnion(added)
            }
        }
        guard !bad.isEmpty else { return nil }
        return ("non-default capabilities", "\(containersPhrase(bad)) must not include \(joinQuote(capabilities.sorted())) in securityContext.capabilities.add")
    }

    static func hostNamespaces(_ spec: JSONValue) -> (reason: String, detail: String)? {
        let set = ["hostNetwork", "hostPID", "hostIPC"].filter { spec[$0] == .bool(true) }.map { "\($0)=true" }
        return set.isEmpty ? nil : ("host namespaces", set.joined(separator: ", "))
    }

    static func hostPathVolumes(_ spec: JSONValue) -> (reason: String, detail: String)? {
        let volumes = FieldRead.objects(spec["volumes"]).filter { $0["hostPath"] != nil }.map(name)
        return volumes.isEmpty ? nil : ("hostPath volumes", "\(pluralize("volume", "volumes", volumes.count)) \(joinQuote(volumes))")
    }

    static func hostPorts(_ spec: JSONValue) -> (reason: String, detail: String)? {
        var bad: [String] = []
        var ports = Set<String>()
        for container in containers(spec) {
            let used = FieldRead.objects(container["ports"]).compactMap { $0["hostPort"]?.intValue }.filter { $0 != 0 }
            if !used.isEmpty {
                bad.append(name(container))
                ports.formUnion(used.map(String.init))
            }
        }
        guard !bad.isEmpty else { return nil }
        return ("hostPort", "\(containersPhrase(bad)) \(pluralize("uses", "use", bad.count)) \(pluralize("hostPort", "hostPorts", ports.count)) \(ports.sorted().joined(separator: ", "))")
    }

    static func allowedAppArmorType(_ type: String) -> Bool { type == "RuntimeDefault" || type == "Localhost" }

    /// AppArmor may not be turned off or set to anything but the runtime's default or a local
    /// profile, in the fields or in the deprecated per-container annotations.
    static func appArmorProfile(_ spec: JSONValue, annotations: JSONValue?) -> (reason: String, detail: String)? {
        var setters: [String] = []
        var values = Set<String>()
        if let type = spec[path: "securityContext", "appArmorProfile", "type"]?.stringValue, !allowedAppArmorType(type) {
            setters.append("pod")
            values.insert(type)
        }
        var bad: [String] = []
        for container in containers(spec) {
            if let type = container[path: "securityContext", "appArmorProfile", "type"]?.stringValue, !allowedAppArmorType(type) {
                bad.append(name(container))
                values.insert(type)
            }
        }
        if !bad.isEmpty { setters.append(containersPhrase(bad)) }
        let prefix = "container.apparmor.security.beta.kubernetes.io/"
        let forbiddenAnnotations = (annotations?.objectValue ?? JSONObject()).compactMap { key, value -> String? in
            let profile = FieldRead.string(value)
            guard key.hasPrefix(prefix), !(profile.isEmpty || profile == "runtime/default" || profile.hasPrefix("localhost/")) else { return nil }
            return "\(key)=\(GoText.quote(profile))"
        }.sorted()
        var listed = values.sorted()
        if !forbiddenAnnotations.isEmpty {
            listed += forbiddenAnnotations
            setters.append(pluralize("annotation", "annotations", forbiddenAnnotations.count))
        }
        guard !setters.isEmpty else { return nil }
        return (pluralize("forbidden AppArmor profile", "forbidden AppArmor profiles", listed.count),
                "\(setters.joined(separator: " and ")) must not set AppArmor profile type to \(joinQuote(listed))")
    }

    /// Probes and lifecycle handlers may not name a host (a check of the 1.34 standard).
    static func hostProbesAndHostLifecycle(_ spec: JSONValue) -> (reason: String, detail: String)? {
        var bad = Set<String>()
        var hosts = Set<String>()
        for container in containers(spec) {
            let handlers = ["livenessProbe", "readinessProbe", "startupProbe"].compactMap { container[$0] }
                + ["postStart", "preStop"].compactMap { container[path: "lifecycle", $0] }
            for handler in handlers {
                for kind in ["httpGet", "tcpSocket"] {
                    let host = FieldRead.string(handler[path: kind, "host"])
                    if !host.isEmpty {
                        bad.insert(name(container))
                        hosts.insert(host)
                    }
                }
            }
        }
        guard !bad.isEmpty else { return nil }
        return ("probe or lifecycle host", "\(containersPhrase(bad.sorted())) \(pluralize("uses", "use", bad.count)) "
            + "\(pluralize("probe or lifecycle host", "probe or lifecycle hosts", hosts.count)) \(joinQuote(hosts.sorted()))")
    }

    static let allowedSELinuxTypes: Set<String> = ["", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"]

    /// SELinux options may name only the container types, and neither a user nor a role.
    static func seLinuxOptions(_ spec: JSONValue) -> (reason: String, detail: String)? {
        var types = Set<String>()
        var setUser = false, setRole = false
        func valid(_ options: JSONValue) -> Bool {
            var valid = true
            let type = FieldRead.string(options["type"])
            if !allowedSELinuxTypes.contains(type) { valid = false; types.insert(type) }
            if !FieldRead.string(options["user"]).isEmpty { valid = false; setUser = true }
            if !FieldRead.string(options["role"]).isEmpty { valid = false; setRole = true }
            return valid
        }
        var setters: [String] = []
        if let options = spec[path: "securityContext", "seLinuxOptions"], !options.isNull, !valid(options) { setters.append("pod") }
        let bad = containers(spec).filter { container in
            guard let options = container[path: "securityContext", "seLinuxOptions"], !options.isNull else { return false }
            return !valid(options)
        }.map(name)
        if !bad.isEmpty { setters.append(containersPhrase(bad)) }
        guard !setters.isEmpty else { return nil }
        var data: [String] = []
        if !types.isEmpty { data.append("\(pluralize("type", "types", types.count)) \(joinQuote(types.sorted()))") }
        if setUser { data.append("user may not be set") }
        if setRole { data.append("role may not be set") }
        return ("seLinuxOptions", "\(setters.joined(separator: " and ")) set forbidden securityContext.seLinuxOptions: \(data.joined(separator: "; "))")
    }

    static func privileged(_ spec: JSONValue) -> (reason: String, detail: String)? {
        let bad = containers(spec).filter { $0[path: "securityContext", "privileged"] == .bool(true) }.map(name)
        return bad.isEmpty ? nil : ("privileged", "\(containersPhrase(bad)) must not set securityContext.privileged=true")
    }

    static func procMount(_ spec: JSONValue) -> (reason: String, detail: String)? {
        var bad: [String] = []
        var types = Set<String>()
        for container in containers(spec) {
            if let type = container[path: "securityContext", "procMount"]?.stringValue, type != "Default" {
                bad.append(name(container))
                types.insert(type)
            }
        }
        guard !bad.isEmpty else { return nil }
        return ("procMount", "\(containersPhrase(bad)) must not set securityContext.procMount to \(joinQuote(types.sorted()))")
    }

    static func validSeccomp(_ type: String) -> Bool { type == "RuntimeDefault" || type == "Localhost" }

    /// Who set a seccomp type outside RuntimeDefault and Localhost, and which types.
    static func badSeccompSetters(_ spec: JSONValue) -> (setters: [String], values: Set<String>, podSet: Bool, unset: [String]) {
        var setters: [String] = []
        var values = Set<String>()
        var podSet = false
        if let type = spec[path: "securityContext", "seccompProfile", "type"]?.stringValue {
            if validSeccomp(type) { podSet = true } else { setters.append("pod"); values.insert(type) }
        }
        var badContainers: [String] = []
        var unset: [String] = []
        for container in containers(spec) {
            if let type = container[path: "securityContext", "seccompProfile", "type"]?.stringValue {
                if !validSeccomp(type) { badContainers.append(name(container)); values.insert(type) }
            } else if !podSet {
                unset.append(name(container))
            }
        }
        if !badContainers.isEmpty { setters.append(containersPhrase(badContainers)) }
        return (setters, values, podSet, unset)
    }

    static func seccompBaseline(_ spec: JSONValue) -> (reason: String, detail: String)? {
        let found = badSeccompSetters(spec)
        guard !found.setters.isEmpty else { return nil }
        return ("seccompProfile", "\(found.setters.joined(separator: " and ")) must not set securityContext.seccompProfile.type to \(joinQuote(found.values.sorted()))")
    }

    static let safeSysctls: Set<String> = [
        "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range",
        "net.ipv4.ip_unprivileged_port_start", "net.ipv4.ip_local_reserved_ports", "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_rmem",
        "net.ipv4.tcp_wmem",
    ]

    static func sysctls(_ spec: JSONValue) -> (reason: String, detail: String)? {
        let forbidden = FieldRead.objects(spec[path: "securityContext", "sysctls"]).map { FieldRead.string($0["name"]) }
            .filter { !safeSysctls.contains($0) }
        return forbidden.isEmpty ? nil : ("forbidden sysctls", forbidden.joined(separator: ", "))
    }

    // MARK: Restricted

    static func allowPrivilegeEscalation(_ spec: JSONValue) -> (reason: String, detail: String)? {
        let bad = containers(spec).filter { $0[path: "securityContext", "allowPrivilegeEscalation"] != .bool(false) }.map(name)
        return bad.isEmpty ? nil : ("allowPrivilegeEscalation != false", "\(containersPhrase(bad)) must set securityContext.allowPrivilegeEscalation=false")
    }

    static func capabilitiesRestricted(_ spec: JSONValue) -> (reason: String, detail: String)? {
        var missingDrop: [String] = []
        var adding: [String] = []
        var forbidden = Set<String>()
        for container in containers(spec) {
            guard let capabilities = container[path: "securityContext", "capabilities"], capabilities.objectValue != nil else {
                missingDrop.append(name(container))
                continue
            }
            if !FieldRead.strings(capabilities["drop"]).contains("ALL") { missingDrop.append(name(container)) }
            let added = FieldRead.strings(capabilities["add"]).filter { $0 != "NET_BIND_SERVICE" }
            if !added.isEmpty {
                adding.append(name(container))
                forbidden.formUnion(added)
            }
        }
        var details: [String] = []
        if !missingDrop.isEmpty { details.append(#"\#(containersPhrase(missingDrop)) must set securityContext.capabilities.drop=["ALL"]"#) }
        if !adding.isEmpty { details.append("\(containersPhrase(adding)) must not include \(joinQuote(forbidden.sorted())) in securityContext.capabilities.add") }
        return details.isEmpty ? nil : ("unrestricted capabilities", details.joined(separator: "; "))
    }

    static let allowedVolumeSources = ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image", "persistentVolumeClaim",
                                       "projected", "secret"]
    static let restrictedVolumeSources = ["hostPath", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "nfs", "iscsi",
                                          "glusterfs", "rbd", "flexVolume", "cinder", "cephfs", "flocker", "fc", "azureFile",
                                          "vsphereVolume", "quobyte", "azureDisk", "photonPersistentDisk", "portworxVolume", "scaleIO",
                                          "storageos"]

    static func restrictedVolumes(_ spec: JSONValue) -> (reason: String, detail: String)? {
        var bad: [String] = []
        var types = Set<String>()
        for volume in FieldRead.objects(spec["volumes"]) where !allowedVolumeSources.contains(where: { volume[$0] != nil }) {
            bad.append(name(volume))
            types.insert(restrictedVolumeSources.first { volume[$0] != nil } ?? "unknown")
        }
        guard !bad.isEmpty else { return nil }
        return ("restricted volume types", "\(pluralize("volume", "volumes", bad.count)) \(joinQuote(bad)) \(pluralize("uses", "use", bad.count)) \(pluralize("restricted volume type", "restricted volume types", types.count)) \(joinQuote(types.sorted()))")
    }

    /// Pods in their own user namespace (`hostUsers: false`) may run as root inside it.
    static func inUserNamespace(_ spec: JSONValue) -> Bool { spec["hostUsers"] == .bool(false) }

    static func runAsNonRoot(_ spec: JSONValue) -> (reason: String, detail: String)? {
        if inUserNamespace(spec) { return nil }
        var setters: [String] = []
        var podNonRoot = false
        if let value = spec[path: "securityContext", "runAsNonRoot"]?.boolValue {
            if value { podNonRoot = true } else { setters.append("pod") }
        }
        var explicit: [String] = []
        var implicit: [String] = []
        for container in containers(spec) {
            if let value = container[path: "securityContext", "runAsNonRoot"]?.boolValue {
                if !value { explicit.append(name(container)) }
            } else if !podNonRoot {
                implicit.append(name(container))
            }
        }
        if !explicit.isEmpty { setters.append(containersPhrase(explicit)) }
        if !setters.isEmpty { return ("runAsNonRoot != true", "\(setters.joined(separator: " and ")) must not set securityContext.runAsNonRoot=false") }
        if !implicit.isEmpty { return ("runAsNonRoot != true", "pod or \(containersPhrase(implicit)) must set securityContext.runAsNonRoot=true") }
        return nil
    }

    static func runAsUser(_ spec: JSONValue) -> (reason: String, detail: String)? {
        if inUserNamespace(spec) { return nil }
        var setters: [String] = []
        if spec[path: "securityContext", "runAsUser"]?.intValue == 0 { setters.append("pod") }
        let bad = containers(spec).filter { $0[path: "securityContext", "runAsUser"]?.intValue == 0 }.map(name)
        if !bad.isEmpty { setters.append(containersPhrase(bad)) }
        return setters.isEmpty ? nil : ("runAsUser=0", "\(setters.joined(separator: " and ")) must not set runAsUser=0")
    }

    static func seccompRestricted(_ spec: JSONValue) -> (reason: String, detail: String)? {
        let found = badSeccompSetters(spec)
        if !found.setters.isEmpty {
            return ("seccompProfile", "\(found.setters.joined(separator: " and ")) must not set securityContext.seccompProfile.type to \(joinQuote(found.values.sorted()))")
        }
        if !found.unset.isEmpty {
            return ("seccompProfile", #"pod or \#(containersPhrase(found.unset)) must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost""#)
        }
        return nil
    }
}
