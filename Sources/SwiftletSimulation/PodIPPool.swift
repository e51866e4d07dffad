/// The pod addresses of one simulated node: a /24 (`10.42.N.0/24`) whose `.1` is the node's
/// own address and whose `.2` … `.254` go to pods. Allocation moves round the range from where
/// it last stopped, so a freed address is not handed out again at once (a Service's endpoints
/// may still name it for a moment).
struct PodIPPool: Sendable {
    /// The first three octets with the trailing dot, e.g. `10.42.1.`.
    let prefix: String
    private(set) var used: Set<Int> = []
    private var cursor = 2

    static let first = 2
    static let last = 254

    init(prefix: String) { self.prefix = prefix }

    var nodeIP: String { prefix + "1" }
    var capacity: Int { Self.last - Self.first + 1 }

    mutating func allocate() -> String? {
        for step in 0..<capacity {
            let offset = Self.first + (cursor - Self.first + step) % capacity
            if !used.contains(offset) {
                used.insert(offset)
                cursor = offset == Self.last ? Self.first : offset + 1
                return prefix + String(offset)
            }
        }
        return nil
    }

    /// Marks an address found on an existing pod as taken; false if it is not in this pool.
    @discardableResult
    mutating func reserve(_ ip: String) -> Bool {
        guard let offset = self.offset(of: ip) else { return false }
        used.insert(offset)
        return true
    }

    mutating func release(_ ip: String) {
        if let offset = offset(of: ip) { used.remove(offset) }
    }

    func contains(_ ip: String) -> Bool { offset(of: ip) != nil }

    private func offset(of ip: String) -> Int? {
        guard ip.hasPrefix(prefix), let offset = Int(ip.dropFirst(prefix.count)),
              (Self.first...Self.last).contains(offset) else { return nil }
        return offset
    }
}
