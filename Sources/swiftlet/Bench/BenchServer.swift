import Foundation
import NIOHTTP1
import SwiftletAPIServer
import SwiftletClient
import SwiftletPKI

/// A `swiftlet server` child process for a benchmark, with its TLS trust and two identities:
/// the admin (system:masters, never checked by RBAC) and `bench-user`, a user with a client
/// certificate of the cluster CA whom RBAC authorizes through a RoleBinding to `edit` in
/// `default`.
final class BenchServer: @unchecked Sendable {
    let process: Process
    let port: Int
    let transport: HTTPSTransport
    let userTransport: HTTPSTransport
    let readyMillis: Int

    var pid: Int32 { process.processIdentifier }

    /// The benchmark's RBAC-authorized user.
    static let user = "bench-user"

    private init(process: Process, port: Int, transport: HTTPSTransport, userTransport: HTTPSTransport, readyMillis: Int) {
        self.process = process
        self.port = port
        self.transport = transport
        self.userTransport = userTransport
        self.readyMillis = readyMillis
    }

    /// Sends one request; the benchmark reads status and bytes, never decoding on the hot path.
    func send(_ method: HTTPMethod, _ uri: String, _ body: [UInt8]? = nil, asUser: Bool = false) async -> (status: Int, body: [UInt8]) {
        let headers: HTTPHeaders = ["Accept": "application/json", "Content-Type": "application/json"]
        let response = await (asUser ? userTransport : transport).send(HTTPRequest(method: method, uri: uri, headers: headers, body: body ?? []))
        guard case .bytes(let bytes) = response.body else { return (Int(response.status.code), []) }
        return (Int(response.status.code), bytes)
    }

    /// Opens a watch and calls `onLine` for every event line until it returns false.
    func watch(_ uri: String, onLine: ([UInt8]) -> Bool) async throws {
        let response = await transport.send(HTTPRequest(method: .GET, uri: uri, headers: ["Accept": "application/json"], body: []))
        guard case .stream(let chunks) = response.body else { throw BenchError("watch answered \(response.status.code)") }
        var pending: [UInt8] = []
        for await chunk in chunks {
            pending += chunk
            while let newline = pending.firstIndex(of: 0x0A) {
                let line = Array(pending[..<newline])
                pending.removeFirst(newline + 1)
                if !onLine(line) { return }
            }
        }
    }

    static func start(dataDir: String, datastore: String?, extraArguments: [String] = []) async throws -> BenchServer {
        let port = Int.random(in: 20000...29999)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
        // No node agent: these benchmarks measure the control plane, and a real node would try
        // to run every pod they create (bench/pod-startup.py measures the node).
        process.arguments = ["server", "--data-dir", dataDir, "--port", String(port), "--disable-agent"]
            + (datastore.map { ["--datastore", $0] } ?? []) + extraArguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let started = ContinuousClock.now
        try process.run()
        let layout = PKILayout(dataDirectory: dataDir)
        let kubeconfig = dataDir + "/kubeconfig.yaml"
        func waitWhileStarting() async throws {
            guard process.isRunning else { throw BenchError("the server exited during start-up") }
            if ContinuousClock.now - started > .seconds(60) { throw BenchError("the server did not start") }
            try await Task.sleep(for: .milliseconds(2))
        }
        // A restarted server finds its credentials in place: ready is when /readyz says so.
        while !FileManager.default.fileExists(atPath: kubeconfig) { try await waitWhileStarting() }
        let token = try String(contentsOfFile: layout.adminTokenPath, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let ca = try String(contentsOfFile: layout.caCertificatePath, encoding: .utf8)
        let transport = try HTTPSTransport(host: "127.0.0.1", port: port, caCertificatePEM: ca, token: token, maxIdleConnections: 64)
        let user = try ClusterPKI.loadAuthority(dataDirectory: dataDir).issue(commonName: Self.user, organizations: [], purposes: .client,
                                                                             validity: 24 * 3600)
        let userTransport = try HTTPSTransport(host: "127.0.0.1", port: port, caCertificatePEM: ca, clientCertificatePEM: user.certificatePEM,
                                               clientKeyPEM: user.privateKeyPEM, maxIdleConnections: 64)
        while await transport.send(HTTPRequest(method: .GET, uri: "/readyz", headers: [:], body: [])).status != .ok {
            try await waitWhileStarting()
        }
        let readyMillis = Int((ContinuousClock.now - started).milliseconds)
        let server = BenchServer(process: process, port: port, transport: transport, userTransport: userTransport, readyMillis: readyMillis)
        let binding = #"{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{"name":"bench-user-edit"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"edit"},"subjects":[{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"\#(Self.user)"}]}"#
        let bound = await server.send(.POST, "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings", Array(binding.utf8))
        guard bound.status == 201 || bound.status == 409 else { throw BenchError("binding \(Self.user) answered \(bound.status)") }
        return server
    }

    private func status(_ field: String) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "0") ?? 0
        }
        return 0
    }

    func rssKiB() -> Int { status("VmRSS") }
    func peakRSSKiB() -> Int { status("VmHWM") }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
