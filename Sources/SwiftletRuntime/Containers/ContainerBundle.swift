import Foundation
import SwiftletMachinery

/// A container's directory under the runtime's state directory: the OCI bundle (config.json and
/// the overlay's mount point, upper and work directories) plus the files the shim writes. The
/// file names and formats are shared with swiftlet-shim (`ShimOptions`).
struct ContainerBundle: Sendable {
    let directory: String

    var config: String { directory + "/config.json" }
    var rootfs: String { directory + "/rootfs" }
    var upper: String { directory + "/upper" }
    var work: String { directory + "/work" }
    var startedFile: String { directory + "/started" }
    var exitFile: String { directory + "/exit" }
    /// Exec'd processes' pid files.
    var execDirectory: String { directory + "/exec" }

    /// Written by the shim once `runc start` succeeded:
    /// `<init pid> <init start ticks> <shim pid> <shim start ticks> <started at>`.
    struct Started: Sendable {
        let container: ProcessIdentity
        let shim: ProcessIdentity
        let startedAt: Date
    }

    /// Written by the shim when the container has ended: `<exit code> <finished at> <oom 0|1>`.
    struct Exit: Sendable {
        let code: Int32
        let finishedAt: Date
        let oomKilled: Bool
    }

    func readStarted() -> Started? {
        guard let fields = Self.fields(startedFile), fields.count == 5,
            let pid = Int32(fields[0]), let pidTicks = UInt64(fields[1]),
            let shimPid = Int32(fields[2]), let shimTicks = UInt64(fields[3]),
            let startedAt = RFC3339.date(from: fields[4])
        else { return nil }
        return Started(
            container: ProcessIdentity(pid: pid, startTicks: pidTicks),
            shim: ProcessIdentity(pid: shimPid, startTicks: shimTicks), startedAt: startedAt)
    }

    func readExit() -> Exit? {
        guard let fields = Self.fields(exitFile), fields.count == 3,
            let code = Int32(fields[0]), let finishedAt = RFC3339.date(from: fields[1])
        else { return nil }
        return Exit(code: code, finishedAt: finishedAt, oomKilled: fields[2] == "1")
    }

    private static func fields(_ path: String) -> [String]? {
        guard let content = LinuxCalls.readFile(path) else { return nil }
        return content.split(whereSeparator: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\n") })
            .map { String(decoding: $0, as: UTF8.self) }
    }
}
