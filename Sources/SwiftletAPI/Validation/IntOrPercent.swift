import SwiftletMachinery

/// intstr.IntOrString fields such as maxSurge: a count, or a percentage like `25%`.
enum IntOrPercent {
    /// ValidatePositiveIntOrPercent: a valid percentage, or a non-negative count.
    static func positive(_ value: JSONValue, _ path: ValidationPath) -> [FieldError] {
        if let text = value.stringValue { return NameFormat.percent(text).map { .invalid(path.description, value, $0) } }
        return CommonRules.nonNegative(value, path)
    }

    /// getIntOrPercentValue: the percentage's number, the count, or what a non-percent string
    /// reads as an integer (0 when it does not).
    static func value(_ value: JSONValue) -> Int64 {
        guard let text = value.stringValue else { return value.intValue ?? 0 }
        if NameFormat.percent(text).isEmpty { return Int64(text.dropLast()) ?? 0 }
        return Int64(text) ?? 0
    }

    static func notMoreThan100Percent(_ value: JSONValue, _ path: ValidationPath) -> [FieldError] {
        guard let text = value.stringValue, NameFormat.percent(text).isEmpty, (Int64(text.dropLast()) ?? 0) > 100 else { return [] }
        return [.invalid(path.description, value, "must not be greater than 100%")]
    }

    /// The internal RollingUpdate struct as Go prints it: unset counts are 0.
    static func goRollingUpdate(_ value: JSONValue?) -> JSONValue {
        guard let value, value.objectValue != nil else { return .null }
        return GoValue.goStruct([("MaxUnavailable", value["maxUnavailable"] ?? 0), ("MaxSurge", value["maxSurge"] ?? 0)])
    }
}
