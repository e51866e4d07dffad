#if canImport(Glibc)
import Glibc
#endif
import SwiftletSpawn

/// The node's side of the proxy outside nft: the commands and sysctls of the host (or of the namespace that plays
/// it), the bridge's `route_localnet` and the route for the service CIDR.
struct HostNetwork: Sendable {
    /// A validated configuration.
    let config: ServiceProxyConfig

    func run(_ argv: [String], input: String = "") throws(ServiceProxyError) -> CommandOutput {
        try NamespaceThread.run(in: config.hostNamespace) { () throws(ServiceProxyError) in
            do throws(CommandFailure) {
                return try Command.run(argv, input: input)
            } catch {
                throw .system(operation: error.operation, errno: error.errno)
            }
        }
    }

    /// Runs a command that must succeed.
    func check(_ argv: [String], input: String = "") throws(ServiceProxyError) {
        let output = try run(argv, input: input)
        guard output.status == 0 else { throw failure(argv, output) }
    }

    func failure(_ argv: [String], _ output: CommandOutput) -> ServiceProxyError {
        .commandFailed(command: argv.joined(separator: " ") + (config.hostNamespace.map { " (in netns \($0))" } ?? ""),
                       status: output.status, stderr: output.stderr)
    }

    /// What every apply makes sure of, cheaply enough to redo each time (a bridge that was re-created has lost its
    /// sysctl and its route).
    func prepare() throws(ServiceProxyError) {
        let bridge = config.bridgeName
        try NamespaceThread.run(in: config.hostNamespace) { () throws(ServiceProxyError) in
            // DNAT of 127.0.0.1 to a pod sends a packet with a loopback source out of the bridge, and its replies
            // come back to a loopback destination: both are martians unless the bridge allows them (as the CNI
            // portmap plugin sets it). A guard in filter-prerouting keeps pods from using this to reach 127.0.0.1.
            try Sysctl.write("net/ipv4/conf/\(bridge)/route_localnet", "1", what: "enable route_localnet on the bridge \(bridge)")
            // Replies from a pod to a pod on the same bridge are bridged, not routed: without this they skip
            // conntrack and are never un-DNATed. Linux's default, which some hosts turn off.
            if Sysctl.read("net/bridge/bridge-nf-call-iptables") == "0" {
                try Sysctl.write("net/bridge/bridge-nf-call-iptables", "1", what: "enable bridge-nf-call-iptables")
            }
            // A node routes for its pods, as kubeadm and k3s require: replies to pods' outbound connections, and
            // NodePort and LoadBalancer connections from other machines, arrive on the uplink and are forwarded to
            // the bridge, which Linux allows only when the interface they arrive on forwards.
            if Sysctl.read("net/ipv4/ip_forward") != "1" {
                try Sysctl.write("net/ipv4/ip_forward", "1", what: "enable IPv4 forwarding")
            }
        }
        try ensureServiceRoute()
    }

    /// Host processes reach ClusterIPs through the bridge whatever the default route is (or if there is none),
    /// with the bridge's address as their source. Another agent's route for the same CIDR is left alone.
    private func ensureServiceRoute() throws(ServiceProxyError) {
        let show = [config.ipPath, "-4", "route", "show", "exact", config.serviceCIDR]
        let existing = try run(show)
        guard existing.status == 0 else { throw failure(show, existing) }
        guard existing.stdout.allSatisfy(\.isWhitespace) else { return }
        let add = [config.ipPath, "route", "add", config.serviceCIDR, "dev", config.bridgeName, "src", config.bridgeAddress]
        let added = try run(add)
        // Another agent may have added its own between our look and our add.
        guard added.status == 0 || added.stderr.contains("File exists") else { throw failure(add, added) }
    }

    /// Deletes the service CIDR route only when it goes through our bridge: any other is another agent's.
    func removeServiceRoute() throws(ServiceProxyError) {
        let delete = [config.ipPath, "route", "del", config.serviceCIDR, "dev", config.bridgeName]
        let output = try run(delete)
        let absent = ["No such process", "Cannot find device", "does not exist"]
        guard output.status == 0 || absent.contains(where: output.stderr.contains) else { throw failure(delete, output) }
    }
}

/// Sysctls as files under /proc/sys, which shows the calling thread's network namespace.
enum Sysctl {
    static func read(_ key: String) -> String? {
        let fd = open("/proc/sys/" + key, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard n >= 0 else { return nil }
        return String(decoding: buffer[0..<n], as: UTF8.self).trimmingWhitespace
    }

    static func write(_ key: String, _ value: String, what: String) throws(ServiceProxyError) {
        let fd = open("/proc/sys/" + key, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .system(operation: "\(what) (/proc/sys/\(key))", errno: errno) }
        defer { close(fd) }
        let bytes = Array(value.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else { throw .system(operation: "\(what) (/proc/sys/\(key))", errno: written < 0 ? errno : EIO) }
    }
}

extension String {
    var trimmingWhitespace: String {
        String(self.drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
