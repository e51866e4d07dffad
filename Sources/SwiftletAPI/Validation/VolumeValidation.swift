import SwiftletMachinery

/// ValidateVolumes: unique DNS-label names and exactly one source per volume, with the source
/// checks common manifests reach.
enum VolumeValidation {
    /// The sources in the order upstream checks them, with the path its "more than 1" error
    /// names (two are misspelled upstream, and kept so).
    static let sources: [(key: String, errorName: String)] = [
        ("emptyDir", "emptyDir"), ("hostPath", "hostPath"), ("gitRepo", "gitRepo"), ("gcePersistentDisk", "gcePersistentDisk"),
        ("awsElasticBlockStore", "awsElasticBlockStore"), ("secret", "secret"), ("nfs", "nfs"), ("iscsi", "iscsi"),
        ("glusterfs", "glusterfs"), ("flocker", "flocker"), ("persistentVolumeClaim", "persistentVolumeClaim"), ("rbd", "rbd"),
        ("cinder", "cinder"), ("cephfs", "cephFS"), ("quobyte", "quobyte"), ("downwardAPI", "downwarAPI"), ("fc", "fc"),
        ("flexVolume", "flexVolume"), ("configMap", "configMap"), ("azureFile", "azureFile"), ("vsphereVolume", "vsphereVolume"),
        ("photonPersistentDisk", "photonPersistentDisk"), ("portworxVolume", "portworxVolume"), ("azureDisk", "azureDisk"),
        ("storageos", "storageos"), ("projected", "projected"), ("scaleIO", "scaleIO"), ("csi", "csi"),
        ("ephemeral", "ephemeral"), ("image", "image"),
    ]

    static let hostPathTypes = ["", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"]
    static let fileModeMessage = "must be a number between 0 and 0777 (octal), both inclusive"

    /// The errors, and the names of the volumes that passed (mounts may only name those).
    static func validate(_ volumes: [JSONValue], _ path: ValidationPath) -> (names: Set<String>, errors: [FieldError]) {
        var names: Set<String> = []
        var errors: [FieldError] = []
        for (i, volume) in volumes.enumerated() {
            let itemPath = path.index(i)
            let name = FieldRead.string(volume["name"])
            var found = source(volume, itemPath)
            if name.isEmpty {
                found.append(.required(itemPath.child("name").description))
            } else {
                found += CommonRules.dns1123Label(name, itemPath.child("name"))
            }
            if names.contains(name) { found.append(.duplicate(itemPath.child("name").description, .string(name))) }
            if found.isEmpty { names.insert(name) } else { errors += found }
        }
        return (names, errors)
    }

    static func source(_ volume: JSONValue, _ path: ValidationPath) -> [FieldError] {
        var count = 0
        var errors: [FieldError] = []
        for (key, errorName) in sources where FieldRead.isSet(volume[key]) {
            if count > 0 {
                errors.append(.forbidden(path.child(errorName).description, "may not specify more than 1 volume type"))
                continue
            }
            count += 1
            errors += sourceFields(key, volume[key] ?? .null, path.child(key))
        }
        if count == 0 { errors.append(.required(path.description, "must specify a volume type")) }
        return errors
    }

    static func sourceFields(_ key: String, _ source: JSONValue, _ path: ValidationPath) -> [FieldError] {
        switch key {
        case "hostPath":
            let hostPath = FieldRead.string(source["path"])
            if hostPath.isEmpty { return [.required(path.child("path").description)] }
            var errors = noBacksteps(hostPath, path.child("path"))
            if let type = source["type"]?.stringValue, !hostPathTypes.contains(type) {
                errors.append(.notSupported(path.child("type").description, .string(type), hostPathTypes))
            }
            return errors
        case "secret":
            return required(source, "secretName", path) + fileMode(source["defaultMode"], path.child("defaultMode")) + keyPaths(source, path)
        case "configMap":
            return required(source, "name", path) + fileMode(source["defaultMode"], path.child("defaultMode")) + keyPaths(source, path)
        case "persistentVolumeClaim":
            return required(source, "claimName", path)
        case "nfs":
            var errors = required(source, "server", path) + required(source, "path", path)
            let exportPath = FieldRead.string(source["path"])
            if !exportPath.hasPrefix("/") { errors.append(.invalid(path.child("path").description, .string(exportPath), "must be an absolute path")) }
            return errors
        case "emptyDir":
            if let limit = source["sizeLimit"].flatMap(Quantity.init(json:)), limit.nanos < 0 {
                return [.forbidden(path.child("sizeLimit").description, "SizeLimit field must be a valid resource quantity")]
            }
            return []
        case "downwardAPI", "projected":
            return fileMode(source["defaultMode"], path.child("defaultMode"))
        default:
            return []
        }
    }

    static func required(_ source: JSONValue, _ field: String, _ path: ValidationPath) -> [FieldError] {
        FieldRead.string(source[field]).isEmpty ? [.required(path.child(field).description)] : []
    }

    static func fileMode(_ value: JSONValue?, _ path: ValidationPath) -> [FieldError] {
        guard let mode = value?.intValue, mode < 0 || mode > 0o777 else { return [] }
        return [.invalid(path.description, .int(mode), fileModeMessage)]
    }

    /// The `items` of a secret or configMap source: key and relative path required, mode in range.
    static func keyPaths(_ source: JSONValue, _ path: ValidationPath) -> [FieldError] {
        var errors: [FieldError] = []
        for (i, item) in FieldRead.objects(source["items"]).enumerated() {
            let itemPath = path.child("items").index(i)
            errors += required(item, "key", itemPath) + required(item, "path", itemPath)
            errors += localNonReservedPath(FieldRead.string(item["path"]), itemPath.child("path"))
            errors += fileMode(item["mode"], itemPath.child("mode"))
        }
        return errors
    }

    /// ValidateLocalNonReservedPath: relative, without `..` elements, not starting with `..`.
    static func localNonReservedPath(_ value: String, _ path: ValidationPath) -> [FieldError] {
        var errors = localDescendingPath(value, path)
        if value.hasPrefix("..") && !value.hasPrefix("../") {
            errors.append(.invalid(path.description, .string(value), "must not start with '..'"))
        }
        return errors
    }

    static func localDescendingPath(_ value: String, _ path: ValidationPath) -> [FieldError] {
        var errors: [FieldError] = []
        if value.hasPrefix("/") { errors.append(.invalid(path.description, .string(value), "must be a relative path")) }
        return errors + noBacksteps(value, path)
    }

    static func noBacksteps(_ value: String, _ path: ValidationPath) -> [FieldError] {
        value.split(separator: "/", omittingEmptySubsequences: false).contains("..")
            ? [.invalid(path.description, .string(value), "must not contain '..'")] : []
    }
}
