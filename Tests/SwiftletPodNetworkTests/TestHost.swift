import Foundation
import SwiftletSpawn
import Testing
@testable import SwiftletPodNetwork

let isRoot = getuid() == 0

/// A network namespace that plays the host for one test, so that bridges and veths never touch the real host.
/// `with` deletes it and every pod namespace made under its prefix, whether the test passed or not.
struct TestHost {
    /// "swltest-<pid>-<tag>-": pod namespaces get this prefix; the host namespace is prefix + "host".
    let prefix: String
    let name: String
    let stateRoot: String

    static func with(_ tag: String, _ body: (TestHost) throws -> Void) throws {
        let prefix = "swltest-\(getpid())-\(tag)-"
        let host = TestHost(prefix: prefix, name: prefix + "host", stateRoot: NSTemporaryDirectory() + prefix + UUID().uuidString)
        defer { host.cleanUp() }
        try ip(["netns", "add", host.name])
        try ip(["-n", host.name, "link", "set", "dev", "lo", "up"])
        // A new namespace copies the machine's IPv4 settings, and a node agent that ran here turned forwarding on:
        // start from a host that does not forward, as a fresh machine.
        _ = try exec(in: host.name, ["/usr/sbin/sysctl", "-qw", "net.ipv4.ip_forward=0"])
        try body(host)
    }

    func config(bridge: String = "swltest0", cidr: String, tag: String = "a") -> PodNetworkConfig {
        PodNetworkConfig(
            bridgeName: bridge, podCIDR: cidr, stateDirectory: stateRoot + "/" + tag,
            netnsPrefix: prefix + tag + "-", hostNamespace: name)
    }

    private func cleanUp() {
        for namespace in NetworkNamespace.names(withPrefix: prefix) {
            _ = try? Command.run([IPCommand.executable, "netns", "del", namespace])
        }
        try? FileManager.default.removeItem(atPath: stateRoot)
    }
}

/// Runs `ip ARGS` and returns its output, failing the test with its stderr otherwise.
@discardableResult
func ip(_ arguments: [String]) throws -> String {
    let result = try Command.run([IPCommand.executable] + arguments)
    guard result.status == 0 else {
        throw PodNetworkError.commandFailed(command: "ip " + arguments.joined(separator: " "), failedCommand: nil, status: result.status, stderr: result.stderr)
    }
    return result.stdout
}

/// `ip -j ARGS` decoded.
func ipJSON(_ arguments: [String]) throws -> [[String: Any]] {
    let output = try ip(["-j"] + arguments)
    return try #require(JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]])
}

/// Runs a command inside a namespace.
func exec(in namespace: String, _ command: [String]) throws -> CommandOutput {
    try Command.run([IPCommand.executable, "netns", "exec", namespace] + command)
}

func readSysctl(_ key: String, in namespace: String) throws -> String {
    try exec(in: namespace, ["cat", "/proc/sys/" + key]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
}

/// A command left running inside a namespace; `stop` kills it by its PID.
final class BackgroundCommand {
    let process = Process()

    init(in namespace: String, _ command: [String]) throws {
        process.executableURL = URL(fileURLWithPath: IPCommand.executable)
        // `ip netns exec` execs the command, so the PID is the command's own.
        process.arguments = ["netns", "exec", namespace] + command
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // `ip netns exec` enters the namespace after it starts: until then /proc/PID/ns/net is
        // the host's, and a test that joins the process there would look in the wrong place.
        let deadline = Date().addingTimeInterval(5)
        while Self.netnsInode("/proc/\(process.processIdentifier)/ns/net") != Self.netnsInode("/run/netns/\(namespace)") {
            guard process.isRunning, Date() < deadline else {
                stop()
                throw PodNetworkError.commandFailed(command: command.joined(separator: " "), failedCommand: nil, status: -1,
                                                    stderr: "did not enter network namespace \(namespace) within 5 s")
            }
            usleep(2_000)
        }
    }

    private static func netnsInode(_ path: String) -> ino_t? {
        var info = stat()
        return stat(path, &info) == 0 ? info.st_ino : nil
    }

    func stop() {
        guard process.isRunning else { return }
        // SIGKILL: Process starts the child with the spawning thread's signal mask, which may block SIGTERM.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

/// A busybox httpd serving one file, `/hello`, inside a namespace.
final class HelloServer {
    let directory = NSTemporaryDirectory() + "swltest-httpd-" + UUID().uuidString
    private var command: BackgroundCommand?

    init(in namespace: String, address: String, port: Int, body: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try body.write(toFile: directory + "/hello", atomically: true, encoding: .utf8)
        command = try BackgroundCommand(in: namespace, ["busybox", "httpd", "-f", "-p", "\(address):\(port)", "-h", directory])
    }

    func stop() {
        command?.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// Fetches http://address:port/hello from inside a namespace, retrying while the server starts.
func fetchHello(from namespace: String, address: String, port: Int) throws -> String {
    var last: CommandOutput?
    for _ in 0..<50 {
        let attempt = try exec(in: namespace, ["curl", "-s", "--max-time", "2", "http://\(address):\(port)/hello"])
        if attempt.status == 0 { return attempt.stdout }
        last = attempt
        usleep(20_000)
    }
    return "curl failed with status \(last?.status ?? -1): \(last?.stderr ?? "")"
}

/// Polls for up to five seconds.
func eventually(_ condition: () throws -> Bool) rethrows -> Bool {
    for _ in 0..<250 {
        if try condition() { return true }
        usleep(20_000)
    }
    return try condition()
}
