import SwiftletAPI
import SwiftletMachinery

/// Amounts of resources in billionths of a unit (`Quantity.nanos`): cpu and memory as fields,
/// since nearly every pod asks for them, anything else (ephemeral-storage, hugepages, extended
/// resources such as `nvidia.com/gpu`) by name.
struct ResourceAmounts: Equatable, Sendable {
    var cpu: Int128 = 0
    var memory: Int128 = 0
    var other: [String: Int128] = [:]

    subscript(name: String) -> Int128 {
        get {
            switch name {
            case "cpu": return cpu
            case "memory": return memory
            default: return other[name] ?? 0
            }
        }
        set {
            switch name {
            case "cpu": cpu = newValue
            case "memory": memory = newValue
            default: other[name] = newValue == 0 ? nil : newValue
            }
        }
    }

    /// The names with a non-zero amount.
    var names: [String] {
        var names: [String] = []
        if cpu != 0 { names.append("cpu") }
        if memory != 0 { names.append("memory") }
        names += other.keys.sorted()
        return names
    }

    /// A `ResourceList` (`{"cpu": "100m", ...}`); "pods" is not a request and is skipped.
    init(list: JSONValue?) {
        guard let object = list?.objectValue else { return }
        for (name, value) in object where name != "pods" {
            if let quantity = Quantity(json: value) { self[name] = quantity.nanos }
        }
    }

    init() {}

    static func + (a: ResourceAmounts, b: ResourceAmounts) -> ResourceAmounts {
        var sum = a
        sum.cpu += b.cpu
        sum.memory += b.memory
        for (name, amount) in b.other { sum[name] = sum[name] + amount }
        return sum
    }

    static func - (a: ResourceAmounts, b: ResourceAmounts) -> ResourceAmounts {
        var difference = a
        difference.cpu -= b.cpu
        difference.memory -= b.memory
        for (name, amount) in b.other { difference[name] = difference[name] - amount }
        return difference
    }

    /// The larger amount of each resource (how init containers combine with the rest).
    func max(_ b: ResourceAmounts) -> ResourceAmounts {
        var result = self
        result.cpu = Swift.max(cpu, b.cpu)
        result.memory = Swift.max(memory, b.memory)
        for (name, amount) in b.other { result[name] = Swift.max(result[name], amount) }
        return result
    }
}

/// A host port a pod asks for: `hostIP` "0.0.0.0" (unset) conflicts with every address.
struct HostPort: Hashable, Sendable {
    var ip: String
    var proto: String
    var port: Int64

    var slot: PortSlot { PortSlot(proto: proto, port: port) }

    static let anyIP = "0.0.0.0"
}

struct PortSlot: Hashable, Sendable {
    var proto: String
    var port: Int64
}
