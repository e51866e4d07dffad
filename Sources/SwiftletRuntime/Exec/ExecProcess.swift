import Foundation
import SwiftletSpawn
import Glibc
import Synchronization

/// A process started in a container by `runc exec`, with its stdio connected to this object.
///
/// Without a tty, stdin, stdout and stderr are pipes handed to the process itself. With a tty,
/// runc is given the slave of a pseudo-terminal as its stdio: it makes a second terminal inside
/// the container (the process's controlling terminal), relays between the two in raw mode and
/// copies our window size onto it whenever it gets SIGWINCH.
public final class ExecProcess: Sendable {
    /// The `runc exec` process; its exit code is the exec'd process's (or 128 + signal).
    public let pid: Int32
    public let tty: Bool
    /// The process's output; with a tty, everything it writes to the terminal.
    public let stdout: AsyncStream<[UInt8]>
    /// Empty and already finished with a tty.
    public let stderr: AsyncStream<[UInt8]>

    private let pidFile: String
    private let input: Mutex<Input>
    private let exit = Mutex(ExitState())

    /// stdin's pipe, or the terminal's master (which also takes resizes, so it stays open until
    /// the process ends even after stdin is closed).
    private struct Input {
        var fd: Int32
        var acceptsWrites = true
    }

    private struct ExitState {
        var code: Int32?
        var waiters: [CheckedContinuation<Int32, Never>] = []
    }

    init(arguments: [String], tty: Bool, pidFile: String) throws(RuntimeError) {
        self.tty = tty
        self.pidFile = pidFile
        if tty {
            let terminal = try PseudoTerminal(width: 80, height: 24)
            defer { close(terminal.slave) }
            do {
                pid = try ChildProcess(arguments, stdin: terminal.slave, stdout: terminal.slave, stderr: terminal.slave).pid
            } catch {
                close(terminal.master)
                throw RuntimeError(.execFailed, error.message)
            }
            // Output is read from a descriptor of its own, so that closing input never cuts it short.
            let output = dup(terminal.master)
            _ = fcntl(output, F_SETFD, FD_CLOEXEC)
            input = Mutex(Input(fd: terminal.master))
            stdout = Self.stream(reading: output)
            stderr = AsyncStream { $0.finish() }
        } else {
            guard let stdinPipe = Spawn.pipe(), let stdoutPipe = Spawn.pipe(), let stderrPipe = Spawn.pipe() else {
                throw RuntimeError(.execFailed, "cannot create pipes: \(LinuxCalls.errorText())")
            }
            defer {
                close(stdinPipe.read)
                close(stdoutPipe.write)
                close(stderrPipe.write)
            }
            do {
                pid = try ChildProcess(arguments, stdin: stdinPipe.read, stdout: stdoutPipe.write, stderr: stderrPipe.write).pid
            } catch {
                for fd in [stdinPipe.write, stdoutPipe.read, stderrPipe.read] { close(fd) }
                throw RuntimeError(.execFailed, error.message)
            }
            input = Mutex(Input(fd: stdinPipe.write))
            stdout = Self.stream(reading: stdoutPipe.read)
            stderr = Self.stream(reading: stderrPipe.read)
        }
        startWaiter()
    }

    /// Writes to the process's stdin (the terminal's input with a tty). The lock is held while
    /// writing so the descriptor cannot be closed, and its number reused, under the write; a
    /// write blocked on a full pipe fails once the process has exited.
    public func write(_ bytes: [UInt8]) throws(RuntimeError) {
        let failure: String? = input.withLock { input in
            guard input.fd >= 0, input.acceptsWrites else { return "stdin is closed" }
            return LinuxCalls.writeAll(input.fd, bytes) ? nil : "cannot write to stdin: \(LinuxCalls.errorText())"
        }
        if let failure { throw RuntimeError(.execFailed, failure) }
    }

    /// Ends stdin: the process reads end of file. A terminal has no end of file; send ^D (4)
    /// to end a shell's input instead.
    public func closeStdin() {
        input.withLock { input in
            input.acceptsWrites = false
            if !tty, input.fd >= 0 {
                close(input.fd)
                input.fd = -1
            }
        }
    }

    /// Sets the terminal's size in columns and rows; does nothing without a tty.
    public func resize(width: UInt16, height: UInt16) {
        guard tty else { return }
        input.withLock { input in
            guard input.fd >= 0 else { return }
            PseudoTerminal.resize(input.fd, width: width, height: height)
            // runc copies the size of its terminal (ours) onto the container's one on SIGWINCH.
            Glibc.kill(pid, SIGWINCH)
        }
    }

    /// Waits for the process to end; returns its exit code (128 + signal if it was killed).
    public func wait() async -> Int32 {
        await withCheckedContinuation { continuation in
            let code: Int32? = exit.withLock { state in
                if state.code == nil { state.waiters.append(continuation) }
                return state.code
            }
            if let code { continuation.resume(returning: code) }
        }
    }

    /// Kills the exec'd process; `wait()` then returns 137.
    public func kill() {
        // runc writes the pid file just before it lets the process run; wait briefly for it.
        for _ in 0..<200 {
            if exit.withLock({ $0.code != nil }) { return }
            if let text = LinuxCalls.readFile(pidFile), let target = Int32(String(decoding: text, as: UTF8.self)) {
                Glibc.kill(target, SIGKILL)
                return
            }
            usleep(5_000)
        }
        Glibc.kill(pid, SIGKILL)
    }

    /// Reaps runc on a thread of its own (waitpid blocks), then wakes every `wait()`.
    private func startWaiter() {
        Thread.detachNewThread { [self] in
            let code = ChildProcess.wait(pid)
            unlink(pidFile)
            input.withLock { input in
                if input.fd >= 0 { close(input.fd) }
                input.fd = -1
            }
            let waiters = exit.withLock { state in
                state.code = code
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.resume(returning: code) }
        }
    }

    /// Bytes read from `fd` by a thread of its own until end of file (or, for a terminal's
    /// master, EIO once runc closed the slave).
    private static func stream(reading fd: Int32) -> AsyncStream<[UInt8]> {
        AsyncStream { continuation in
            Thread.detachNewThread {
                var buffer = [UInt8](repeating: 0, count: 32 * 1024)
                while true {
                    let n = read(fd, &buffer, buffer.count)
                    if n < 0, errno == EINTR { continue }
                    if n <= 0 { break }
                    continuation.yield(Array(buffer[0..<n]))
                }
                close(fd)
                continuation.finish()
            }
        }
    }
}
