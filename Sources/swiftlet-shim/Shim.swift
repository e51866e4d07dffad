import Glibc
import SwiftletSpawn

/// The shim's life: create and start the container with runc, report to the agent, copy the
/// container's output to the log until it exits, record the exit and leave.
struct Shim {
    let options: ShimOptions

    func run() -> Never {
        guard Syscalls.becomeChildSubreaper() else { fail("create-failed", "swiftlet-shim: cannot become a child subreaper") }
        guard var log = CRILogFile(path: options.logPath, maxBytes: options.logMaxBytes) else {
            fail("create-failed", "swiftlet-shim: cannot open log file \(options.logPath): errno \(errno)")
        }
        guard let stdout = Syscalls.pipe(nonBlockingRead: true), let stderr = Syscalls.pipe(nonBlockingRead: true) else {
            fail("create-failed", "swiftlet-shim: cannot create pipes")
        }
        let devNull = open("/dev/null", O_RDWR | O_CLOEXEC)

        // The container's init inherits runc create's stdio, so these pipes become its stdout and stderr.
        let create = runc(["create", "--bundle", options.bundle, "--pid-file", options.pidFile, options.containerID])
        guard let createPid = (try? Spawn.start(create, stdin: devNull, stdout: stdout.write, stderr: stderr.write).get()) else {
            fail("create-failed", "swiftlet-shim: cannot run \(options.runc)")
        }
        close(stdout.write)
        close(stderr.write)
        let createStatus = Spawn.wait(createPid) ?? -1
        guard createStatus == 0 else {
            // Nothing of the container ran, so all that is on its stderr is runc's error.
            fail("create-failed", Self.drain(stderr.read) + Self.drain(stdout.read), exitCode: true)
        }
        guard let pidText = Syscalls.readFile(options.pidFile),
            let pid = pid_t(String(decoding: pidText, as: UTF8.self).trimmingWhitespace())
        else { fail("create-failed", "swiftlet-shim: runc create wrote no pid file", exitCode: true) }

        guard let capture = Syscalls.pipe() else { fail("start-failed", "swiftlet-shim: cannot create a pipe", exitCode: true) }
        let start = runc(["start", options.containerID])
        guard let startPid = (try? Spawn.start(start, stdin: devNull, stdout: capture.write, stderr: capture.write).get()) else {
            fail("start-failed", "swiftlet-shim: cannot run \(options.runc)", exitCode: true)
        }
        close(capture.write)
        let startOutput = String(decoding: Syscalls.readAll(capture.read), as: UTF8.self)
        close(capture.read)
        guard Spawn.wait(startPid) == 0 else {
            // The init still waits in runc's exec fifo: kill it and wait for it, so nothing is left.
            let delete = runc(["delete", "--force", options.containerID])
            if let deletePid = (try? Spawn.start(delete, stdin: devNull, stdout: devNull, stderr: devNull).get()) {
                _ = Spawn.wait(deletePid)
            }
            _ = Spawn.wait(pid)
            fail("start-failed", startOutput, exitCode: true)
        }

        let startedAt = String(decoding: Timestamp.now(), as: UTF8.self)
        let shimPid = getpid()
        let pidStart = Syscalls.processStartTicks(pid) ?? 0
        let shimStart = Syscalls.processStartTicks(shimPid) ?? 0
        let started = "\(pid) \(pidStart) \(shimPid) \(shimStart) \(startedAt)\n"
        guard Syscalls.writeFileAtomically(options.startedFile, started) else {
            fail("start-failed", "swiftlet-shim: cannot write \(options.startedFile)", exitCode: true)
        }
        report("ok\n")

        let status = OutputCopier(stdout: stdout.read, stderr: stderr.read, containerPid: pid).run(log: &log)
        log.close()
        writeExitFile(code: Spawn.exitCode(status: status), oomKilled: oomKilled())
        exit(0)
    }

    private func runc(_ arguments: [String]) -> [String] {
        [options.runc, "--root", options.runcRoot, "--log", options.runcLogFile, "--log-format", "json"] + arguments
    }

    /// Sends the one report the agent waits for, then points stdout at /dev/null and stderr at
    /// the shim's own log in the bundle, since the agent may be gone long before the shim.
    private func report(_ text: String) {
        Syscalls.writeAll(1, Array(text.utf8))
        let devNull = open("/dev/null", O_WRONLY)
        dup2(devNull, 1)
        close(devNull)
        let shimLog = open(options.shimLogFile, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        if shimLog >= 0 {
            dup2(shimLog, 2)
            close(shimLog)
        }
    }

    /// Reports a failed create or start. `exitCode` also records the container as ended with
    /// 128, the code Kubernetes gives a container that could not start, for an agent that
    /// restarted meanwhile and reads the bundle instead of the report.
    private func fail(_ kind: String, _ message: String, exitCode: Bool = false) -> Never {
        // Before the report: once reported, the agent may delete the bundle at any moment.
        if exitCode { writeExitFile(code: 128, oomKilled: false) }
        report(kind + "\n" + message.trimmingWhitespace() + "\n")
        exit(1)
    }

    /// `<exit code> <finished at> <1 if the memory cgroup OOM-killed a process, else 0>`.
    private func writeExitFile(code: Int32, oomKilled: Bool) {
        let finishedAt = String(decoding: Timestamp.now(), as: UTF8.self)
        _ = Syscalls.writeFileAtomically(options.exitFile, "\(code) \(finishedAt) \(oomKilled ? 1 : 0)\n")
    }

    /// Whether the kernel killed a process of this container for exceeding its memory limit:
    /// the `oom_kill` counter of its v1 memory cgroup, which runc deletes only later, on
    /// `runc delete`.
    private func oomKilled() -> Bool {
        guard let path = options.oomControlPath, let content = Syscalls.readFile(path) else { return false }
        for line in content.split(separator: UInt8(ascii: "\n")) {
            let fields = line.split(separator: UInt8(ascii: " "))
            if fields.count == 2, fields[0].elementsEqual("oom_kill".utf8) {
                return String(decoding: fields[1], as: UTF8.self) != "0"
            }
        }
        return false
    }

    /// What is readable on a non-blocking pipe now, waiting up to a second for its writers to close.
    private static func drain(_ fd: Int32) -> String {
        var out = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while poll(&descriptor, 1, 1000) > 0 {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            if out.count < 64 * 1024 { out += buffer[0..<n] }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension String {
    func trimmingWhitespace() -> String {
        let bytes = Array(utf8)
        let isSpace: (UInt8) -> Bool = { $0 == 32 || ($0 >= 9 && $0 <= 13) }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }), let last = bytes.lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(decoding: bytes[first...last], as: UTF8.self)
    }
}
