import Glibc

/// What the runtime tells the shim on its command line. The runtime (SwiftletRuntime's
/// `ShimCommand`) is the only caller; the flags are not a user interface.
struct ShimOptions {
    var containerID = ""
    var bundle = ""
    var runc = "runc"
    var runcRoot = ""
    var logPath = ""
    /// The CRI log file is rotated to `<logPath>.1` once it would grow past this.
    var logMaxBytes = 10 * 1024 * 1024
    /// The container's v1 `memory.oom_control`, read after it exits to tell an OOM kill apart.
    var oomControlPath: String?

    /// The files the shim shares with the runtime, all inside the bundle directory.
    var pidFile: String { bundle + "/container.pid" }
    var startedFile: String { bundle + "/started" }
    var exitFile: String { bundle + "/exit" }
    var runcLogFile: String { bundle + "/runc.log" }
    var shimLogFile: String { bundle + "/shim.log" }

    static func parse(_ arguments: [String]) -> ShimOptions? {
        var options = ShimOptions()
        var i = 1
        while i + 1 < arguments.count {
            let value = arguments[i + 1]
            switch arguments[i] {
            case "--id": options.containerID = value
            case "--bundle": options.bundle = value
            case "--runc": options.runc = value
            case "--runc-root": options.runcRoot = value
            case "--log": options.logPath = value
            case "--log-max-bytes":
                guard let n = Int(value), n > 0 else { return nil }
                options.logMaxBytes = n
            case "--oom-control": options.oomControlPath = value
            default: return nil
            }
            i += 2
        }
        guard i == arguments.count, !options.containerID.isEmpty, !options.bundle.isEmpty,
            !options.runcRoot.isEmpty, !options.logPath.isEmpty
        else { return nil }
        return options
    }

    static let usage = """
        usage: swiftlet-shim --id ID --bundle DIR --runc-root DIR --log FILE [--runc PATH] \
        [--log-max-bytes N] [--oom-control FILE]
        Started by swiftlet's container runtime, one per container.

        """
}
