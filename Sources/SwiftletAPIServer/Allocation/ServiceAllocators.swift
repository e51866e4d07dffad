import Synchronization

/// Hands out Service cluster IPs and node ports, never twice. The allocation maps are rebuilt
/// from the stored Services at start-up, so they stay right across restarts without a
/// separate record that could drift from the objects.
public final class ServiceAllocators: Sendable {
    public let clusterIPs: IPv4RangeAllocator
    public let nodePorts: PortAllocator

    public init(serviceCIDR: IPv4CIDR, nodePortRange: ClosedRange<Int>) {
        // .0 is the network, .1 the `kubernetes` Service, .10 cluster DNS (reserved by name).
        clusterIPs = IPv4RangeAllocator(cidr: serviceCIDR)
        nodePorts = PortAllocator(range: nodePortRange)
    }
}

public struct IPv4CIDR: Sendable, Equatable, CustomStringConvertible {
    public let network: UInt32
    public let prefixLength: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let length = Int(parts[1]), (8...30).contains(length),
              let address = IPv4CIDR.parseAddress(String(parts[0])) else { return nil }
        let mask: UInt32 = length == 0 ? 0 : ~UInt32(0) << (32 - length)
        network = address & mask
        prefixLength = length
    }

    public var size: UInt32 { UInt32(1) << (32 - prefixLength) }

    /// The address `offset` places after the network address.
    public func address(_ offset: UInt32) -> String { IPv4CIDR.format(network + offset) }

    public func offset(of address: String) -> UInt32? {
        guard let a = IPv4CIDR.parseAddress(address), a >= network, a - network < size else { return nil }
        return a - network
    }

    public var description: String { "\(IPv4CIDR.format(network))/\(prefixLength)" }

    public static func parseAddress(_ s: String) -> UInt32? {
        let octets = s.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return nil }
        var value: UInt32 = 0
        for octet in octets {
            guard let n = UInt32(octet), n <= 255, octet.count <= 3 else { return nil }
            value = value << 8 | n
        }
        return value
    }

    public static func format(_ v: UInt32) -> String {
        "\(v >> 24 & 255).\(v >> 16 & 255).\(v >> 8 & 255).\(v & 255)"
    }
}

public final class IPv4RangeAllocator: Sendable {
    public let cidr: IPv4CIDR
    private let state: Mutex<(used: Set<UInt32>, next: UInt32)>

    init(cidr: IPv4CIDR) {
        self.cidr = cidr
        state = Mutex((used: [], next: 11))
    }

    public enum Failure: Error, Equatable { case outOfRange, alreadyAllocated, full }

    /// Marks a specific address used (a requested clusterIP, or one found at start-up).
    public func allocate(_ address: String) throws(Failure) {
        guard let offset = cidr.offset(of: address), offset > 0, offset < cidr.size - 1 else { throw .outOfRange }
        try state.withLock { s throws(Failure) in
            guard s.used.insert(offset).inserted else { throw .alreadyAllocated }
        }
    }

    /// The next free address, searching on from the last one handed out so that a freed
    /// address is not reused at once (a client may still hold it).
    public func allocateNext() throws(Failure) -> String {
        let size = cidr.size
        let offset: UInt32 = try state.withLock { s throws(Failure) -> UInt32 in
            // Offsets 1..10 are kept for well-known services, as upstream keeps a low band.
            let firstDynamic: UInt32 = min(11, size - 2)
            let span = size - 1 - firstDynamic
            for step in 0..<span {
                let candidate = firstDynamic + (s.next - firstDynamic + step) % span
                if !s.used.contains(candidate) {
                    s.used.insert(candidate)
                    s.next = candidate + 1 >= size - 1 ? firstDynamic : candidate + 1
                    return candidate
                }
            }
            throw .full
        }
        return cidr.address(offset)
    }

    public func release(_ address: String) {
        guard let offset = cidr.offset(of: address) else { return }
        _ = state.withLock { $0.used.remove(offset) }
    }

    public func isAllocated(_ address: String) -> Bool {
        guard let offset = cidr.offset(of: address) else { return false }
        return state.withLock { $0.used.contains(offset) }
    }
}

public final class PortAllocator: Sendable {
    public let range: ClosedRange<Int>
    private let state: Mutex<(used: Set<Int>, next: Int)>

    init(range: ClosedRange<Int>) {
        self.range = range
        state = Mutex((used: [], next: range.lowerBound))
    }

    public enum Failure: Error, Equatable { case outOfRange, alreadyAllocated, full }

    public func allocate(_ port: Int) throws(Failure) {
        guard range.contains(port) else { throw .outOfRange }
        try state.withLock { s throws(Failure) in
            guard s.used.insert(port).inserted else { throw .alreadyAllocated }
        }
    }

    public func allocateNext() throws(Failure) -> Int {
        try state.withLock { s throws(Failure) -> Int in
            let count = range.count
            // Start at a random point, as upstream does, so ports look unrelated.
            let start = Int.random(in: range)
            for step in 0..<count {
                let candidate = range.lowerBound + (start - range.lowerBound + step) % count
                if !s.used.contains(candidate) {
                    s.used.insert(candidate)
                    return candidate
                }
            }
            throw .full
        }
    }

    public func release(_ port: Int) {
        _ = state.withLock { $0.used.remove(port) }
    }
}
