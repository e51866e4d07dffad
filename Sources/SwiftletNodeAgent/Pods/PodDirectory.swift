import Foundation

/// Where a pod's files live on the node: `<data>/pods/<uid>/`, as the kubelet's
/// `/var/lib/kubelet/pods/<uid>` and `/var/log/pods/...` together.
struct PodDirectory: Sendable {
    let path: String

    init(podsDirectory: String, uid: String) {
        path = podsDirectory + "/" + uid
    }

    var etcHosts: String { path + "/etc-hosts" }
    var etcHostname: String { path + "/etc-hostname" }
    var resolvConf: String { path + "/resolv.conf" }

    /// One log file per run: `logs/<container>/<restart count>.log`, as the kubelet names them.
    func logFile(container: String, attempt: Int) -> String { "\(path)/logs/\(container)/\(attempt).log" }
    func terminationLog(container: String, attempt: Int) -> String { "\(path)/containers/\(container)/\(attempt)-termination-log" }

    /// Writes `text` to `file` unless it already holds exactly that.
    func write(_ text: String, to file: String) throws {
        if let current = FileManager.default.contents(atPath: file), current == Data(text.utf8) { return }
        try FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: file), options: .atomic)
        _ = chmod(file, 0o644)
    }

    /// Removes the log and termination files of runs before `keepFrom`: the kubelet keeps the
    /// current and the previous run, for `kubectl logs --previous`.
    func pruneRuns(container: String, keepFrom: Int) {
        for folder in ["\(path)/logs/\(container)", "\(path)/containers/\(container)"] {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] {
                let attempt = Int(name.prefix { $0.isNumber }) ?? Int.max
                if attempt < keepFrom { try? FileManager.default.removeItem(atPath: folder + "/" + name) }
            }
        }
    }
}
