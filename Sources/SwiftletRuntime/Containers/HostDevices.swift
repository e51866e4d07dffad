import Foundation
import Glibc
import SwiftletMachinery

/// The host's device nodes, for a privileged container's `linux.devices`, as containerd's
/// `WithHostDevices` lists them: every character and block device under /dev except the
/// container's own pseudo-terminals, shared memory, message queues and console.
enum HostDevices {
    static func list(root: String = "/dev") -> [JSONValue] {
        let skipped: Set<String> = ["pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev"]
        var devices: [JSONValue] = []
        func walk(_ directory: String) {
            for name in ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted() {
                let path = directory + "/" + name
                var info = stat()
                guard lstat(path, &info) == 0 else { continue }
                switch info.st_mode & S_IFMT {
                case S_IFDIR:
                    if !skipped.contains(name) { walk(path) }
                case S_IFCHR, S_IFBLK:
                    guard path != root + "/console" else { continue }
                    let device = UInt64(info.st_rdev)
                    let major = ((device >> 8) & 0xfff) | ((device >> 32) & ~UInt64(0xfff))
                    let minor = (device & 0xff) | ((device >> 12) & ~UInt64(0xff))
                    devices.append([
                        "path": .string(path), "type": (info.st_mode & S_IFMT) == S_IFCHR ? "c" : "b",
                        "major": .int(Int64(major)), "minor": .int(Int64(minor)),
                        "fileMode": .int(Int64(info.st_mode & 0o777)), "uid": .int(Int64(info.st_uid)), "gid": .int(Int64(info.st_gid)),
                    ])
                default:
                    continue
                }
            }
        }
        walk(root)
        return devices
    }
}
