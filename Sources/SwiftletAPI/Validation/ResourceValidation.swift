import SwiftletMachinery

/// ValidateContainerResourceRequirements: known resource names, non-negative quantities, and
/// requests no larger than limits (equal to them for resources that cannot be overcommitted).
enum ResourceValidation {
    static let containerResources: Set<String> = ["cpu", "memory", "ephemeral-storage"]
    /// IsStandardResourceName: resource names quotas and containers understand.
    static let standardResources: Set<String> = [
        "cpu", "memory", "ephemeral-storage", "requests.cpu", "requests.memory", "requests.ephemeral-storage",
        "limits.cpu", "limits.memory", "limits.ephemeral-storage", "pods", "services", "replicationcontrollers",
        "resourcequotas", "secrets", "persistentvolumeclaims", "configmaps", "services.nodeports",
        "services.loadbalancers", "storage", "requests.storage",
    ]

    static func requirements(_ resources: JSONValue?, _ path: ValidationPath) -> [FieldError] {
        let limits = FieldRead.map(resources?["limits"])
        let requests = FieldRead.map(resources?["requests"])
        let limitsPath = path.child("limits"), requestsPath = path.child("requests")
        var errors: [FieldError] = []
        var limitQuantities: [String: Quantity] = [:]
        for (name, value) in limits {
            let itemPath = limitsPath.key(name)
            errors += resourceName(name, itemPath)
            let (quantity, found) = quantityValue(name, value, itemPath)
            errors += found
            limitQuantities[name] = quantity
        }
        for (name, value) in requests {
            let itemPath = requestsPath.key(name)
            errors += resourceName(name, itemPath)
            let (quantity, found) = quantityValue(name, value, itemPath)
            errors += found
            guard let quantity else { continue }
            if let limit = limitQuantities[name] {
                if quantity != limit && !overcommitAllowed(name) {
                    errors.append(.invalid(requestsPath.description, .string(quantity.description), "must be equal to \(name) limit of \(limit)"))
                } else if quantity > limit {
                    errors.append(.invalid(requestsPath.description, .string(quantity.description), "must be less than or equal to \(name) limit of \(limit)"))
                }
            } else if limits[name] == nil && !overcommitAllowed(name) {
                errors.append(.required(limitsPath.description, "Limit must be set for non overcommitable resources"))
            }
        }
        return errors
    }

    /// The quantity and its problems. Upstream rejects unparseable text when decoding the body
    /// (400 BadRequest); here it is reported at the field, with the parser's words.
    static func quantityValue(_ name: String, _ value: JSONValue, _ path: ValidationPath) -> (Quantity?, [FieldError]) {
        let quantity: Quantity
        do throws(Quantity.ParseError) {
            switch value {
            case .string(let text): quantity = try Quantity(text.trimmingASCIIWhitespace)
            default:
                guard let parsed = Quantity(json: value) else { throw Quantity.ParseError.format }
                quantity = parsed
            }
        } catch {
            return (nil, [.invalid(path.description, value, error.message)])
        }
        if quantity.nanos < 0 {
            return (quantity, [.invalid(path.description, .string(quantity.description), CommonRules.negativeMessage)])
        }
        if extendedResource(name), quantity.milliValue % 1000 != 0 {
            return (quantity, [.invalid(path.description, .string(quantity.description), "must be an integer")])
        }
        return (quantity, [])
    }

    static func resourceName(_ name: String, _ path: ValidationPath) -> [FieldError] {
        var errors = CommonRules.qualifiedName(name, path)
        if !errors.isEmpty { return errors }
        let unprefixed = !name.contains("/")
        if unprefixed && !standardResources.contains(name) && !name.hasPrefix("hugepages-") {
            errors.append(.invalid(path.description, .string(name), "must be a standard resource type or fully qualified"))
        }
        if unprefixed {
            if !containerResources.contains(name) && !name.hasPrefix("hugepages-") {
                errors.append(.invalid(path.description, .string(name), "must be a standard resource for containers"))
            }
        } else if !nativeResource(name) && !extendedResource(name) {
            errors.append(.invalid(path.description, .string(name), "doesn't follow extended resource name standard"))
        }
        return errors
    }

    static func nativeResource(_ name: String) -> Bool { !name.contains("/") || name.contains("kubernetes.io/") }

    static func extendedResource(_ name: String) -> Bool {
        !nativeResource(name) && !name.hasPrefix("requests.") && NameFormat.qualifiedName("requests." + name).isEmpty
    }

    static func overcommitAllowed(_ name: String) -> Bool { nativeResource(name) && !name.hasPrefix("hugepages-") }
}

extension String {
    /// strings.TrimSpace for the ASCII spaces a quantity may be padded with.
    fileprivate var trimmingASCIIWhitespace: String {
        let bytes = Array(utf8)
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || ($0 >= 0x09 && $0 <= 0x0D) }
        guard let start = bytes.firstIndex(where: { !isSpace($0) }), let end = bytes.lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(decoding: bytes[start...end], as: UTF8.self)
    }
}
