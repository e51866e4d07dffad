import SwiftletMachinery

/// Volume defaulting: SetDefaults_Volume and the per-source defaults (file modes, host path
/// type, the `+default` tags of the legacy in-tree sources).
enum VolumeDefaults {
    typealias Edit = DefaultingEdit

    /// 0644, the mode upstream gives projected files.
    static let defaultMode: JSONValue = 420

    /// Declarative defaults of in-tree sources, by source then field.
    static let sourceFields: [(source: String, field: String, value: JSONValue)] = [
        ("iscsi", "iscsiInterface", "default"),
        ("rbd", "pool", "rbd"), ("rbd", "user", "admin"), ("rbd", "keyring", "/etc/ceph/keyring"),
        ("azureDisk", "cachingMode", "ReadWrite"), ("azureDisk", "fsType", "ext4"),
        ("azureDisk", "readOnly", false), ("azureDisk", "kind", "Shared"),
        ("scaleIO", "storageMode", "ThinProvisioned"), ("scaleIO", "fsType", "xfs"),
    ]

    static func apply(_ volume: inout JSONValue) {
        let hasSource = (volume.objectValue ?? JSONObject()).contains { $0.key != "name" && !Edit.isUnset($0.value) }
        if !hasSource { volume["emptyDir"] = .object(JSONObject()) }
        for source in ["secret", "configMap"] {
            Edit.editObject(&volume, source) { Edit.setIfUnset(&$0, "defaultMode", defaultMode) }
        }
        Edit.editObject(&volume, "downwardAPI") { downwardAPI in
            Edit.setIfUnset(&downwardAPI, "defaultMode", defaultMode)
            downwardAPIItems(&downwardAPI)
        }
        Edit.editObject(&volume, "projected") { projected in
            Edit.setIfUnset(&projected, "defaultMode", defaultMode)
            Edit.editEach(&projected, "sources") { source in
                Edit.editObject(&source, "downwardAPI", downwardAPIItems)
                Edit.editObject(&source, "serviceAccountToken") { Edit.setIfUnset(&$0, "expirationSeconds", 3600) }
            }
        }
        Edit.editObject(&volume, "hostPath") { Edit.setIfUnset(&$0, "type", "") }
        Edit.editObject(&volume, "ephemeral") { ephemeral in
            Edit.editObject(&ephemeral, "volumeClaimTemplate") { Edit.editObject(&$0, "spec", claimSpec) }
        }
        for (source, field, value) in sourceFields {
            Edit.editObject(&volume, source) { object in
                if case .string = value { Edit.setIfEmpty(&object, field, value.stringValue ?? "") } else { Edit.setIfUnset(&object, field, value) }
            }
        }
    }

    static func downwardAPIItems(_ downwardAPI: inout JSONValue) {
        Edit.editEach(&downwardAPI, "items") { Edit.editObject(&$0, "fieldRef", PodDefaults.fieldRef) }
    }

    /// SetDefaults_PersistentVolumeClaimSpec.
    static func claimSpec(_ spec: inout JSONValue) {
        Edit.setIfUnset(&spec, "volumeMode", "Filesystem")
        Edit.setIfUnset(&spec, "resources", .object(JSONObject()))
        Edit.editObject(&spec, "resources") { PodDefaults.roundResourceList(&$0, "limits"); PodDefaults.roundResourceList(&$0, "requests") }
    }
}

/// The tag of a container image reference, as upstream's parsers.ParseImageName reads it to
/// choose the pull policy: `latest` when neither tag nor digest is given, "" when the
/// reference does not parse.
enum ImageReference {
    static func tag(of image: String) -> String {
        var name = Substring(image)
        var hasDigest = false
        if let at = name.firstIndex(of: "@") {
            hasDigest = true
            name = name[..<at]
        }
        var tag = ""
        if let colon = name.lastIndex(of: ":"), !name[colon...].contains("/") {
            tag = String(name[name.index(after: colon)...])
            name = name[..<colon]
        }
        guard isRepository(name), tag.isEmpty || isTag(tag) else { return "" }
        return tag.isEmpty && !hasDigest ? "latest" : tag
    }

    /// `[domain/]path`, where path components are lowercase alphanumerics joined by `.`, `_`, `__` or `-`.
    private static func isRepository(_ name: Substring) -> Bool {
        var components = name.split(separator: "/", omittingEmptySubsequences: false)
        if components.count > 1, let first = components.first,
           first.contains(".") || first.contains(":") || first == "localhost" || first.contains(where: \.isUppercase) {
            components.removeFirst()
        }
        return !components.isEmpty && components.allSatisfy { component in
            guard let f = component.first, let l = component.last, f.isLowercaseAlnum, l.isLowercaseAlnum else { return false }
            return component.allSatisfy { $0.isLowercaseAlnum || $0 == "." || $0 == "_" || $0 == "-" }
        }
    }

    /// `[\w][\w.-]{0,127}`.
    private static func isTag(_ tag: String) -> Bool {
        guard tag.utf8.count <= 128, let first = tag.first, first.isWordCharacter else { return false }
        return tag.allSatisfy { $0.isWordCharacter || $0 == "." || $0 == "-" }
    }
}

private extension Character {
    var isLowercaseAlnum: Bool { ("a"..."z").contains(self) || ("0"..."9").contains(self) }
    var isWordCharacter: Bool { isLowercaseAlnum || ("A"..."Z").contains(self) || self == "_" }
}
