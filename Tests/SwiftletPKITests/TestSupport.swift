import Foundation
import SwiftletPKI

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs `body` with a fresh private directory and removes it afterwards, so tests never share state.
func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    var template = Array((NSTemporaryDirectory() + "/swiftlet-pki-test-XXXXXX").utf8CString)
    guard let created = mkdtemp(&template) else {
        throw FileSystemError(operation: "mkdtemp", path: NSTemporaryDirectory(), code: errno)
    }
    let path = String(cString: created)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

/// The absolute path of an executable on PATH, used to skip tests whose tool is absent.
func executablePath(_ name: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for directory in path.split(separator: ":") {
        let candidate = "\(directory)/\(name)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
}

struct CommandResult {
    var status: Int32
    var output: String
}

/// Runs a command, capturing stdout and stderr together.
func run(_ executable: String, _ arguments: [String]) throws -> CommandResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return CommandResult(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
}

/// Serving names as the server would request them, with a fixed host name for determinism.
func testServingNames(extra: [String] = ["192.0.2.10"]) throws -> CertificateNames {
    try CertificateNames.apiServer(serviceIP: "10.43.0.1", hostNames: ["node-a.example.test"], extra: extra)
}
