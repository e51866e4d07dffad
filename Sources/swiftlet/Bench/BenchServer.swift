import Foundation
import NIOSSL
import SwiftletPKI

/// A `swiftlet server` child process for a benchmark, with its TLS trust and admin token.
final class BenchServer: @unchecked Sendable {
    let process: Process
    let port: Int
    let tls: NIOSSLContext
    let token: String
    let readyMillis: Int

    var pid: Int32 { process.processIdentifier }

    private init(process: Process, port: Int, tls: NIOSSLContext, token: String, readyMillis: Int) {
        self.process = process
        self.port = port
        self.tls = tls
        self.token = token
        self.readyMillis = readyMillis
    }

    static func start(dataDir: String, datastore: String?, extraArguments: [String] = []) async throws -> BenchServer {
        let port = Int.random(in: 20000...29999)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
        process.arguments = ["server", "--data-dir", dataDir, "--port", String(port)] + (datastore.map { ["--datastore", $0] } ?? []) + extraArguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let started = ContinuousClock.now
        try process.run()
        let layout = PKILayout(dataDirectory: dataDir)
        let kubeconfig = dataDir + "/kubeconfig.yaml"
        while !FileManager.default.fileExists(atPath: kubeconfig) {
            guard process.isRunning else { throw BenchError("the server exited during start-up") }
            if ContinuousClock.now - started > .seconds(30) { throw BenchError("the server did not start") }
            try await Task.sleep(for: .milliseconds(5))
        }
        let readyMillis = Int((ContinuousClock.now - started).milliseconds)
        var config = TLSConfiguration.makeClientConfiguration()
        config.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(layout.caCertificatePath))
        config.certificateVerification = .noHostnameVerification
        let token = try String(contentsOfFile: layout.adminTokenPath, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        return BenchServer(process: process, port: port, tls: try NIOSSLContext(configuration: config), token: token, readyMillis: readyMillis)
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
