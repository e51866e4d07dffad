import Foundation
import Glibc
import Testing
@testable import SwiftletRuntime

/// A runtime on fresh directories with its own cgroup subtree, for one test. `cleanUp()` removes
/// every container it made, its directories and the cgroup subtree.
struct RuntimeFixture {
    let name: String
    let root: String
    let runtime: ContainerRuntime
    /// `/swiftlet-test/<name>`: each test's containers live below it.
    let cgroupParent: String

    /// A root filesystem for the test's containers: Debian's static busybox with its applets.
    let image: String

    init(logMaxBytes: Int = 10 * 1024 * 1024) {
        name = "t" + String(UUID().uuidString.prefix(8)).lowercased()
        root = "/run/swiftlet-test/" + name
        cgroupParent = "/swiftlet-test/" + name
        image = root + "/image"
        runtime = ContainerRuntime(
            stateDirectory: root + "/containers", runcRoot: root + "/runc", shimPath: Self.shimPath,
            runcPath: "/usr/sbin/runc", logMaxBytes: logMaxBytes)
        Self.makeBusyboxRoot(image)
    }

    /// bin/busybox and a link per applet, /etc/passwd, and the folders tests use.
    static func makeBusyboxRoot(_ path: String) {
        let manager = FileManager.default
        for directory in ["bin", "sbin", "usr/bin", "usr/sbin", "usr/share", "etc", "tmp", "proc", "sys", "dev"] {
            try? manager.createDirectory(atPath: path + "/" + directory, withIntermediateDirectories: true)
        }
        try? manager.copyItem(atPath: "/bin/busybox", toPath: path + "/bin/busybox")
        let list = Process()
        list.executableURL = URL(fileURLWithPath: "/bin/busybox")
        list.arguments = ["--list-full"]
        let pipe = Pipe()
        list.standardOutput = pipe
        try? list.run()
        let applets = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        list.waitUntilExit()
        for applet in applets.split(separator: "\n") where applet != "bin/busybox" {
            try? manager.createSymbolicLink(atPath: path + "/" + applet, withDestinationPath: "/bin/busybox")
        }
        try? "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n".write(toFile: path + "/etc/passwd", atomically: true, encoding: .utf8)
        try? "root:x:0:\nnogroup:x:65534:\n".write(toFile: path + "/etc/group", atomically: true, encoding: .utf8)
    }

    /// Another runtime instance on the same directories, as after an agent restart.
    func restartedRuntime() -> ContainerRuntime {
        ContainerRuntime(stateDirectory: runtime.stateDirectory, runcRoot: runtime.runcRoot, shimPath: Self.shimPath,
                         runcPath: runtime.runcPath, logMaxBytes: runtime.logMaxBytes)
    }

    func spec(_ id: String, _ args: [String]) -> ContainerSpec {
        ContainerSpec(id: name + "-" + id, args: args, env: ["PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"],
                      hostname: id, rootfsLowerDirectories: [image], cgroupsPath: cgroupParent + "/pod1/" + id,
                      logPath: root + "/logs/" + id + ".log")
    }

    func cleanUp() {
        for id in runtime.containerIDs() { runtime.remove(id: id) }
        try? FileManager.default.removeItem(atPath: root)
        rmdir((root as NSString).deletingLastPathComponent)
        CgroupHierarchies().removeWithEmptyParents(cgroupParent)
    }

    /// swiftlet-shim is built next to the test bundle; SWIFTLET_SHIM names another build (a release one, to measure it).
    static let shimPath: String = {
        if let path = ProcessInfo.processInfo.environment["SWIFTLET_SHIM"] { return path }
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: executable).deletingLastPathComponent().appendingPathComponent("swiftlet-shim").path
    }()
}

extension ContainerRuntime {
    /// Polls until the container is no longer running (or `seconds` pass) and returns its state.
    func waitForExit(_ id: String, seconds: Double = 20) async -> ContainerState {
        let deadline = Date().addingTimeInterval(seconds)
        while state(id: id).isRunning, Date() < deadline { try? await Task.sleep(for: .milliseconds(10)) }
        return state(id: id)
    }
}

/// The container log as lines of `(stream, tag, text)`.
func criRecords(_ path: String) -> [(stream: String, tag: String, text: String)] {
    let content = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    return content.split(separator: "\n").map { line in
        let fields = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
        return (fields[1], fields[2], fields.count > 3 ? fields[3] : "")
    }
}

func exitCode(_ state: ContainerState) -> Int32? {
    if case .exited(let code, _, _, _) = state { return code }
    return nil
}

/// Lines of /proc/self/mountinfo that mention `path`.
func mounts(containing path: String) -> [String] {
    // procfs files report a size of 0, so read them to end of file rather than by their size.
    String(decoding: LinuxCalls.readFile("/proc/self/mountinfo") ?? [], as: UTF8.self).split(separator: "\n")
        .map(String.init).filter { $0.contains(path) }
}

/// Collects an exec'd process's stream into a string.
func collect(_ stream: AsyncStream<[UInt8]>) async -> String {
    var bytes = [UInt8]()
    for await chunk in stream { bytes += chunk }
    return String(decoding: bytes, as: UTF8.self)
}
