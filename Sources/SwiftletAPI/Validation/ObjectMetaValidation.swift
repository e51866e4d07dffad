import SwiftletMachinery

/// Which name format a kind's objects must have (upstream's ValidateNameFunc per kind).
public enum NameRule {
    case subdomain
    case label
    /// Services, whose names become DNS labels that must start with a letter.
    case rfc1035Label
    /// Any text usable as one URL path segment (RBAC objects: `system:controller:x`).
    case pathSegment

    /// `generateName` prefixes may end in `-`; upstream masks that by replacing the last two
    /// characters with `a` (maskTrailingDash), which this keeps.
    func check(_ name: String, prefix: Bool = false) -> [String] {
        var value = name
        if prefix, value.utf8.count > 1, value.hasSuffix("-") {
            value = String(decoding: value.utf8.dropLast(2), as: UTF8.self) + "a"
        }
        switch self {
        case .subdomain: return NameFormat.dns1123Subdomain(value)
        case .label: return NameFormat.dns1123Label(value)
        case .rfc1035Label: return NameFormat.dns1035Label(value)
        case .pathSegment: return Self.pathSegmentErrors(value)
        }
    }

    /// apimachinery's `IsValidPathSegmentName`.
    public static func pathSegmentErrors(_ name: String) -> [String] {
        if name == "." || name == ".." { return ["may not be '\(name)'"] }
        return ["/", "%"].filter { name.contains($0) }.map { "may not contain '\($0)'" }
    }
}

/// ValidateObjectMeta (apimachinery's, then core's finalizer check).
enum ObjectMetaValidation {
    static let annotationSizeLimit = 256 * 1024
    static let standardFinalizers: Set<String> = ["kubernetes", "orphan", "foregroundDeletion"]

    static func validate(_ object: JSONValue, rule: NameRule) -> [FieldError] {
        let meta = object["metadata"] ?? .object(JSONObject())
        let path = ValidationPath("metadata")
        var errors: [FieldError] = []
        let generateName = FieldRead.string(meta["generateName"])
        if !generateName.isEmpty {
            errors += rule.check(generateName, prefix: true).map { .invalid(path.child("generateName").description, .string(generateName), $0) }
        }
        let name = FieldRead.string(meta["name"])
        if name.isEmpty {
            // With generateName the server chooses the name before storing the object.
            if generateName.isEmpty { errors.append(.required(path.child("name").description, "name or generateName is required")) }
        } else {
            errors += rule.check(name).map { .invalid(path.child("name").description, .string(name), $0) }
        }
        let namespace = FieldRead.string(meta["namespace"])
        if !namespace.isEmpty {
            errors += NameFormat.dns1123Label(namespace).map { .invalid(path.child("namespace").description, .string(namespace), $0) }
        }
        errors += CommonRules.nonNegative(meta["generation"], path.child("generation"))
        errors += LabelSelector.validateLabels(meta["labels"]?.objectValue, path: path.child("labels").description)
        errors += annotations(meta["annotations"], path.child("annotations"))
        errors += ownerReferences(meta["ownerReferences"], path.child("ownerReferences"))
        errors += finalizers(FieldRead.strings(meta["finalizers"]), path.child("finalizers"))
        return errors
    }

    /// ValidateAnnotations: keys are qualified names (checked lower-cased), and all keys and
    /// values together stay within 256 KiB.
    static func annotations(_ value: JSONValue?, _ path: ValidationPath) -> [FieldError] {
        var errors: [FieldError] = []
        var size = 0
        for (key, value) in FieldRead.map(value) {
            errors += NameFormat.qualifiedName(key.lowercased()).map { .invalid(path.description, .string(key), $0) }
            size += key.utf8.count + FieldRead.string(value).utf8.count
        }
        if size > annotationSizeLimit {
            errors.append(FieldError(.tooLong, field: path.description, detail: "may not be more than \(annotationSizeLimit) bytes"))
        }
        return errors
    }

    static func ownerReferences(_ value: JSONValue?, _ path: ValidationPath) -> [FieldError] {
        var errors: [FieldError] = []
        for reference in FieldRead.objects(value) {
            let apiVersion = FieldRead.string(reference["apiVersion"])
            let parts = apiVersion.split(separator: "/", omittingEmptySubsequences: false)
            if parts.count > 2 || (parts.last ?? "").isEmpty {
                errors.append(.invalid(path.child("apiVersion").description, .string(apiVersion), "version must not be empty"))
            }
            for field in ["kind", "name", "uid"] where FieldRead.string(reference[field]).isEmpty {
                errors.append(.invalid(path.child(field).description, "", "must not be empty"))
            }
        }
        return errors
    }

    /// Finalizers are qualified names; core adds that a name without a `/` must be a standard one.
    static func finalizers(_ names: [String], _ path: ValidationPath) -> [FieldError] {
        var errors: [FieldError] = []
        for name in names { errors += CommonRules.qualifiedName(name, path) }
        if names.contains("orphan") && names.contains("foregroundDeletion") {
            errors.append(.invalid(path.description, .array(names.map { .string($0) }), "finalizer orphan and foregroundDeletion cannot be both set"))
        }
        for (i, name) in names.enumerated() {
            errors += kubeFinalizerName(name, path.index(i))
        }
        return errors
    }

    static func kubeFinalizerName(_ name: String, _ path: ValidationPath) -> [FieldError] {
        var errors = CommonRules.qualifiedName(name, path)
        if !name.contains("/") && !standardFinalizers.contains(name) {
            errors.append(.invalid(path.description, .string(name), "name is neither a standard finalizer name nor is it fully qualified"))
        }
        return errors
    }
}
