import Glibc
import SwiftletSpawn

/// The write end of the pipe the SIGCHLD handler pokes so that `poll` wakes up (the self-pipe
/// trick; Swift's Glibc module does not offer signalfd). Global because a C signal handler
/// cannot capture anything; set before the handler is installed.
nonisolated(unsafe) private var childSignalPipe: Int32 = -1

private func childExited(_: Int32) {
    let savedErrno = errno
    var byte: UInt8 = 0
    _ = write(childSignalPipe, &byte, 1)
    errno = savedErrno
}

/// Copies the container's stdout and stderr into the log until its init has exited and both
/// pipes are closed, reaping every child on the way. Returns the init's wait status.
struct OutputCopier {
    let stdout: Int32
    let stderr: Int32
    let containerPid: pid_t

    /// After the init exits the pipes close as soon as the kernel has killed the rest of its pid
    /// namespace; a writer that holds them longer is not waited for beyond this.
    private static let drainMilliseconds: Int64 = 2000

    func run(log: inout CRILogFile) -> Int32 {
        guard let wake = Syscalls.pipe(nonBlockingRead: true) else { return Spawn.wait(containerPid) ?? -1 }
        _ = fcntl(wake.write, F_SETFL, fcntl(wake.write, F_GETFL) | O_NONBLOCK)
        childSignalPipe = wake.write
        signal(SIGCHLD, childExited)

        var status: Int32? = reapChildren()
        var exitedAt: Int64 = 0
        var streams = [(fd: stdout, stream: OutputStream.stdout, splitter: LineSplitter()),
                       (fd: stderr, stream: OutputStream.stderr, splitter: LineSplitter())]
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)

        while streams.contains(where: { $0.fd >= 0 }) {
            var timeout: Int32 = -1
            if status != nil {
                if exitedAt == 0 { exitedAt = Self.milliseconds() }
                let left = Self.drainMilliseconds - (Self.milliseconds() - exitedAt)
                if left <= 0 { break }
                timeout = Int32(left)
            }
            var descriptors = streams.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            descriptors.append(pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0))
            if poll(&descriptors, nfds_t(descriptors.count), timeout) < 0 { continue }

            for i in streams.indices where streams[i].fd >= 0 && descriptors[i].revents != 0 {
                let n = read(streams[i].fd, &buffer, buffer.count)
                if n < 0, errno == EAGAIN || errno == EINTR { continue }
                let time = Timestamp.now()
                let stream = streams[i].stream
                let emit = { (text: ArraySlice<UInt8>, partial: Bool) in
                    log.append(stream: stream, partial: partial, text: text, time: time)
                }
                if n > 0 {
                    streams[i].splitter.feed(buffer[0..<n], emit: emit)
                } else {
                    streams[i].splitter.finish(emit: emit)
                    close(streams[i].fd)
                    streams[i].fd = -1
                }
            }
            if descriptors.last!.revents != 0 {
                while read(wake.read, &buffer, buffer.count) > 0 {}
                if let reaped = reapChildren() { status = reaped }
            }
        }
        for i in streams.indices where streams[i].fd >= 0 {
            let time = Timestamp.now()
            let stream = streams[i].stream
            streams[i].splitter.finish { text, partial in log.append(stream: stream, partial: partial, text: text, time: time) }
        }
        // Both pipes can close before SIGCHLD arrives; the init has exited or is about to.
        return status ?? Spawn.wait(containerPid) ?? -1
    }

    /// Reaps every exited child (the init and anything else re-parented to the shim), so none
    /// is left a zombie. Returns the init's wait status if it was among them.
    private func reapChildren() -> Int32? {
        var initStatus: Int32?
        var status: Int32 = 0
        while true {
            let pid = waitpid(-1, &status, WNOHANG)
            if pid <= 0 { break }
            if pid == containerPid { initStatus = status }
        }
        return initStatus
    }

    private static func milliseconds() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000
    }
}
