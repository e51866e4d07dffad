import Glibc

/// A process named by its pid and its start time (field 22 of /proc/<pid>/stat, clock ticks
/// since boot), so that a pid the kernel has since reused for another process is not mistaken
/// for it.
struct ProcessIdentity: Sendable, Equatable {
    let pid: Int32
    let startTicks: UInt64

    /// Alive and not a zombie (a zombie has exited; its parent has not collected it yet).
    var isAlive: Bool {
        guard let (state, ticks) = Self.stat(pid) else { return false }
        return ticks == startTicks && state != UInt8(ascii: "Z") && state != UInt8(ascii: "X")
    }

    /// Signals the process if it is still the one named here.
    @discardableResult
    func signal(_ signal: Int32) -> Bool {
        isAlive && kill(pid, signal) == 0
    }

    private static func stat(_ pid: Int32) -> (state: UInt8, startTicks: UInt64)? {
        guard pid > 0, let content = LinuxCalls.readFile("/proc/\(pid)/stat"),
            let commandEnd = content.lastIndex(of: UInt8(ascii: ")"))
        else { return nil }
        // After "pid (comm)" come fields 3 (state) onwards, so the start time is the 20th of them.
        let fields = content[(commandEnd + 1)...].split(separator: UInt8(ascii: " "))
        guard fields.count >= 20, let ticks = UInt64(String(decoding: fields[19], as: UTF8.self)) else { return nil }
        return (fields[0].first ?? 0, ticks)
    }
}
