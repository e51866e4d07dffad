import Foundation
import SwiftletSpawn
import Glibc
import SwiftletMachinery
import Synchronization

/// Runs containers with runc, one swiftlet-shim per container (as CRI-O does with conmon).
///
/// Everything about a container lives in its bundle directory, `stateDirectory/<id>`, and in
/// runc's state under `runcRoot`; the runtime keeps nothing in memory, so a new instance on the
/// same directories (after the agent restarts) sees the same containers.
public final class ContainerRuntime: Sendable {
    public let stateDirectory: String
    public let runcRoot: String
    public let shimPath: String
    public let runcPath: String
    /// Each container's log file is rotated when it would grow past this (one old file is kept).
    public let logMaxBytes: Int

    private let cgroups = CgroupHierarchies()
    /// Serializes creating a container's cgroups with removing another's empty parents.
    private let cgroupTree = Mutex(())

    /// How long `start` waits for the shim's report before giving up on it.
    private static let startTimeoutMilliseconds: Int32 = 120_000

    public init(stateDirectory: String, runcRoot: String, shimPath: String, runcPath: String = "runc",
                logMaxBytes: Int = 10 * 1024 * 1024) {
        self.stateDirectory = stateDirectory
        self.runcRoot = runcRoot
        self.shimPath = shimPath
        self.runcPath = Self.resolveExecutable(runcPath)
        self.logMaxBytes = logMaxBytes
        try? FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        // Writing to an exec'd process's stdin after it exited must fail with EPIPE, not kill the agent.
        signal(SIGPIPE, SIG_IGN)
    }

    // MARK: - Start

    /// Prepares the root filesystem and config.json, launches the shim and waits until
    /// `runc start` has succeeded. On failure nothing is left behind and the error carries
    /// runc's message: `.createFailed` (the kubelet's CreateContainerError) or `.startFailed`
    /// (RunContainerError).
    public func start(_ spec: ContainerSpec) throws(RuntimeError) -> ContainerState {
        try Self.validate(spec)
        let bundle = bundle(spec.id)
        guard mkdir(bundle.directory, 0o700) == 0 else {
            if errno == EEXIST { throw RuntimeError(.alreadyExists, "container \(spec.id) already exists") }
            throw RuntimeError(.system, "cannot create \(bundle.directory): \(LinuxCalls.errorText())")
        }
        do throws(RuntimeError) {
            try OverlayRootFilesystem.mount(lowers: spec.rootfsLowerDirectories, bundle: bundle)
            try write(JSONWriter.write(OCIConfiguration.make(spec)), to: bundle.config)
            let logDirectory = (spec.logPath as NSString).deletingLastPathComponent
            try? FileManager.default.createDirectory(atPath: logDirectory, withIntermediateDirectories: true)
            let created: Result<Void, RuntimeError> = cgroupTree.withLock { _ in
                Result { () throws(RuntimeError) in try cgroups.create(spec.cgroupsPath) }
            }
            try created.get()
            try launchShim(spec, bundle)
            guard let started = bundle.readStarted() else {
                throw RuntimeError(.startFailed, "the shim reported a start but wrote no state")
            }
            return .running(pid: started.container.pid, startedAt: started.startedAt)
        } catch {
            remove(id: spec.id, cgroupsPath: spec.cgroupsPath)
            throw error
        }
    }

    /// Starts the shim with its stdout and stderr on a pipe and reads its one report: `ok`, or
    /// `create-failed`/`start-failed` followed by runc's error.
    private func launchShim(_ spec: ContainerSpec, _ bundle: ContainerBundle) throws(RuntimeError) {
        var arguments = [
            shimPath, "--id", spec.id, "--bundle", bundle.directory, "--runc", runcPath, "--runc-root", runcRoot,
            "--log", spec.logPath, "--log-max-bytes", String(logMaxBytes),
        ]
        if let memory = cgroups.memory { arguments += ["--oom-control", memory + spec.cgroupsPath + "/memory.oom_control"] }

        guard let report = Spawn.pipe() else { throw RuntimeError(.system, "cannot create a pipe: \(LinuxCalls.errorText())") }
        defer { close(report.read) }
        let devNull = open("/dev/null", O_RDONLY | O_CLOEXEC)
        defer { close(devNull) }
        let shim: ChildProcess
        do {
            shim = try ChildProcess(arguments, stdin: devNull, stdout: report.write, stderr: report.write)
        } catch {
            close(report.write)
            throw error
        }
        close(report.write)
        // The first shim process only forks the real one and exits.
        _ = shim.wait()

        var descriptor = pollfd(fd: report.read, events: Int16(POLLIN), revents: 0)
        var text = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let ready = poll(&descriptor, 1, Self.startTimeoutMilliseconds)
            if ready < 0, errno == EINTR { continue }
            guard ready > 0 else { throw RuntimeError(.startFailed, "timed out waiting for the container to start") }
            let n = read(report.read, &buffer, buffer.count)
            if n < 0, errno == EINTR { continue }
            if n <= 0 { break }
            text += buffer[0..<n]
        }
        let lines = String(decoding: text, as: UTF8.self).split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
        let message = lines.count > 1 ? lines[1].trimmingCharacters(in: .whitespacesAndNewlines) : ""
        switch lines.first ?? "" {
        case "ok": return
        case "create-failed": throw RuntimeError(.createFailed, "OCI runtime create failed: " + message)
        case "start-failed": throw RuntimeError(.startFailed, "OCI runtime start failed: " + message)
        default: throw RuntimeError(.startFailed, "swiftlet-shim failed: " + String(decoding: text, as: UTF8.self))
        }
    }

    // MARK: - State

    /// Read from the bundle and /proc, without running runc.
    public func state(id: String) -> ContainerState {
        guard Self.isValidID(id) else { return .unknown }
        let bundle = bundle(id)
        if let exit = bundle.readExit() {
            return .exited(code: exit.code, startedAt: bundle.readStarted()?.startedAt, finishedAt: exit.finishedAt,
                           oomKilled: exit.oomKilled)
        }
        if let started = bundle.readStarted() {
            // Until the shim has recorded the exit, a container whose init is gone still counts as running.
            if started.container.isAlive || started.shim.isAlive {
                return .running(pid: started.container.pid, startedAt: started.startedAt)
            }
            if let exit = bundle.readExit() {
                return .exited(code: exit.code, startedAt: started.startedAt, finishedAt: exit.finishedAt, oomKilled: exit.oomKilled)
            }
            return .unknown
        }
        return FileManager.default.fileExists(atPath: bundle.config) ? .created : .unknown
    }

    /// Every container with a bundle, running or not: what an agent re-adopts after a restart.
    public func containerIDs() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: stateDirectory)) ?? []
        return names.filter { name in
            var isDirectory: ObjCBool = false
            return Self.isValidID(name)
                && FileManager.default.fileExists(atPath: stateDirectory + "/" + name, isDirectory: &isDirectory)
                && isDirectory.boolValue
        }.sorted()
    }

    // MARK: - Stop and remove

    /// The image's stop signal (SIGTERM unless it names another), then SIGKILL once
    /// `gracePeriod` has passed; returns when the container has exited (and its exit is recorded).
    public func stop(id: String, gracePeriod: Duration) async {
        guard state(id: id).isRunning, let started = bundle(id).readStarted() else { return }
        started.container.signal(stopSignal(of: bundle(id)) ?? SIGTERM)
        if await waitUntilNotRunning(id, timeout: gracePeriod) { return }
        started.container.signal(SIGKILL)
        _ = await waitUntilNotRunning(id, timeout: .seconds(30))
    }

    /// Deletes everything of the container: runc's state (killing it if it still runs), the root
    /// filesystem mount, the bundle, and its cgroups with the parents left empty. Idempotent.
    public func remove(id: String) {
        guard Self.isValidID(id) else { return }
        remove(id: id, cgroupsPath: cgroupsPath(of: bundle(id)))
    }

    private func remove(id: String, cgroupsPath: String?) {
        let bundle = bundle(id)
        // Let the shim record the exit before the bundle goes, so it never writes into a half-deleted one.
        if let started = bundle.readStarted(), started.container.isAlive || started.shim.isAlive {
            started.container.signal(SIGKILL)
            Self.waitBlocking(seconds: 5) { !(started.container.isAlive || started.shim.isAlive) }
        }
        if FileManager.default.fileExists(atPath: runcRoot + "/" + id) {
            _ = try? Command.run([runcPath, "--root", runcRoot, "delete", "--force", id])
        }
        // Never delete through a root filesystem that is still mounted: that would reach the image's files.
        if OverlayRootFilesystem.unmount(bundle.rootfs) {
            try? FileManager.default.removeItem(atPath: bundle.directory)
        }
        if let cgroupsPath {
            cgroupTree.withLock { _ in cgroups.removeWithEmptyParents(cgroupsPath) }
        }
    }

    // MARK: - Exec

    /// Runs `command` in the running container with `runc exec`. With `tty` the process gets a
    /// pseudo-terminal as its controlling terminal, and its stdout and stderr come as one stream.
    public func exec(id: String, command: [String], tty: Bool, environment: [String]) throws(RuntimeError) -> ExecProcess {
        guard !command.isEmpty else { throw RuntimeError(.invalidSpec, "exec needs a command") }
        guard state(id: id).isRunning else { throw RuntimeError(.notRunning, "container \(id) is not running") }
        let bundle = bundle(id)
        try? FileManager.default.createDirectory(atPath: bundle.execDirectory, withIntermediateDirectories: true)
        let pidFile = bundle.execDirectory + "/" + UUID().uuidString + ".pid"
        var arguments = [runcPath, "--root", runcRoot, "exec", "--pid-file", pidFile]
        if tty { arguments.append("--tty") }
        for variable in environment { arguments += ["--env", variable] }
        arguments += [id] + command
        return try ExecProcess(arguments: arguments, tty: tty, pidFile: pidFile)
    }

    // MARK: - Helpers

    private func bundle(_ id: String) -> ContainerBundle { ContainerBundle(directory: stateDirectory + "/" + id) }

    private func cgroupsPath(of bundle: ContainerBundle) -> String? {
        config(of: bundle)?[path: "linux", "cgroupsPath"]?.stringValue
    }

    private func stopSignal(of bundle: ContainerBundle) -> Int32? {
        config(of: bundle)?[path: "annotations", OCIConfiguration.stopSignalAnnotation]?.stringValue.flatMap { Int32($0) }
    }

    private func config(of bundle: ContainerBundle) -> JSONValue? {
        guard let bytes = LinuxCalls.readFile(bundle.config) else { return nil }
        return try? JSONParser.parse(bytes).value
    }

    /// Polls until the container is no longer running; false if `timeout` passed first.
    private func waitUntilNotRunning(_ id: String, timeout: Duration) async -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var interval = Duration.milliseconds(2)
        while state(id: id).isRunning {
            guard clock.now < deadline else { return false }
            await Self.sleep(min(interval, deadline - clock.now))
            interval = min(interval * 2, .milliseconds(50))
        }
        return true
    }

    /// A sleep that cancellation does not cut short: stopping must finish what it started.
    private static func sleep(_ duration: Duration) async {
        let (seconds, attoseconds) = duration.components
        let nanoseconds = max(0, Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000))
        await withCheckedContinuation { continuation in
            DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(nanoseconds)) { continuation.resume() }
        }
    }

    private static func waitBlocking(seconds: Double, until done: () -> Bool) {
        let deadline = Date().addingTimeInterval(seconds)
        while !done(), Date() < deadline { usleep(5_000) }
    }

    private func write(_ bytes: [UInt8], to path: String) throws(RuntimeError) {
        do {
            try Data(bytes).write(to: URL(fileURLWithPath: path))
        } catch {
            throw RuntimeError(.system, "cannot write \(path): \(error.localizedDescription)")
        }
    }

    static func isValidID(_ id: String) -> Bool {
        !id.isEmpty && id.count <= 128 && !id.hasPrefix(".")
            && id.utf8.allSatisfy { $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".")
                || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }

    private static func validate(_ spec: ContainerSpec) throws(RuntimeError) {
        guard isValidID(spec.id) else { throw RuntimeError(.invalidSpec, "invalid container id \"\(spec.id)\"") }
        guard !spec.args.isEmpty else { throw RuntimeError(.invalidSpec, "no command specified") }
        guard spec.cgroupsPath.hasPrefix("/"), !spec.cgroupsPath.split(separator: "/").contains("..") else {
            throw RuntimeError(.invalidSpec, "cgroupsPath must be absolute: \"\(spec.cgroupsPath)\"")
        }
        guard spec.logPath.hasPrefix("/") else { throw RuntimeError(.invalidSpec, "logPath must be absolute: \"\(spec.logPath)\"") }
        // The overlay's mount options are comma-separated, its lower directories colon-separated.
        for lower in spec.rootfsLowerDirectories where lower.contains(",") || lower.contains(":") || !lower.hasPrefix("/") {
            throw RuntimeError(.invalidSpec, "unsupported root filesystem path \"\(lower)\"")
        }
    }

    /// runc by its path: the shim starts it with posix_spawn, which does not search PATH.
    private static func resolveExecutable(_ name: String) -> String {
        guard !name.contains("/") else { return name }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        for directory in path.split(separator: ":") where access("\(directory)/\(name)", X_OK) == 0 {
            return "\(directory)/\(name)"
        }
        return name
    }
}
