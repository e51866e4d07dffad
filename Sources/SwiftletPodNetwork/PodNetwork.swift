import Foundation
import Synchronization

/// A node's pod networking, as the CNI bridge plugin with host-local IPAM does it: one bridge holding the gateway
/// address, and per pod a network namespace whose eth0 is a veth whose other end is a bridge port.
/// Calls for different pods may run concurrently; calls for one pod must not overlap.
public final class PodNetwork: Sendable {
    public let config: PodNetworkConfig
    private let subnet: Result<IPv4Subnet, PodNetworkError>
    /// The bridge's MTU once ensureBridge has run.
    private let knownBridgeMTU = Mutex<Int?>(nil)
    /// Serialises IPAM decisions, so that two calls never both find a pod without an address and allocate two.
    private let addressLock = Mutex(())
    /// Serialises ensureBridge, which setUp also calls when the bridge's MTU is not known yet.
    private let bridgeSetup = Mutex(())

    public init(config: PodNetworkConfig) {
        self.config = config
        subnet = Result { () throws(PodNetworkError) in try config.validated() }
    }

    /// Sysctls set in every pod namespace: containerd's defaults (enable_unprivileged_ports/_icmp), so that
    /// non-root containers can bind low ports and ping as they do on a Kubernetes node.
    static let podSysctls: [(key: String, value: String)] = [
        ("net/ipv4/ip_unprivileged_port_start", "0"),
        ("net/ipv4/ping_group_range", "0 2147483647"),
    ]

    /// The bridge's address, the pods' gateway: where node-local services (DNS) listen for pods.
    public var gatewayAddress: String? {
        (try? subnet.get()).map { IPv4Subnet.format($0.gateway) }
    }

    // MARK: Bridge

    public func ensureBridge() throws(PodNetworkError) {
        try bridgeSetup.withLock { _ throws(PodNetworkError) in try setUpBridge() }
    }

    private func setUpBridge() throws(PodNetworkError) {
        let subnet = try subnet.get()
        var lines: [BatchLine] = []
        if try bridgeMTU() == nil {
            let mtu = config.mtu.map { " mtu \($0)" } ?? ""
            // A fixed MAC: otherwise the bridge takes its lowest port's, and the gateway's MAC in every pod's ARP
            // cache goes stale whenever that pod leaves.
            lines.append("link add name \(config.bridgeName)\(mtu) address \(bridgeMAC) type bridge")
        }
        lines += [
            "addr replace \(IPv4Subnet.format(subnet.gateway))/\(subnet.prefixLength) dev \(config.bridgeName)",
            "link set dev \(config.bridgeName) up",
        ]
        try IPCommand.batch(lines, in: config.hostNamespace)
        // Forwarding on the bridge alone (not the global ip_forward) lets pods reach other bridges and the host's
        // other networks without turning the whole machine into a router.
        try NetworkNamespace.writeSysctls([("net/ipv4/conf/\(config.bridgeName)/forwarding", "1")], in: config.hostNamespace)
        guard let mtu = try bridgeMTU() else {
            throw .commandFailed(command: "ip link show dev \(config.bridgeName)", failedCommand: nil, status: 1, stderr: "the bridge vanished right after it was set up")
        }
        knownBridgeMTU.withLock { $0 = mtu }
    }

    /// The bridge's MTU, or nil when no link has its name.
    private func bridgeMTU() throws(PodNetworkError) -> Int? {
        let arguments = ["-j", "-d", "link", "show", "dev", config.bridgeName]
        let output: String
        do {
            output = try IPCommand.run(arguments, in: config.hostNamespace)
        } catch {
            if case .commandFailed(_, _, _, let stderr) = error, stderr.contains("does not exist") { return nil }
            throw error
        }
        let link = (try? JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]])?.first
        guard let mtu = link?["mtu"] as? Int else {
            throw .commandFailed(command: "ip " + arguments.joined(separator: " "), failedCommand: nil, status: 0, stderr: "unexpected output: \(output)")
        }
        guard (link?["linkinfo"] as? [String: Any])?["info_kind"] as? String == "bridge" else {
            throw .invalidConfiguration("bridgeName \(config.bridgeName) is taken by a link that is not a bridge")
        }
        return mtu
    }

    private var bridgeMAC: String {
        let hash = SandboxNames.hexHash("bridge/" + config.bridgeName).dropFirst(2)
        var octets = ["02"]
        var rest = Substring(hash)
        while !rest.isEmpty {
            octets.append(String(rest.prefix(2)))
            rest = rest.dropFirst(2)
        }
        return octets.joined(separator: ":")
    }

    // MARK: Pods

    public func setUp(podID: String) throws(PodNetworkError) -> PodSandboxNetwork {
        let subnet = try subnet.get()
        let store = AddressStore(directory: config.stateDirectory, subnet: subnet)
        let (address, allocatedNow) = try addressLock.withLock { _ throws(PodNetworkError) -> (UInt32, Bool) in
            if let existing = store.address(of: podID) { return (existing, false) }
            return (try store.allocate(podID: podID), true)
        }
        let sandbox = makeSandbox(podID: podID, address: address, subnet: subnet)
        if !allocatedNow, isConfigured(sandbox) { return sandbox }
        do {
            try create(sandbox)
        } catch {
            try? removeSandbox(hostVeth: sandbox.hostVeth, netnsName: sandbox.netnsName)
            if allocatedNow { addressLock.withLock { _ in store.release(podID: podID) } }
            throw error
        }
        return sandbox
    }

    public func tearDown(podID: String) throws(PodNetworkError) {
        let subnet = try subnet.get()
        let names = SandboxNames(podID: podID, config: config)
        try removeSandbox(hostVeth: names.hostVeth, netnsName: names.netnsName)
        let store = AddressStore(directory: config.stateDirectory, subnet: subnet)
        addressLock.withLock { _ in store.release(podID: podID) }
    }

    /// Every pod with an address on record, whether or not its namespace still exists (after a reboot it does
    /// not): setUp rebuilds such a sandbox with the same address, tearDown releases it.
    public func sandboxes() -> [String: PodSandboxNetwork] {
        guard let subnet = try? subnet.get() else { return [:] }
        let records = AddressStore(directory: config.stateDirectory, subnet: subnet).records()
        var sandboxes: [String: PodSandboxNetwork] = [:]
        for (address, podID) in records {
            sandboxes[podID] = makeSandbox(podID: podID, address: address, subnet: subnet)
        }
        return sandboxes
    }

    /// Removes everything this configuration made: pod namespaces (also those without a record), the bridge with
    /// its ports, and the IPAM records.
    public func removeAll() throws(PodNetworkError) {
        let subnet = try subnet.get()
        let store = AddressStore(directory: config.stateDirectory, subnet: subnet)
        var veths = Set(store.records().values.map { SandboxNames(podID: $0, config: config).hostVeth })
        veths.formUnion(try linkNames(["master", config.bridgeName]))
        let namespaces = NetworkNamespace.names(withPrefix: config.netnsPrefix).filter(isOurNamespace)
        if !namespaces.isEmpty {
            try IPCommand.batch(namespaces.map { "netns del \($0)" }, in: nil)
        }
        try IPCommand.batch([.delete("link del dev \(config.bridgeName)")], in: config.hostNamespace)
        // The kernel destroys the namespaces, veths included, in one background batch: 20 take ~70 ms, where
        // deleting the veths one by one takes ~27 ms each. Whatever a process still holds is deleted here.
        let deadline = ContinuousClock.now + .seconds(2)
        var remaining = veths.intersection(try linkNames([]))
        while !remaining.isEmpty && ContinuousClock.now < deadline {
            usleep(10_000)
            remaining.formIntersection(try linkNames([]))
        }
        if !remaining.isEmpty {
            try IPCommand.batch(remaining.sorted().map { .delete("link del dev \($0)") }, in: config.hostNamespace)
        }
        knownBridgeMTU.withLock { $0 = nil }
        addressLock.withLock { _ in store.removeAll() }
    }

    /// The names of the host's links, filtered by `ip link show` arguments (e.g. ["master", bridge]); none when the
    /// filter names a device that does not exist.
    private func linkNames(_ filter: [String]) throws(PodNetworkError) -> Set<String> {
        let output: String
        do {
            output = try IPCommand.run(["-j", "link", "show"] + filter, in: config.hostNamespace)
        } catch {
            if case .commandFailed(_, _, _, let stderr) = error, stderr.contains("does not exist") { return [] }
            throw error
        }
        let links = try? JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]]
        return Set(links?.compactMap { $0["ifname"] as? String } ?? [])
    }

    /// Exactly prefix + a 12-digit id, so that a longer prefix of another agent ("swl-node1-" vs "swl-node1-b-")
    /// is not taken for ours.
    private func isOurNamespace(_ name: String) -> Bool {
        let id = name.dropFirst(config.netnsPrefix.count)
        return id.count == 12 && id.allSatisfy(\.isHexDigit)
    }

    private func makeSandbox(podID: String, address: UInt32, subnet: IPv4Subnet) -> PodSandboxNetwork {
        let names = SandboxNames(podID: podID, config: config)
        return PodSandboxNetwork(
            podID: podID, netnsName: names.netnsName, netnsPath: names.netnsPath, ip: IPv4Subnet.format(address),
            prefixLength: subnet.prefixLength, gateway: IPv4Subnet.format(subnet.gateway), hostVeth: names.hostVeth)
    }

    /// Whether a recorded sandbox is still whole: its namespace lives and eth0 has the address and default route.
    private func isConfigured(_ sandbox: PodSandboxNetwork) -> Bool {
        guard NetworkNamespace.exists(sandbox.netnsName),
              let output = try? IPCommand.batch(
                  ["addr show dev \(PodSandboxNetwork.podInterface)", "route show default"], in: sandbox.netnsName)
        else { return false }
        return output.contains("inet \(sandbox.ip)/\(sandbox.prefixLength) ")
            && output.contains("default via \(sandbox.gateway) dev \(PodSandboxNetwork.podInterface)")
    }

    private func create(_ sandbox: PodSandboxNetwork) throws(PodNetworkError) {
        var mtu = knownBridgeMTU.withLock { $0 }
        if mtu == nil {
            try ensureBridge()
            mtu = knownBridgeMTU.withLock { $0 }
        }
        let podMTU = mtu.map { " mtu \($0)" } ?? ""
        // The remains of a sandbox that is no longer whole, or of a crash during setup, would make the names clash.
        if access(sandbox.netnsPath, F_OK) == 0 {
            try removeSandbox(hostVeth: sandbox.hostVeth, netnsName: sandbox.netnsName)
        }
        let eth0 = PodSandboxNetwork.podInterface
        try IPCommand.batch([
            // A veth whose namespace the kernel has not finished destroying (see removeSandbox) may still hold the name.
            .delete("link del dev \(sandbox.hostVeth)"),
            "netns add \(sandbox.netnsName)",
            "link add name \(sandbox.hostVeth)\(podMTU) type veth peer name \(eth0)\(podMTU) netns \(sandbox.netnsName)",
            "link set dev \(sandbox.hostVeth) master \(config.bridgeName)",
            // Hairpin lets a pod reach itself through a service VIP that DNATs back to it.
            "link set dev \(sandbox.hostVeth) type bridge_slave hairpin on",
            "link set dev \(sandbox.hostVeth) up",
        ], in: config.hostNamespace)
        try IPCommand.batch([
            "link set dev lo up",
            "addr add \(sandbox.ip)/\(sandbox.prefixLength) brd + dev \(eth0)",
            "link set dev \(eth0) up",
            "route add default via \(sandbox.gateway) dev \(eth0)",
        ], in: sandbox.netnsName)
        try NetworkNamespace.writeSysctls(Self.podSysctls, in: sandbox.netnsName)
    }

    /// Deleting a veth waits for RCU grace periods (20-40 ms here), while deleting the namespace's name takes
    /// 2-3 ms and the kernel then destroys it, veth included, in the background. The pod's address is flushed first
    /// so that a process still holding the namespace can never answer for an address that goes to another pod.
    private func removeSandbox(hostVeth: String, netnsName: String) throws(PodNetworkError) {
        if NetworkNamespace.exists(netnsName) {
            try IPCommand.batch([.delete("addr flush dev \(PodSandboxNetwork.podInterface)"), "netns del \(netnsName)"], in: netnsName)
            return
        }
        try IPCommand.batch([.delete("link del dev \(hostVeth)")], in: config.hostNamespace)
        if access(NetworkNamespace.path(netnsName), F_OK) == 0 {
            try IPCommand.batch(["netns del \(netnsName)"], in: nil)
        }
    }
}
