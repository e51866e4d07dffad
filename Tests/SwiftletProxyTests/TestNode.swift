import Foundation
import SwiftletPodNetwork
import SwiftletSpawn
import Synchronization
import Testing
@testable import SwiftletProxy

let isRoot = getuid() == 0

/// A network namespace that plays a node's host for one test, with pods on bridges inside it, small servers in
/// the pods, and an "outside" machine on a veth. `with` kills every process it started (by PID) and deletes
/// every namespace made under its prefix, whether the test passed or not.
final class TestNode: Sendable {
    /// "swlpx-<pid>-<tag>-": the host namespace is prefix + "host", pod namespaces start with prefix + a tag.
    let prefix: String
    let host: String
    let stateRoot: String
    private let processes = Mutex<[pid_t]>([])

    /// The outside machine's link: the host end has `uplinkAddress`, the outside end `outsideAddress`.
    static let uplink = "swlpxup"
    static let uplinkAddress = "172.31.250.1"
    static let outsideAddress = "172.31.250.2"
    var outside: String { prefix + "outside" }
    private var serverScript: String { stateRoot + "/server.py" }
    private var udpClientScript: String { stateRoot + "/udp_client.py" }

    private init(tag: String) {
        prefix = "swlpx-\(getpid())-\(tag)-"
        host = prefix + "host"
        stateRoot = NSTemporaryDirectory() + prefix + UUID().uuidString
    }

    static func with(_ tag: String, _ body: (TestNode) throws -> Void) throws {
        let node = TestNode(tag: tag)
        defer { node.cleanUp() }
        try FileManager.default.createDirectory(atPath: node.stateRoot, withIntermediateDirectories: true)
        try TestScripts.server.write(toFile: node.serverScript, atomically: true, encoding: .utf8)
        try TestScripts.udpClient.write(toFile: node.udpClientScript, atomically: true, encoding: .utf8)
        try run(["/sbin/ip", "netns", "add", node.host])
        try run(["/sbin/ip", "-n", node.host, "link", "set", "dev", "lo", "up"])
        // A new namespace copies the machine's IPv4 settings, and a node agent that ran here turned forwarding on:
        // start from a host that does not forward, as a fresh machine.
        _ = try run(in: node.host, ["/usr/sbin/sysctl", "-qw", "net.ipv4.ip_forward=0"])
        try body(node)
    }

    func podNetwork(bridge: String, cidr: String, tag: String) -> PodNetwork {
        PodNetwork(config: PodNetworkConfig(
            bridgeName: bridge, podCIDR: cidr, stateDirectory: stateRoot + "/" + tag, netnsPrefix: prefix + tag + "-",
            hostNamespace: host))
    }

    func proxyConfig(table: String, bridge: String, bridgeAddress: String, clusterCIDR: String = "10.199.0.0/16") -> ServiceProxyConfig {
        ServiceProxyConfig(
            tableName: table, bridgeName: bridge, bridgeAddress: bridgeAddress, clusterCIDR: clusterCIDR,
            serviceCIDR: "10.43.0.0/16", hostNamespace: host)
    }

    /// An outside machine on a veth to the host: the host's address on it is one of its "local addresses", and
    /// the outside namespace is a client from beyond the node.
    func addOutsideMachine() throws {
        try run(["/sbin/ip", "netns", "add", outside])
        try run(["/sbin/ip", "-n", host, "link", "add", Self.uplink, "type", "veth", "peer", "name", "eth0", "netns", outside])
        try run(["/sbin/ip", "-n", host, "addr", "add", Self.uplinkAddress + "/24", "dev", Self.uplink])
        try run(["/sbin/ip", "-n", host, "link", "set", "dev", Self.uplink, "up"])
        for command in [["link", "set", "dev", "lo", "up"], ["addr", "add", Self.outsideAddress + "/24", "dev", "eth0"],
                        ["link", "set", "dev", "eth0", "up"], ["route", "add", "default", "via", Self.uplinkAddress]] {
            try run(["/sbin/ip", "-n", outside] + command)
        }
    }

    /// Starts the echo server in a namespace; it answers "<name> <client address>" over TCP (HTTP) and UDP.
    func startServer(in namespace: String, name: String, port: Int = 8080, bind: String = "0.0.0.0") throws {
        let pid = try Self.spawn(["/sbin/ip", "netns", "exec", namespace, "/usr/bin/python3", serverScript, name, "\(port)", bind])
        processes.withLock { $0.append(pid) }
    }

    /// Waits until the server answers at address:port, asked from `namespace`.
    func waitForServer(at address: String, port: Int = 8080, from namespace: String) throws {
        for _ in 0..<100 {
            if try fetch(from: namespace, "http://\(address):\(port)/").status == 0 { return }
            usleep(20_000)
        }
        Issue.record("no server answered at \(address):\(port)")
    }

    /// A UDP request from a fixed source port; the reply's text, or "ERR <Python exception name>".
    func udpRequest(from namespace: String, to address: String, port: Int, sourcePort: Int) throws -> String {
        let output = try Command.run(["/sbin/ip", "netns", "exec", namespace, "/usr/bin/python3", udpClientScript, address, "\(port)", "\(sourcePort)"])
        return output.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func cleanUp() {
        for pid in processes.withLock({ $0 }) {
            kill(pid, SIGKILL)
            _ = Spawn.wait(pid)
        }
        let namespaces = (try? FileManager.default.contentsOfDirectory(atPath: "/var/run/netns")) ?? []
        for namespace in namespaces where namespace.hasPrefix(prefix) {
            _ = try? Command.run(["/sbin/ip", "netns", "del", namespace])
        }
        try? FileManager.default.removeItem(atPath: stateRoot)
    }

    private static func spawn(_ argv: [String]) throws -> pid_t {
        let devNull = open("/dev/null", O_RDWR | O_CLOEXEC)
        defer { close(devNull) }
        switch Spawn.start(argv, stdin: devNull, stdout: devNull, stderr: devNull) {
        case .success(let pid): return pid
        case .failure(let error): throw error
        }
    }
}

/// What one client request got.
struct Reply {
    var status: Int32
    var body: String
    var seconds: Double
    /// The server's name and the client address it saw.
    var server: String { String(body.split(separator: " ").first ?? "") }
    var clientSeen: String { String(body.split(separator: " ").dropFirst().first ?? "") }
}

/// `curl` from inside a namespace: exit status 7 is "connection refused", 28 a timeout.
func fetch(from namespace: String, _ url: String, timeout: Double = 2, extra: [String] = []) throws -> Reply {
    let start = ContinuousClock.now
    let output = try Command.run(["/sbin/ip", "netns", "exec", namespace, "/usr/bin/curl", "-s", "--max-time", "\(timeout)"] + extra + [url])
    let elapsed = ContinuousClock.now - start
    return Reply(status: output.status, body: output.stdout,
                 seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
}

/// The servers that answered `count` successive requests, in order.
func servers(from namespace: String, _ url: String, count: Int = 4) throws -> [String] {
    try (0..<count).map { _ in
        let reply = try fetch(from: namespace, url)
        return reply.status == 0 ? reply.server : "curl exit \(reply.status)"
    }
}

/// Runs a command that must succeed and returns its output.
@discardableResult
func run(_ argv: [String], input: String = "") throws -> String {
    let output = try Command.run(argv, input: input)
    guard output.status == 0 else {
        throw ServiceProxyError.commandFailed(command: argv.joined(separator: " "), status: output.status, stderr: output.stderr)
    }
    return output.stdout
}

/// `ip netns exec NAMESPACE ARGV` that must succeed.
@discardableResult
func run(in namespace: String, _ argv: [String], input: String = "") throws -> String {
    try run(["/sbin/ip", "netns", "exec", namespace] + argv, input: input)
}

/// The two Python programs the tests run.
enum TestScripts {
    /// HTTP over TCP and a datagram echo over UDP on one port, both answering "<name> <client address>".
    static let server = """
        import socket, sys, threading
        name, port, bind = sys.argv[1], int(sys.argv[2]), sys.argv[3]
        def udp():
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.bind((bind, port))
            while True:
                data, peer = u.recvfrom(4096)
                u.sendto((name + " " + peer[0]).encode(), peer)
        threading.Thread(target=udp, daemon=True).start()
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((bind, port))
        s.listen(64)
        while True:
            c, peer = s.accept()
            try:
                c.recv(4096)
                body = (name + " " + peer[0]).encode()
                c.sendall(b"HTTP/1.0 200 OK\\r\\nContent-Length: %d\\r\\n\\r\\n" % len(body) + body)
            except OSError:
                pass
            finally:
                c.close()
        """

    /// Sends one datagram from a fixed source port to a connected address and prints the reply.
    static let udpClient = """
        import socket, sys
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.settimeout(1)
        s.bind(("0.0.0.0", int(sys.argv[3])))
        s.connect((sys.argv[1], int(sys.argv[2])))
        s.send(b"ping")
        try:
            print(s.recv(4096).decode())
        except Exception as e:
            print("ERR", type(e).__name__)
        """
}
