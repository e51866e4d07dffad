import Foundation
import Glibc

/// The machine's mounted cgroup hierarchies (every v1 controller, name=systemd, and the v2
/// unified tree of a hybrid host). runc puts a container with an absolute `cgroupsPath` at that
/// path in each of them, and `runc delete` removes only the leaf; the parents are ours to remove.
struct CgroupHierarchies: Sendable {
    /// Mount points, e.g. `/sys/fs/cgroup/memory`.
    let mountPoints: [String]
    /// The v1 memory controller's mount point, where OOM kills are counted.
    let memory: String?

    init(mountInfo: String = String(decoding: LinuxCalls.readFile("/proc/self/mountinfo") ?? [], as: UTF8.self)) {
        var mountPoints: [String] = []
        var memory: String?
        for line in mountInfo.split(separator: "\n") {
            // `id parent major:minor root mountpoint options [optional...] - fstype source superoptions`
            let fields = line.split(separator: " ").map(String.init)
            guard let dash = fields.firstIndex(of: "-"), dash >= 5, fields.count >= dash + 4 else { continue }
            let type = fields[dash + 1]
            guard type == "cgroup" || type == "cgroup2", fields[3] == "/" else { continue }
            let mountPoint = fields[4]
            guard !mountPoints.contains(mountPoint) else { continue }
            mountPoints.append(mountPoint)
            if type == "cgroup", fields[dash + 3].split(separator: ",").contains("memory") { memory = mountPoint }
        }
        self.mountPoints = mountPoints
        self.memory = memory
    }

    /// Creates the cgroup (and missing parents) in every hierarchy before runc runs, so that a
    /// concurrent `removeWithEmptyParents` of a sibling cannot delete a parent between runc's
    /// mkdir of the parent and of the leaf.
    func create(_ path: String) throws(RuntimeError) {
        for mountPoint in mountPoints {
            do {
                try FileManager.default.createDirectory(atPath: mountPoint + path, withIntermediateDirectories: true)
            } catch {
                throw RuntimeError(.system, "cannot create cgroup \(mountPoint + path): \(error.localizedDescription)")
            }
        }
    }

    /// Removes the cgroup in every hierarchy, then each parent that is left empty, up to the
    /// hierarchy's root. A cgroup that still has processes or children stays (rmdir refuses).
    func removeWithEmptyParents(_ path: String) {
        let components = path.split(separator: "/")
        for mountPoint in mountPoints {
            for depth in stride(from: components.count, to: 0, by: -1) {
                let directory = mountPoint + "/" + components[0..<depth].joined(separator: "/")
                if rmdir(directory) != 0, errno != ENOENT { break }
            }
        }
    }

    /// The hierarchies in which the cgroup exists.
    func existing(_ path: String) -> [String] {
        mountPoints.map { $0 + path }.filter { FileManager.default.fileExists(atPath: $0) }
    }
}
