/// One term of a label selector: a key, an operator and the values it relates them to.
public struct LabelRequirement: Sendable, Hashable, CustomStringConvertible {
    /// selection.Operator; the raw values are upstream's, which appear in its error messages.
    public enum Operator: String, Sendable, Hashable, CaseIterable {
        case `in` = "in"
        case notIn = "notin"
        case equals = "="
        case doubleEquals = "=="
        case notEquals = "!="
        case greaterThan = "gt"
        case lessThan = "lt"
        case exists = "exists"
        case doesNotExist = "!"
    }

    public let key: String
    public let op: Operator
    /// In the order given: values are only sorted when printed.
    public let values: [String]

    /// labels.NewRequirement: checks the key, the value count for the operator and each value.
    /// `path` is the field path upstream prefixes its errors with (none from string parsing).
    public init(key: String, op: Operator, values: [String], path: String? = nil) throws(SelectorParseError) {
        func child(_ name: String) -> String { path.map { "\($0).\(name)" } ?? name }
        var errors: [FieldError] = []
        for message in NameFormat.qualifiedName(key).joinedIfAny {
            errors.append(.invalid(child("key"), .string(key), message))
        }
        let valuesPath = child("values")
        let renderedValues: JSONValue = values.isEmpty ? .null : .array(values.map { .string($0) })
        switch op {
        case .in, .notIn:
            if values.isEmpty { errors.append(.invalid(valuesPath, renderedValues, "for 'in', 'notin' operators, values set can't be empty")) }
        case .equals, .doubleEquals, .notEquals:
            if values.count != 1 { errors.append(.invalid(valuesPath, renderedValues, "exact-match compatibility requires one single value")) }
        case .exists, .doesNotExist:
            if !values.isEmpty { errors.append(.invalid(valuesPath, renderedValues, "values set must be empty for exists and does not exist")) }
        case .greaterThan, .lessThan:
            if values.count != 1 { errors.append(.invalid(valuesPath, renderedValues, "for 'Gt', 'Lt' operators, exactly one value is required")) }
            for (i, value) in values.enumerated() where Int64(value) == nil {
                errors.append(.invalid("\(valuesPath)[\(i)]", .string(value), "for 'Gt', 'Lt' operators, the value must be an integer"))
            }
        }
        for (i, value) in values.enumerated() {
            for message in NameFormat.labelValue(value).joinedIfAny {
                errors.append(.invalid("\(valuesPath)[\(i)][\(key)]", .string(value), message))
            }
        }
        if !errors.isEmpty { throw SelectorParseError(aggregateMessage(errors)) }
        self.key = key
        self.op = op
        self.values = values
    }

    public func matches(_ labels: [String: String]) -> Bool {
        switch op {
        case .in, .equals, .doubleEquals:
            guard let value = labels[key] else { return false }
            return values.contains(value)
        case .notIn, .notEquals:
            guard let value = labels[key] else { return true }
            return !values.contains(value)
        case .exists:
            return labels[key] != nil
        case .doesNotExist:
            return labels[key] == nil
        case .greaterThan, .lessThan:
            guard let text = labels[key], let actual = Int64(text), values.count == 1, let bound = Int64(values[0]) else { return false }
            return op == .greaterThan ? actual > bound : actual < bound
        }
    }

    /// Requirement.String(): `!k`, `k`, `k=v`, `k in (a,b)`, values sorted bytewise.
    public var description: String {
        switch op {
        case .exists: return key
        case .doesNotExist: return "!" + key
        default: break
        }
        let symbol: String
        switch op {
        case .in: symbol = " in "
        case .notIn: symbol = " notin "
        case .greaterThan: symbol = ">"
        case .lessThan: symbol = "<"
        default: symbol = op.rawValue
        }
        let list = values.count == 1 ? values[0] : values.sorted { $0.goPrecedes($1) }.joined(separator: ",")
        if op == .in || op == .notIn { return key + symbol + "(" + list + ")" }
        return key + symbol + list
    }
}

fileprivate extension Array where Element == String {
    /// validateLabelKey and validateLabelValue report all findings as one error, joined by "; ".
    var joinedIfAny: [String] { isEmpty ? [] : [joined(separator: "; ")] }
}
