/// `metav1.LabelSelector` (matchLabels and matchExpressions), the form workloads store.
extension LabelSelector {
    /// metav1.LabelSelectorAsSelector: nil or null selects nothing, `{}` selects everything.
    public static func fromJSON(_ json: JSONValue?) throws(SelectorParseError) -> LabelSelector {
        guard let json, !json.isNull else { return .nothing }
        let matchLabels = json["matchLabels"]?.objectValue ?? JSONObject()
        let expressions = json["matchExpressions"]?.arrayValue ?? []
        if matchLabels.isEmpty && expressions.isEmpty { return .everything }
        var requirements: [LabelRequirement] = []
        for (key, value) in matchLabels {
            requirements.append(try LabelRequirement(key: key, op: .equals, values: [value.stringValue ?? ""]))
        }
        for expression in expressions {
            let op: LabelRequirement.Operator
            let name = expression["operator"]?.stringValue ?? ""
            switch name {
            case "In": op = .in
            case "NotIn": op = .notIn
            case "Exists": op = .exists
            case "DoesNotExist": op = .doesNotExist
            default: throw SelectorParseError("\"\(name)\" is not a valid label selector operator")
            }
            let values = (expression["values"]?.arrayValue ?? []).map { $0.stringValue ?? "" }
            requirements.append(try LabelRequirement(key: expression["key"]?.stringValue ?? "", op: op, values: values))
        }
        return LabelSelector(requirements: requirements)
    }

    /// metav1.FormatLabelSelector, the Selector column of kubectl tables: `<none>` when empty,
    /// `<error>` when the selector does not convert.
    public static func formatted(_ json: JSONValue?) -> String {
        guard let selector = try? fromJSON(json) else { return "<error>" }
        let text = selector.description
        return text.isEmpty ? "<none>" : text
    }

    /// metav1validation.ValidateLabelSelector, with its field paths under `path`.
    public static func validate(_ json: JSONValue?, path: String, allowInvalidLabelValues: Bool = false) -> [FieldError] {
        guard let json, !json.isNull else { return [] }
        var errors = validateLabels(json["matchLabels"]?.objectValue, path: path + ".matchLabels")
        for (i, expression) in (json["matchExpressions"]?.arrayValue ?? []).enumerated() {
            let itemPath = "\(path).matchExpressions[\(i)]"
            let values = (expression["values"]?.arrayValue ?? []).map { $0.stringValue ?? "" }
            let op = expression["operator"]?.stringValue ?? ""
            switch op {
            case "In", "NotIn":
                if values.isEmpty { errors.append(.required(itemPath + ".values", "must be specified when `operator` is 'In' or 'NotIn'")) }
            case "Exists", "DoesNotExist":
                if !values.isEmpty { errors.append(.forbidden(itemPath + ".values", "may not be specified when `operator` is 'Exists' or 'DoesNotExist'")) }
            default:
                errors.append(.invalid(itemPath + ".operator", .string(op), "not a valid selector operator"))
            }
            let key = expression["key"]?.stringValue ?? ""
            errors += NameFormat.qualifiedName(key).map { FieldError.invalid(itemPath + ".key", .string(key), $0) }
            if !allowInvalidLabelValues {
                for (j, value) in values.enumerated() {
                    errors += NameFormat.labelValue(value).map { FieldError.invalid("\(itemPath).values[\(j)]", .string(value), $0) }
                }
            }
        }
        return errors
    }

    /// metav1validation.ValidateLabels: every finding is reported at the map's own path.
    public static func validateLabels(_ labels: JSONObject?, path: String) -> [FieldError] {
        var errors: [FieldError] = []
        for (key, value) in labels ?? JSONObject() {
            errors += NameFormat.qualifiedName(key).map { FieldError.invalid(path, .string(key), $0) }
            let text = value.stringValue ?? ""
            errors += NameFormat.labelValue(text).map { FieldError.invalid(path, .string(text), $0) }
        }
        return errors
    }
}
